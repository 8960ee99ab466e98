from django.urls import path

from portal import accounts, views

urlpatterns = [
    path("", views.home, name="portal-home"),
    path("login/", views.portal_login, name="portal-login"),
    path("accept/<str:token>/", views.accept, name="portal-accept"),
    path("two-step/", accounts.two_step_setup, name="portal-two-step"),
    path("two-step/off/", accounts.two_step_off, name="portal-two-step-off"),
    path("two-step/codes/", accounts.two_step_codes, name="portal-two-step-codes"),
    path("password-reset/", accounts.password_reset, name="portal-password-reset"),
    path("password-reset/sent/", accounts.password_reset_done, name="portal-password-reset-done"),
    path(
        "password-reset/<uidb64>/<token>/",
        accounts.password_reset_confirm,
        name="portal-password-reset-confirm",
    ),
    path(
        "password-reset/done/",
        accounts.password_reset_complete,
        name="portal-password-reset-complete",
    ),
    path("relations/<uuid:public_id>/invite/", views.invite, name="portal-invite"),
    path("relations/<uuid:public_id>/resend/", views.resend, name="portal-resend"),
    path("relations/<uuid:public_id>/revoke/", views.revoke, name="portal-revoke"),
]
