"""The Team tab: who in the office looks after a relation, in which role."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from practice.access import change_required
from practice.http import MemberRequest
from relations import services
from relations.forms import TeamMemberForm
from relations.models import Relation
from relations.views.common import get_relation


def tab_context(request: MemberRequest, relation: Relation) -> dict[str, Any]:
    team = list(relation.team.select_related("user").order_by("role", "user__first_name", "pk"))
    form = None
    if request.membership.can_change and not relation.is_archived:
        form = TeamMemberForm(practice=relation.practice, auto_id="team_%s")
    return {"team": team, "team_form": form}


def _back(relation: Relation) -> HttpResponse:
    return redirect(reverse("relations-tab", args=[relation.public_id, "team"]))


@require_http_methods(["GET", "POST"])
@change_required
def team_add(request: MemberRequest, public_id: UUID) -> HttpResponse:
    relation = get_relation(request, public_id, change=True)
    if relation.is_archived:
        messages.error(request, _("Restore this relation before changing it."))
        return _back(relation)
    form = TeamMemberForm(
        request.POST if request.method == "POST" else None,
        practice=relation.practice,
        auto_id="team_%s",
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.add_team_member(
                relation=relation,
                user=request.user,
                member=form.cleaned_data["member"],
                role=form.cleaned_data["role"],
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("The team has been updated."))
            return _back(relation)
    return render(
        request,
        "relations/part_form.html",
        {
            "relation": relation,
            "form": form,
            "title": _("Add to the team"),
            "action": reverse("relations-team-add", args=[relation.public_id]),
            "cancel_url": reverse("relations-tab", args=[relation.public_id, "team"]),
            "form_template": "relations/tabs/team.html#form",
        },
    )


@require_POST
@change_required
def team_remove(request: MemberRequest, public_id: UUID, pk: int) -> HttpResponse:
    relation = get_relation(request, public_id, change=True)
    assignment = get_object_or_404(relation.team, pk=pk)
    try:
        services.remove_team_member(assignment=assignment, user=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("The team has been updated."))
    return _back(relation)
