"""Relations' own tabs of the detail page, registered like any other app's (relations/extensions.py).

`register()` runs from RelationsConfig.ready(). The contexts of the tabs that edit live beside their
views (relations/views/parts.py, team.py); the read-only tabs' are here.
"""

from __future__ import annotations

from typing import Any

from django.core.paginator import Paginator
from django.utils.translation import gettext_lazy as _

from practice.http import MemberRequest
from relations import services
from relations.extensions import Tab, register_tab
from relations.models import Address, BankAccount, Relation, ServiceAgreement, TeamRole
from relations.views import parts, team

TIMELINE_PAGE_SIZE = 25


def archiving_stops(relation: Relation) -> tuple[list[ServiceAgreement], list[ServiceAgreement]]:
    """What archiving would stop (ServiceAgreement.status's rule): the running agreements it ends
    and the planned ones it cancels. Read once per page and kept on the relation, for the overview
    and the header's Archive dialog share it."""
    stops = relation.__dict__.get("_archiving_stops")
    if stops is None:
        running: dict[int, list[ServiceAgreement]] = {}
        planned: dict[int, list[ServiceAgreement]] = {}
        if relation.is_client:
            running, planned = services.agreements_archiving_stops([relation])
        stops = (running.get(relation.pk, []), planned.get(relation.pk, []))
        relation.__dict__["_archiving_stops"] = stops
    return stops


def overview_context(request: MemberRequest, relation: Relation) -> dict[str, Any]:
    return {
        # The address that stands for the relation, by the list's rule (visiting, postal, invoice).
        "default_address": relation.addresses.preferred_first().first(),
        "running_agreements": archiving_stops(relation)[0],
    }


def timeline_context(request: MemberRequest, relation: Relation) -> dict[str, Any]:
    events = relation.timeline.select_related("actor", "other_relation", "agreement", "member")
    page = Paginator(events, TIMELINE_PAGE_SIZE).get_page(request.GET.get("page"))
    roles = {r.key: r.label for r in TeamRole.objects.filter(practice_id=relation.practice_id)}
    for event in page:
        event.field_names = field_names(event, roles)  # type: ignore[attr-defined]  # for the template
    return {"events": page}


# Whose fields an event's `fields` are, by the event kind's prefix; the relation's otherwise.
EVENT_MODELS = (("address_", Address), ("bank_", BankAccount), ("agreement_", ServiceAgreement))


def field_names(event, roles: dict[str, str]) -> list[str]:
    """What an event lists after its title: changed fields by their label in the user's language
    (an address's, bank account's or agreement's own fields for their events), or a team role."""
    if event.kind.startswith("team_"):
        return [str(roles.get(role, role)) for role in event.fields]
    model = next(
        (model for prefix, model in EVENT_MODELS if event.kind.startswith(prefix)), Relation
    )
    labels = {f.name: f.verbose_name for f in model._meta.fields}
    return [str(labels.get(name, name.replace("_", " "))) for name in event.fields]


def register() -> None:
    for tab in (
        Tab("overview", _("Overview"), "relations/tabs/overview.html", overview_context, 10),
        Tab(
            "company",
            _("Company details"),
            "relations/tabs/company.html",
            position=20,
            applies=lambda relation: relation.is_company,
        ),
        Tab(
            "addresses", _("Addresses"), "relations/tabs/addresses.html", parts.address_context, 30
        ),
        Tab("banks", _("Bank accounts"), "relations/tabs/banks.html", parts.bank_context, 40),
        Tab("team", _("Team"), "relations/tabs/team.html", team.tab_context, 50),
        Tab(
            "agreements",
            _("Agreements"),
            "relations/tabs/agreements.html",
            parts.agreement_context,
            60,
            applies=lambda relation: relation.is_client,
        ),
        Tab("timeline", _("Timeline"), "relations/tabs/timeline.html", timeline_context, 90),
    ):
        register_tab(tab)
