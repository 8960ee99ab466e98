"""The staff side (invite, resend, revoke from a contact's page) and the contact's side: accepting an
invitation, signing in, and the portal page itself.

Portal users are not members, so every staff page answers them 404 (practice.access); the portal pages
answer 404 to anyone without an active portal account, staff included.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from lookups import links
from portal import extensions, services
from portal.forms import AcceptInvitationForm, PortalLoginForm
from portal.models import PortalAccount
from practice.access import change_required
from practice.confirm import Confirmation, ask, is_confirmed
from practice.http import MemberRequest, PortalRequest
from practice.office import unusable_invitation
from relations.models import Relation
from relations.views.common import get_relation, relation_action

BACKEND = "django.contrib.auth.backends.ModelBackend"

# --- staff: from the contact's detail page -------------------------------------------------------


def _staff_action(
    request: MemberRequest, public_id: UUID, run: Callable[[Relation], Any], success: str
) -> HttpResponse:
    def run_and_mail(relation: Relation) -> None:
        try:
            run(relation)
        except OSError as exc:
            # The mail is sent after the commit: the invitation stands, only the e-mail is missing.
            services.logger.exception(
                "Portal invitation e-mail for relation %s failed", relation.pk
            )
            raise ValidationError(
                _(
                    "The invitation was saved, but the e-mail could not be sent. Resend it in a moment."
                )
            ) from exc

    return relation_action(request, public_id, run_and_mail, success)


def _base_url(request: MemberRequest) -> str:
    return request.build_absolute_uri("/")


@require_POST
@change_required
def invite(request: MemberRequest, public_id: UUID) -> HttpResponse:
    return _staff_action(
        request,
        public_id,
        lambda r: services.invite(
            relation=r,
            user=request.user,
            base_url=_base_url(request),
            grant=[int(pk) for pk in request.POST.getlist("portal_access") if pk.isdecimal()],
        ),
        _("An invitation to the portal has been sent to %(email)s."),
    )


@require_POST
@change_required
def resend(request: MemberRequest, public_id: UUID) -> HttpResponse:
    return _staff_action(
        request,
        public_id,
        lambda r: services.resend(relation=r, user=request.user, base_url=_base_url(request)),
        _("A new invitation has been sent to %(email)s; the previous link no longer works."),
    )


def revoke_question(relation: Relation) -> str:
    """The question the confirm page and the header button's dialog (`data-confirm`) both ask."""
    if relation.portal_state == "accepted":
        return _("Revoke the portal access of %(name)s?") % {"name": relation}
    return _("Withdraw the portal invitation of %(name)s?") % {"name": relation}


@require_http_methods(["GET", "POST"])
@change_required
def revoke(request: MemberRequest, public_id: UUID) -> HttpResponse:
    if not is_confirmed(request):
        relation = get_relation(request, public_id, change=True)
        accepted = relation.portal_state == "accepted"
        return ask(
            request,
            Confirmation(
                title=_("Revoke portal access") if accepted else _("Withdraw portal invitation"),
                question=revoke_question(relation),
                button=_("Revoke access") if accepted else _("Withdraw invitation"),
                cancel_url=relation.get_absolute_url(),
                relation=relation,
                details=[
                    _(
                        "%(name)s can no longer sign in to the portal, and the link in the "
                        "invitation stops working. You can invite %(name)s again later."
                    )
                    % {"name": relation}
                ],
                refusal=""
                if relation.portal_state in ("pending", "accepted")
                else _("%(name)s has no open invitation or portal access to revoke.")
                % {"name": relation},
            ),
        )
    return _staff_action(
        request,
        public_id,
        lambda r: services.revoke(relation=r, user=request.user),
        _("%(name)s no longer has access to the portal."),
    )


def header_action_context(request: MemberRequest, relation: Relation) -> dict[str, Any]:
    """What portal/header_action.html needs on a relation's detail page (relations.extensions)."""
    args = [relation.public_id]
    return {
        "state": relation.portal_status,
        "invited_until": relation.portal_invited_until,
        "invite_url": reverse("portal-invite", args=args),
        "resend_url": reverse("portal-resend", args=args),
        "revoke_url": reverse("portal-revoke", args=args),
        "revoke_question": revoke_question(relation),
        "client_connections": [
            (connection, connection.other(relation))
            for connection in services.client_connections(relation)
        ]
        if relation.portal_status in ("none", "revoked")
        else [],
    }


def header_action_applies(relation: Relation) -> bool:
    # Access that exists can always be revoked, even if the contact has since become a client.
    invitable = relation.kind == Relation.Kind.CONTACT and bool(relation.email)
    return invitable or relation.portal_state in ("pending", "accepted")


# --- the contact: accepting an invitation --------------------------------------------------------


def _unusable(request: HttpRequest, reason: str) -> HttpResponse:
    return unusable_invitation(request, reason, template="portal/unusable.html")


def _holds_staff_account(request: HttpRequest) -> bool:
    user = request.user
    return user.is_authenticated and not PortalAccount.objects.filter(user=user).exists()


@sensitive_post_parameters("new_password1", "new_password2")
@require_http_methods(["GET", "POST"])
@never_cache
def accept(request: HttpRequest, token: str) -> HttpResponse:
    """Open to anyone holding the link; a signed-in office account is refused and left untouched.

    A staff member must never end up signed in to (or as) a contact, nor a contact into a staff account:
    the account this creates is always one of its own.
    """
    if _holds_staff_account(request):
        response = render(request, "portal/unusable.html", {"staff": True}, status=403)
    else:
        response = _accept(request, token)
    # The token is in this URL: keep it out of any Referer that leaves the site. Not "no-referrer":
    # browsers then send "Origin: null" with the form's POST, which CSRF rightly refuses.
    response["Referrer-Policy"] = "same-origin"
    return response


def _accept(request: HttpRequest, token: str) -> HttpResponse:
    try:
        invitation = services.check_invitation(token)
    except services.InvitationUnusable as exc:
        return _unusable(request, exc.status)
    form = AcceptInvitationForm(
        services.new_portal_user(invitation), request.POST if request.method == "POST" else None
    )
    if request.method == "POST" and form.is_valid():
        try:
            user = services.accept(token=token, password=form.cleaned_data["new_password1"])
        except services.InvitationUnusable as exc:
            return _unusable(request, exc.status)
        except ValidationError as exc:
            form.add_error("new_password2", exc)
        else:
            login(request, user, backend=BACKEND)
            messages.success(request, _("Welcome! Your password has been set."))
            return redirect("portal-home")
    return render(request, "portal/accept.html", {"form": form, "practice": invitation.practice})


# --- the contact: signing in and the portal page -------------------------------------------------


@sensitive_post_parameters("password")
@require_http_methods(["GET", "POST"])
@never_cache
def portal_login(request: HttpRequest) -> HttpResponse:
    if services.active_account(request.user) is not None:
        return redirect("portal-home")
    form = PortalLoginForm(request, request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        login(request, form.user)
        return redirect("portal-home")
    return render(request, "portal/login.html", {"form": form})


def _connected_clients(relation: Relation) -> list[tuple[Any, Relation]]:
    """(how, client) for each current connection of the contact to an active client."""
    from connections.models import Connection

    rows = []
    for connection in (
        Connection.objects.involving(relation).active().select_related("a", "b").order_by("pk")
    ):
        other = connection.other(relation)
        if other.is_client and not other.is_archived:
            rows.append((connection.label_for(relation), other))
    rows.sort(key=lambda row: (row[1].display_name.casefold(), row[1].pk))
    return rows


CLIENT_AUDIENCES = ("client", "both")


def _with_links(
    clients: list[tuple[Any, Relation]],
) -> list[tuple[Any, Relation, list[links.ShownLink]]]:
    """Each client with the office's links meant for its contacts (lookups.links)."""
    shown = links.shown_links_many([client for _label, client in clients], CLIENT_AUDIENCES)
    return [(label, client, shown[client.pk]) for label, client in clients]


@require_GET
@login_required(login_url="portal-login")
def home(request: PortalRequest) -> HttpResponse:
    account = services.active_account(request.user)
    if account is None:
        withdrawn = services.withdrawn_account(request.user)
        if withdrawn is None:
            raise Http404("No active portal account.")
        # Their own account, so nothing to hide: say what happened instead of a bare 404.
        return render(
            request,
            "portal/withdrawn.html",
            {"practice": withdrawn.relation.practice},
            status=403,
        )
    relation = account.relation
    return render(
        request,
        "portal/home.html",
        {
            "portal_account": account,
            "relation": relation,
            "practice": relation.practice,
            "addresses": list(relation.addresses.all()),
            # Each client with the office's links meant for its contacts (lookups.links).
            "clients": _with_links(_connected_clients(relation)),
            "sections": extensions.sections_for(request, account),
        },
    )
