"""Kantoor → Medewerkers: the owner's pages for the office's people, and a colleague's acceptance.

Every page but the acceptance is the owner's (practice.access.owner_required) and looks members and
invitations up within the current practice only: another office's are a 404.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth import login
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from practice import extensions, members
from practice.access import get_scoped_or_404, owner_required, scoped
from practice.confirm import Confirmation, ask, is_confirmed
from practice.forms import PlainTextMixin
from practice.http import MemberRequest
from practice.models import AuditEvent, Membership, StaffInvitation

BACKEND = "django.contrib.auth.backends.ModelBackend"
OFFICE_EVENTS = [
    AuditEvent.Event.MEMBER_INVITED,
    AuditEvent.Event.INVITATION_RESENT,
    AuditEvent.Event.INVITATION_REVOKED,
    AuditEvent.Event.MEMBER_JOINED,
    AuditEvent.Event.ROLE_CHANGED,
    AuditEvent.Event.MEMBER_DEACTIVATED,
    AuditEvent.Event.MEMBER_REACTIVATED,
    AuditEvent.Event.TWO_STEP_REQUIRED,
    AuditEvent.Event.TWO_STEP_OPTIONAL,
]
HISTORY_ROWS = 25


# --- forms ---------------------------------------------------------------------------------------


class InviteForm(PlainTextMixin, forms.Form):
    email = forms.EmailField(label=gettext_lazy("E-mail address"))
    role = forms.ChoiceField(
        label=gettext_lazy("Role"), choices=Membership.Role.choices, initial=Membership.Role.STAFF
    )


class RoleForm(PlainTextMixin, forms.Form):
    role = forms.ChoiceField(label=gettext_lazy("Role"), choices=Membership.Role.choices)


class TwoStepPolicyForm(PlainTextMixin, forms.Form):
    require_two_step = forms.BooleanField(
        label=gettext_lazy("Every member signs in with two-step login"), required=False
    )


class JoinForm(PlainTextMixin, forms.Form):
    """Name and password of the new account; the password by AUTH_PASSWORD_VALIDATORS."""

    verbatim_fields = ("password1", "password2")

    first_name = forms.CharField(label=gettext_lazy("First name"), max_length=150)
    last_name = forms.CharField(label=gettext_lazy("Last name"), max_length=150)
    password1 = forms.CharField(
        label=gettext_lazy("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    password2 = forms.CharField(
        label=gettext_lazy("Password again"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, invitation: StaffInvitation, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.invitation = invitation

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        one, two = data.get("password1"), data.get("password2")
        if one and two and one != two:
            self.add_error("password2", _("The two passwords are not the same."))
        elif one:
            from django.contrib.auth.password_validation import validate_password

            user = members.new_user(
                self.invitation,
                first_name=data.get("first_name", ""),
                last_name=data.get("last_name", ""),
            )
            try:
                validate_password(one, user)
            except ValidationError as exc:
                self.add_error("password1", exc)
        return data


# --- the members page ----------------------------------------------------------------------------


def _history(request: MemberRequest, *, subject=None) -> list[AuditEvent]:
    events = scoped(request, AuditEvent).filter(event__in=OFFICE_EVENTS)
    if subject is not None:
        events = events.filter(subject=subject)
    return list(events.select_related("user", "subject")[:HISTORY_ROWS])


def _work_columns(request: MemberRequest) -> list[tuple[Any, dict[int, int]]]:
    practice = request.membership.practice
    return [(work.label, work.counts(practice)) for work in extensions.member_work.values()]


@require_GET
@owner_required
def member_list(request: MemberRequest) -> HttpResponse:
    memberships = list(
        scoped(request, Membership)
        .select_related("user")
        .order_by("deactivated_at", "user__first_name", "user__last_name", "user__username", "pk")
    )
    columns = _work_columns(request)
    rows = [
        {"membership": m, "counts": [counts.get(m.user_id, 0) for _label, counts in columns]}
        for m in memberships
    ]
    invitations = list(
        scoped(request, StaffInvitation.objects.all())
        .open()
        .select_related("created_by")
        .order_by("email")
    )
    return render(
        request,
        "practice/members.html",
        {
            "rows": rows,
            "column_labels": [label for label, _counts in columns],
            "invitations": invitations,
            "now": timezone.now(),
            "history": _history(request),
            "policy_form": TwoStepPolicyForm(
                initial={"require_two_step": request.membership.practice.require_two_step}
            ),
        },
    )


@require_http_methods(["GET", "POST"])
@owner_required
def invite(request: MemberRequest) -> HttpResponse:
    form = InviteForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            members.invite(
                request,
                practice=request.membership.practice,
                email=form.cleaned_data["email"],
                role=form.cleaned_data["role"],
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(
                request,
                _("An invitation has been sent to %(email)s.")
                % {"email": form.cleaned_data["email"]},
            )
            return redirect("office-members")
    return render(request, "practice/invite.html", {"form": form})


def _member(request: MemberRequest, pk: int) -> Membership:
    return get_scoped_or_404(request, Membership.objects.select_related("user"), pk=pk)


@require_GET
@owner_required
def member_detail(request: MemberRequest, pk: int) -> HttpResponse:
    membership = _member(request, pk)
    places = [
        (work.label, work.places(membership), work.actions(membership))
        for work in extensions.member_work.values()
    ]
    return render(
        request,
        "practice/member.html",
        {
            "member": membership,
            "role_form": RoleForm(initial={"role": membership.role}),
            "places": places,
            "history": _history(request, subject=membership.user),
        },
    )


def _act(request: MemberRequest, run, success: str, back: str) -> HttpResponse:
    try:
        run()
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(request, success)
    return redirect(back)


@require_POST
@owner_required
def member_role(request: MemberRequest, pk: int) -> HttpResponse:
    membership = _member(request, pk)
    form = RoleForm(request.POST)
    back = reverse("office-member", args=[membership.pk])
    if not form.is_valid():
        messages.error(request, _("Choose one of the roles."))
        return redirect(back)
    return _act(
        request,
        lambda: members.change_role(request, membership=membership, role=form.cleaned_data["role"]),
        _("The role of %(name)s has been changed.") % {"name": _name(membership)},
        back,
    )


def _name(membership: Membership) -> str:
    user = membership.user
    return user.get_full_name() or user.get_username()


@require_http_methods(["GET", "POST"])
@owner_required
def member_deactivate(request: MemberRequest, pk: int) -> HttpResponse:
    membership = _member(request, pk)
    back = reverse("office-member", args=[membership.pk])
    if not is_confirmed(request):
        refusal = ""
        if not membership.is_active:
            refusal = _("This member has already been deactivated.")
        elif (
            membership.is_owner
            and not scoped(request, Membership.objects.all())
            .active()
            .filter(role=Membership.Role.OWNER)
            .exclude(pk=membership.pk)
            .exists()
        ):
            refusal = _(
                "The office keeps at least one active owner: make someone else owner first."
            )
        return ask(
            request,
            Confirmation(
                title=_("Deactivate member"),
                question=_("Deactivate %(name)s?") % {"name": _name(membership)},
                button=_("Deactivate"),
                cancel_url=back,
                details=[
                    _(
                        "%(name)s can no longer sign in to this office and is no longer offered "
                        "for teams. Their name stays on the history. Their team places are listed "
                        "on their page, to hand to someone else."
                    )
                    % {"name": _name(membership)}
                ],
                refusal=refusal,
            ),
        )
    return _act(
        request,
        lambda: members.deactivate(request, membership=membership),
        _("%(name)s has been deactivated.") % {"name": _name(membership)},
        back,
    )


@require_POST
@owner_required
def member_reactivate(request: MemberRequest, pk: int) -> HttpResponse:
    membership = _member(request, pk)
    return _act(
        request,
        lambda: members.reactivate(request, membership=membership),
        _("%(name)s is active again.") % {"name": _name(membership)},
        reverse("office-member", args=[membership.pk]),
    )


def _invitation(request: MemberRequest, pk: int) -> StaffInvitation:
    return get_scoped_or_404(request, StaffInvitation, pk=pk)


@require_POST
@owner_required
def invitation_resend(request: MemberRequest, pk: int) -> HttpResponse:
    invitation = _invitation(request, pk)
    return _act(
        request,
        lambda: members.resend(request, invitation=invitation),
        _("A new invitation has been sent to %(email)s; the previous link no longer works.")
        % {"email": invitation.email},
        reverse("office-members"),
    )


@require_http_methods(["GET", "POST"])
@owner_required
def invitation_revoke(request: MemberRequest, pk: int) -> HttpResponse:
    invitation = _invitation(request, pk)
    if not is_confirmed(request):
        open_states = (StaffInvitation.Status.PENDING, StaffInvitation.Status.EXPIRED)
        return ask(
            request,
            Confirmation(
                title=_("Withdraw invitation"),
                question=_("Withdraw the invitation to %(email)s?") % {"email": invitation.email},
                button=_("Withdraw invitation"),
                cancel_url=reverse("office-members"),
                details=[_("The link in the invitation stops working.")],
                refusal=""
                if invitation.status in open_states
                else _("This invitation is no longer open."),
            ),
        )
    return _act(
        request,
        lambda: members.revoke(request, invitation=invitation),
        _("The invitation to %(email)s has been withdrawn.") % {"email": invitation.email},
        reverse("office-members"),
    )


@require_POST
@owner_required
def two_step_policy(request: MemberRequest) -> HttpResponse:
    form = TwoStepPolicyForm(request.POST)
    form.is_valid()
    required = bool(form.cleaned_data.get("require_two_step"))
    members.set_two_step_required(request, practice=request.membership.practice, required=required)
    messages.success(
        request,
        _("Two-step login is now required for every member.")
        if required
        else _("Two-step login is now each member's own choice."),
    )
    return redirect("office-members")


# --- the colleague: accepting an invitation ------------------------------------------------------

UNUSABLE_STATUS = {"unknown": 404}  # every other reason: 410 Gone, the link did exist


def unusable_invitation(
    request: HttpRequest, reason: str, *, template: str = "practice/join_unusable.html"
) -> HttpResponse:
    """Why an invitation link no longer opens. One wording for the office's colleague invitations and
    the portal's (both use the same status values: pending, accepted, expired, superseded, revoked)."""
    Status = StaffInvitation.Status
    texts = {
        "unknown": _(
            "This link is not valid. Check that you opened the complete link from the e-mail."
        ),
        Status.ACCEPTED: _(
            "This invitation has already been used. Sign in with your e-mail address and password."
        ),
        Status.EXPIRED: _(
            "This invitation has expired. Ask the office that invited you for a new one."
        ),
        Status.SUPERSEDED: _(
            "A newer invitation has been sent to you. Use the link in the most recent e-mail."
        ),
        Status.REVOKED: _(
            "This invitation has been withdrawn. Contact the office that invited you if you think "
            "this is a mistake."
        ),
    }
    return render(
        request,
        template,
        {"message": texts[reason], "show_login": reason == Status.ACCEPTED},
        status=UNUSABLE_STATUS.get(reason, 410),
    )


@sensitive_post_parameters("password1", "password2")
@require_http_methods(["GET", "POST"])
@never_cache
def join(request: HttpRequest, token: str) -> HttpResponse:
    response = _join(request, token)
    # The token is in this URL: keep it out of any Referer that leaves the site.
    response["Referrer-Policy"] = "same-origin"
    return response


def _join(request: HttpRequest, token: str) -> HttpResponse:
    try:
        invitation = members.check_invitation(token)
    except members.InvitationUnusable as exc:
        return unusable_invitation(request, exc.status)
    existing = members.existing_account(invitation)
    user = request.user
    if user.is_authenticated or existing is not None:
        # An account of one's own already: sign in as it (with the invited address) and join.
        matches = user.is_authenticated and (user.email or "").lower() == invitation.email
        if request.method == "POST" and matches:
            try:
                members.accept_as(request, token=token, user=user)
            except members.InvitationUnusable as exc:
                return unusable_invitation(request, exc.status)
            except ValidationError as exc:
                messages.error(request, " ".join(exc.messages))
                return redirect("home")
            messages.success(
                request,
                _("Welcome to %(practice)s.") % {"practice": invitation.practice},
            )
            return redirect("home")
        return render(
            request,
            "practice/join_existing.html",
            {"invitation": invitation, "matches": matches},
            status=200 if matches or not user.is_authenticated else 403,
        )
    form = JoinForm(invitation, request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            new = members.accept(
                request,
                token=token,
                first_name=form.cleaned_data["first_name"],
                last_name=form.cleaned_data["last_name"],
                password=form.cleaned_data["password1"],
            )
        except members.InvitationUnusable as exc:
            return unusable_invitation(request, exc.status)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            login(request, new, backend=BACKEND)
            messages.success(
                request,
                _("Welcome to %(practice)s. Your account is ready: you sign in with %(email)s.")
                % {"practice": invitation.practice, "email": invitation.email},
            )
            return redirect("home")
    return render(request, "practice/join.html", {"form": form, "invitation": invitation})


def pending_invitations(request: MemberRequest):
    """Open, unexpired colleague invitations of the current practice (the home page's panel)."""
    return (
        scoped(request, StaffInvitation.objects.all())
        .open()
        .filter(Q(expires_at__gt=timezone.now()))
        .order_by("-created_at")
    )
