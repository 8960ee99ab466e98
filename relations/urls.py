from django.urls import path

from relations import views

urlpatterns = [
    path("", views.relation_list, name="relations-list"),
]
