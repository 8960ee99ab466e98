from django.urls import path

from portal import views

urlpatterns = [
    path("", views.home, name="portal-home"),
    path("login/", views.portal_login, name="portal-login"),
    path("accept/<str:token>/", views.accept, name="portal-accept"),
    path("relations/<uuid:public_id>/invite/", views.invite, name="portal-invite"),
    path("relations/<uuid:public_id>/resend/", views.resend, name="portal-resend"),
    path("relations/<uuid:public_id>/revoke/", views.revoke, name="portal-revoke"),
]
