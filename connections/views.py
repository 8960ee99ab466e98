"""The Connections tab on a relation's page: the list, the add form with its picker, and ending.

As every tab that edits (relations/views/inline.py), each view serves two paths: with htmx the
form, the picker results and the refreshed list are fragments of `connections/tab.html`; without
JavaScript the form is a page of its own (searching sends it with GET and shows the matches as radio
buttons) and a valid POST redirects back to the tab.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from connections import services
from connections.forms import ConnectionForm, EndConnectionForm, PortalAccessForm
from connections.models import Connection
from practice.access import get_scoped_or_404, member_required
from practice.confirm import Confirmation, ask, is_confirmed
from practice.http import MemberRequest
from relations.models import Relation, preferred_city
from relations.views import inline
from relations.views.common import get_relation, relation_hint

TAB = "connections"
PICKER_LIMIT = 10


def tab_context(request: MemberRequest, relation: Relation) -> dict[str, Any]:
    """What `connections/tab.html` needs besides `relation`: one query however many connections."""
    today = timezone.localdate()
    current: list[dict[str, Any]] = []
    ended: list[dict[str, Any]] = []
    for connection in Connection.objects.involving(relation).select_related("a", "b"):
        row = {
            "connection": connection,
            "label": connection.label_for(relation),
            "other": connection.other(relation),
        }
        if connection.is_active:
            row["question"] = end_question(connection, relation)
            row["portal_switch"] = services.client_of(connection) is not None
        (current if connection.is_active else ended).append(row)
    current.sort(key=lambda row: (row["other"].display_name.casefold(), row["connection"].pk))
    ended.sort(key=lambda row: (row["connection"].end_date, row["connection"].pk), reverse=True)
    return {
        "can_change": inline.can_change(request, relation),
        "current_connections": current,
        "ended_connections": ended,
        "today": today,
    }


PICKER_FIELDS = ("public_id", "display_name", "kind", "entity", "client_code", "email")


def picker_results(relation: Relation, query: str) -> tuple[list[Relation], bool]:
    """Active relations of the same practice matching `query`, never the relation itself, each
    with what tells it from a namesake (`hint`); and whether more match than are shown."""
    # The search text comes straight from the URL; PostgreSQL refuses NUL in a query parameter.
    query = query.replace("\x00", "")
    if not query.strip():
        return [], False
    matches: list[Relation] = list(
        Relation.objects.filter(practice_id=relation.practice_id)
        .active()
        .exclude(pk=relation.pk)
        .search(query)
        .only(*PICKER_FIELDS)
        .annotate(city=preferred_city())[: PICKER_LIMIT + 1]  # one more: are there more?
    )
    return _with_hints(matches[:PICKER_LIMIT]), len(matches) > PICKER_LIMIT


def _with_hints(relations: list[Relation]) -> list[Relation]:
    for candidate in relations:
        # The kind is the badge beside the name; the rest is this line.
        candidate.hint = relation_hint(candidate, candidate.city, kind=False)  # type: ignore[attr-defined]
    return relations


# --- helpers -------------------------------------------------------------------------------------


def _candidates(relation: Relation, data: Any) -> dict[str, Any]:
    """The picker's radio buttons: the matches for the search text, plus the one already chosen;
    and whether more match than are shown (then the person types more)."""
    results, more = picker_results(relation, data.get("q", ""))
    chosen = _chosen(relation, data.get("other", ""))
    if chosen is not None and chosen.pk not in {r.pk for r in results}:
        results.insert(0, chosen)
    return {
        "candidates": results,
        "chosen": str(chosen.public_id) if chosen else "",
        "more_candidates": more,
        "picker_limit": PICKER_LIMIT,
    }


def _chosen(relation: Relation, value: str) -> Relation | None:
    try:
        public_id = UUID(value)
    except ValueError:
        return None
    found = (
        Relation.objects.filter(practice_id=relation.practice_id)
        .active()
        .exclude(pk=relation.pk)
        .filter(public_id=public_id)
        .only(*PICKER_FIELDS)
        .annotate(city=preferred_city())
        .first()
    )
    return _with_hints([found])[0] if found else None


# --- views ---------------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@member_required
def add(request: MemberRequest, public_id: UUID) -> HttpResponse:
    relation = get_relation(request, public_id, change=True)
    if refused := inline.refuse_if_archived(request, relation, TAB):
        return refused
    if request.method == "POST":
        form = ConnectionForm(request.POST, relation=relation)
        if form.is_valid():
            data = form.cleaned_data
            try:
                connection = services.add_connection(
                    practice=request.membership.practice,
                    user=request.user,
                    relation=relation,
                    other=data["other"],
                    type=data["type"],
                    subject_is_relation=data["subject_is_relation"],
                    start_date=data["start_date"],
                    description=data["description"],
                    portal_access=data["portal_access"],
                )
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                return inline.done(
                    request,
                    relation,
                    TAB,
                    _("Connection added: %(text)s.") % {"text": connection.describe_for(relation)},
                )
    else:
        # A GET with parameters is the search step without JavaScript: keep what was filled in,
        # without judging it yet.
        form = ConnectionForm(initial=request.GET.dict(), relation=relation)
    data = request.POST if request.method == "POST" else request.GET
    return inline.render_form(
        request,
        relation,
        TAB,
        form,
        action=reverse("connections-add", args=[relation.public_id]),
        title=_("Add connection"),
        picker_url=reverse("connections-picker", args=[relation.public_id]),
        query=data.get("q", "").strip(),
        **_candidates(relation, data),
    )


@require_GET
@member_required
def picker(request: MemberRequest, public_id: UUID) -> HttpResponse:
    """The picker's matches as radio buttons, swapped into the add form as the person types."""
    relation = get_relation(request, public_id, change=True)
    context = {
        "relation": relation,
        **_candidates(relation, request.GET),
        "query": request.GET.get("q", "").strip(),
    }
    return render(request, "connections/tab.html#picker", context)


def end_question(connection: Connection, relation: Relation) -> str:
    """The question the confirm page and the row's dialog (`data-confirm`) both ask."""
    return _("End the connection %(text)s?") % {"text": connection.describe_for(relation)}


@require_http_methods(["GET", "POST"])
@member_required
def end(request: MemberRequest, public_id: UUID, pk: int) -> HttpResponse:
    relation = get_relation(request, public_id, change=True)
    connection = get_scoped_or_404(
        request, Connection.objects.involving(relation).select_related("a", "b"), pk=pk
    )
    if refused := inline.refuse_if_archived(request, relation, TAB):
        return refused
    if not is_confirmed(request):
        # The date chosen in the row is carried over; without one, today.
        bound = request.method == "POST" and bool(request.POST.get("end_date"))
        confirm_form = (
            EndConnectionForm(request.POST)
            if bound
            else EndConnectionForm(initial={"end_date": timezone.localdate()})
        )
        if bound:
            confirm_form.is_valid()  # its errors are shown beside the field
        return ask(
            request,
            Confirmation(
                title=_("End connection"),
                question=end_question(connection, relation),
                button=_("End"),
                cancel_url=inline.tab_url(relation, TAB),
                relation=relation,
                details=[
                    _(
                        "From the end date on the connection is listed under Ended; it is kept, "
                        "and the timeline of both relations records it."
                    )
                ],
                form=confirm_form,
            ),
        )
    form = EndConnectionForm(request.POST)
    try:
        if not form.is_valid():
            raise ValidationError(list(form.errors["end_date"]))
        services.end_connection(
            connection=connection, user=request.user, on=form.cleaned_data["end_date"]
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return inline.back_to_tab(request, relation, TAB)
    return inline.done(
        request,
        relation,
        TAB,
        _("Connection ended: %(text)s.") % {"text": connection.describe_for(relation)},
    )


@require_POST
@member_required
def portal_access(request: MemberRequest, public_id: UUID, pk: int) -> HttpResponse:
    """Switch the connection's "portal access for this client" (a plain POST, from the tab's row)."""
    relation = get_relation(request, public_id, change=True)
    connection = get_scoped_or_404(
        request, Connection.objects.involving(relation).select_related("a", "b"), pk=pk
    )
    if refused := inline.refuse_if_archived(request, relation, TAB):
        return refused
    form = PortalAccessForm(request.POST)
    form.is_valid()
    on = bool(form.cleaned_data.get("portal_access"))
    try:
        services.set_portal_access(connection=connection, user=request.user, on=on)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return inline.back_to_tab(request, relation, TAB)
    text = connection.describe_for(relation)
    return inline.done(
        request,
        relation,
        TAB,
        (
            _("Portal access switched on: %(text)s.")
            if on
            else _("Portal access switched off: %(text)s.")
        )
        % {"text": text},
    )
