from django.urls import path

from practice import views

urlpatterns = [
    path("", views.home, name="home"),
    path("practice/switch/", views.switch, name="practice-switch"),
]
