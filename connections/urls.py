from django.urls import path

from connections import views

# Included under "relations/" (config/urls.py), beside the relation's own pages.
urlpatterns = [
    path("<uuid:public_id>/connections/add/", views.add, name="connections-add"),
    path("<uuid:public_id>/connections/picker/", views.picker, name="connections-picker"),
    path("<uuid:public_id>/connections/<int:pk>/end/", views.end, name="connections-end"),
    path(
        "<uuid:public_id>/connections/<int:pk>/portal-access/",
        views.portal_access,
        name="connections-portal-access",
    ),
]
