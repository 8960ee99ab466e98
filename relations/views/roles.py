"""Kantoor → Teamrollen (the owner's) and Overdragen on a member's page (relations.roles).

Every role and member is looked up within the current practice only: another office's are a 404.
Plain forms that post and redirect back: it all works without JavaScript.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_http_methods, require_POST

from practice.access import get_scoped_or_404, owner_required
from practice.confirm import Confirmation, ask, is_confirmed
from practice.db import analyze_after_change
from practice.forms import PlainTextMixin
from practice.http import MemberRequest
from practice.models import Membership
from relations import roles
from relations.forms import member_label
from relations.models import Relation, TeamAssignment, TeamRole

REPORT_ROWS = 1_000  # the hand-over's preview and report list this many rows at most


class RoleNameForm(PlainTextMixin, forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=60)


def _role(request: MemberRequest, pk: int) -> TeamRole:
    return get_scoped_or_404(request, TeamRole, pk=pk)


def _back() -> str:
    return reverse("team-roles")


def _act(request: MemberRequest, run: Callable[[], Any], success: str) -> HttpResponse:
    try:
        run()
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(request, success)
    return redirect(_back())


@require_http_methods(["GET", "POST"])
@owner_required
def team_roles(request: MemberRequest) -> HttpResponse:
    practice = request.membership.practice
    form = RoleNameForm(request.POST if request.method == "POST" else None, auto_id="new_%s")
    if request.method == "POST" and form.is_valid():
        try:
            role = roles.add_role(practice=practice, name=form.cleaned_data["name"])
        except ValidationError as exc:
            form.add_error("name", exc.messages[0])
        else:
            messages.success(request, _("The role %(name)s has been added.") % {"name": role})
            return redirect(_back())
    used = roles.in_use(practice)
    held = set(
        TeamAssignment.objects.filter(practice=practice)
        .values_list("team_role_id", flat=True)
        .distinct()
    )
    rows = [
        {
            "role": role,
            "used": used.get(role.pk, 0),
            "held": role.pk in held,
            "form": RoleNameForm(initial={"name": role.label}, auto_id=f"role{role.pk}_%s"),
        }
        for role in TeamRole.objects.filter(practice=practice)
    ]
    return render(request, "relations/team_roles.html", {"rows": rows, "form": form})


@require_POST
@owner_required
def team_role_rename(request: MemberRequest, pk: int) -> HttpResponse:
    role = _role(request, pk)
    form = RoleNameForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("A team role needs a name."))
        return redirect(_back())
    return _act(
        request,
        lambda: roles.rename_role(role=role, name=form.cleaned_data["name"]),
        _("The role has been renamed."),
    )


@require_POST
@owner_required
def team_role_move(request: MemberRequest, pk: int) -> HttpResponse:
    role = _role(request, pk)
    up = request.POST.get("direction") != "down"
    return _act(
        request, lambda: roles.move_role(role=role, up=up), _("The order has been changed.")
    )


@require_POST
@owner_required
def team_role_active(request: MemberRequest, pk: int) -> HttpResponse:
    role = _role(request, pk)
    active = request.POST.get("active") == "1"
    return _act(
        request,
        lambda: roles.set_role_active(role=role, active=active),
        _("The role is in use again.") if active else _("The role has been deactivated."),
    )


@require_http_methods(["GET", "POST"])
@owner_required
def team_role_delete(request: MemberRequest, pk: int) -> HttpResponse:
    role = _role(request, pk)
    if not is_confirmed(request):
        refusal = ""
        if role.required:
            refusal = _("Every client keeps a relationship manager: this role stays.")
        elif TeamAssignment.objects.filter(team_role=role).exists():
            refusal = _(
                "This role is held on teams, so it cannot be deleted: deactivate it instead."
            )
        return ask(
            request,
            Confirmation(
                title=_("Delete team role"),
                question=_("Delete the role %(name)s?") % {"name": role.label},
                button=_("Delete"),
                cancel_url=_back(),
                refusal=refusal,
            ),
        )
    return _act(request, lambda: roles.delete_role(role=role), _("The role has been deleted."))


# --- Overdragen ----------------------------------------------------------------------------------


class HandOverForm(PlainTextMixin, forms.Form):
    to: forms.ModelChoiceField[User] = forms.ModelChoiceField(
        queryset=None, label=gettext_lazy("Hand over to")
    )
    role: forms.ModelChoiceField[TeamRole] = forms.ModelChoiceField(
        queryset=None,
        label=gettext_lazy("Places"),
        required=False,
        empty_label=gettext_lazy("All their places"),
        to_field_name="key",
    )

    def __init__(self, *args: Any, membership: Membership, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        practice = membership.practice
        to, role = self.fields["to"], self.fields["role"]
        assert isinstance(to, forms.ModelChoiceField)
        assert isinstance(role, forms.ModelChoiceField)
        to.queryset = (
            User.objects.filter(memberships__practice=practice, memberships__deactivated_at=None)
            .exclude(pk=membership.user_id)
            .order_by("first_name", "last_name", "username")
        )
        to.label_from_instance = member_label  # type: ignore[method-assign,assignment]
        role.queryset = TeamRole.objects.filter(practice=practice)
        role.label_from_instance = lambda role: role.label  # type: ignore[method-assign,assignment]


def _rows(plan: roles.HandOver, labels: dict[str, str]) -> list[tuple[str, str, str]]:
    def said(relation: Relation) -> str:
        parts = (
            [
                _("%(roles)s handed over")
                % {"roles": ", ".join(labels.get(k, k) for k in plan.moved.get(relation.pk, []))}
            ]
            if relation.pk in plan.moved
            else []
        )
        if relation.pk in plan.merged:
            parts.append(
                _("%(roles)s held there already by the new member: the place goes")
                % {"roles": ", ".join(labels.get(k, k) for k in plan.merged[relation.pk])}
            )
        return "; ".join(parts)

    return [(r.display_name, r.client_code, said(r)) for r in plan.relations[:REPORT_ROWS]]


@require_http_methods(["GET", "POST"])
@owner_required
def hand_over(request: MemberRequest, pk: int) -> HttpResponse:
    membership = get_scoped_or_404(request, Membership.objects.select_related("user"), pk=pk)
    practice = membership.practice
    back = reverse("office-member", args=[membership.pk])
    name = membership.user.get_full_name() or membership.user.get_username()
    form = HandOverForm(request.POST or None, membership=membership)
    if request.method == "GET" or not form.is_valid():
        return render(
            request,
            "relations/hand_over.html",
            {"member": membership, "name": name, "form": form, "back": back},
        )
    to, role = form.cleaned_data["to"], form.cleaned_data["role"]
    labels = {r.key: r.label for r in TeamRole.objects.filter(practice=practice)}
    columns = [_("Name"), _("Client code"), _("What will happen")]
    if not is_confirmed(request):
        plan = roles.plan_hand_over(practice=practice, member=membership.user, to=to, role=role)
        details = [
            ngettext(
                "%(count)s relation goes from %(from)s to %(to)s.",
                "%(count)s relations go from %(from)s to %(to)s.",
                len(plan.relations),
            )
            % {"count": len(plan.relations), "from": name, "to": member_label(to)}
        ]
        if len(plan.relations) > REPORT_ROWS:
            not_shown = len(plan.relations) - REPORT_ROWS
            details.append(
                ngettext(
                    "%(counter)s more row not shown.", "%(counter)s more rows not shown.", not_shown
                )
                % {"counter": not_shown}
            )
        return ask(
            request,
            Confirmation(
                title=_("Hand over team places"),
                question=_("Hand over these team places?"),
                button=_("Hand over") if plan.relations else "",
                cancel_url=back,
                details=details,
                columns=columns,
                rows=_rows(plan, labels),
                hidden=[("to", str(to.pk))] + ([("role", role.key)] if role else []),
                refusal="" if plan.relations else _("There are no team places to hand over."),
                danger=False,
            ),
        )
    try:
        done = roles.hand_over(
            practice=practice, user=request.user, member=membership.user, to=to, role=role
        )
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
        return redirect(back)
    analyze_after_change(len(done.relations), TeamAssignment)
    messages.success(
        request,
        ngettext(
            "%(count)s relation has been handed over.",
            "%(count)s relations have been handed over.",
            len(done.relations),
        )
        % {"count": len(done.relations)},
    )
    return render(
        request,
        "relations/hand_over_done.html",
        {
            "member": membership,
            "name": name,
            "to": to,
            "columns": columns,
            "rows": _rows(done, labels),
            "more": max(0, len(done.relations) - REPORT_ROWS),
            "back": back,
        },
    )
