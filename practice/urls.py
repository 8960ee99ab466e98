from django.urls import path

from practice import accounts, office, two_step, views

urlpatterns = [
    path("", views.home, name="home"),
    path("practice/switch/", views.switch, name="practice-switch"),
    # Kantoor → Medewerkers (practice/office.py): the owner's.
    path("office/members/", office.member_list, name="office-members"),
    path("office/members/invite/", office.invite, name="office-invite"),
    path("office/members/<int:pk>/", office.member_detail, name="office-member"),
    path("office/members/<int:pk>/role/", office.member_role, name="office-member-role"),
    path(
        "office/members/<int:pk>/deactivate/",
        office.member_deactivate,
        name="office-member-deactivate",
    ),
    path(
        "office/former-members/<int:pk>/reactivate/",
        office.member_reactivate,
        name="office-member-reactivate",
    ),
    path(
        "office/invitations/<int:pk>/resend/",
        office.invitation_resend,
        name="office-invitation-resend",
    ),
    path(
        "office/invitations/<int:pk>/revoke/",
        office.invitation_revoke,
        name="office-invitation-revoke",
    ),
    path("office/two-step/", office.two_step_policy, name="office-two-step"),
    path("office/join/<str:token>/", office.join, name="office-join"),
    # Mijn account (practice/accounts.py) and the second step of signing in (practice/two_step.py).
    path("account/", accounts.account, name="account"),
    path("account/password/", accounts.password_change, name="account-password"),
    path("account/two-step/", accounts.account_two_step, name="account-two-step"),
    path("account/two-step/off/", accounts.account_two_step_off, name="account-two-step-off"),
    path("account/two-step/codes/", accounts.account_two_step_codes, name="account-two-step-codes"),
    path("login/two-step/", two_step.verify, name="two-step-verify"),
    path("password-reset/", accounts.password_reset, name="password-reset"),
    path("password-reset/sent/", accounts.password_reset_done, name="password-reset-done"),
    path(
        "password-reset/<uidb64>/<token>/",
        accounts.password_reset_confirm,
        name="password-reset-confirm",
    ),
    path(
        "password-reset/done/",
        accounts.password_reset_complete,
        name="password-reset-complete",
    ),
]
