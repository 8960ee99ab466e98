"""The relations list, its bulk actions and its export (CSV for Dutch Excel, and .xlsx).

The list and the export read the same filters through `read_filters` and `filter_relations`, so an
export always holds exactly the rows the user was looking at (all pages of them).
"""

from __future__ import annotations

import csv
import tempfile
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db.models import (
    Exists,
    F,
    JSONField,
    OrderBy,
    OuterRef,
    QuerySet,
    StringAgg,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce, Concat, JSONObject, NullIf, Trim
from django.http import (
    FileResponse,
    HttpResponse,
    HttpResponseRedirect,
    QueryDict,
    StreamingHttpResponse,
)
from django.shortcuts import render
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.cache import patch_vary_headers
from django.utils.formats import number_format
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_GET, require_POST
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font

from practice.access import change_required, member_required, scoped
from practice.confirm import Confirmation, ask, is_confirmed
from practice.db import analyze_after_change
from practice.http import MemberRequest
from practice.models import Practice
from relations import roles, services
from relations.forms import TeamMemberForm
from relations.models import (
    MANAGER_KEY,
    Address,
    BankAccount,
    PortalState,
    Relation,
    RelationQuerySet,
    ServiceAgreement,
    TeamAssignment,
    TeamRole,
    preferred_address_of,
    preferred_city,
)
from relations.views.common import relation_hint

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

# The count is exact up to here and "10,000+" beyond: counting a sliced queryset stops after CAP + 1
# rows, where an unbounded COUNT(*) would read the whole practice on every page view (DESIGN §7).
COUNT_CAP = 10_000
PER_PAGE_CHOICES = (25, 50, 100)
DEFAULT_PER_PAGE = 50
# Far beyond any real list; keeps OFFSET inside what every database accepts.
MAX_PAGE = 1_000_000
# A longer search is a paste accident, and every word becomes one more LIKE.
MAX_QUERY_LENGTH = 100
# The bulk report lives in the session until the next page view; a select-all on a huge list must not
# turn that into megabytes.
BULK_REPORT_LIMIT = 1_000
BULK_RESULT_KEY = "bulk_result"
CSV_CHUNK_SIZE = 2_000
# Spreadsheet programs run a cell that starts with one of these as a formula (CSV injection).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

# Ties are broken by id so that paging never shows a row twice or skips one.
ORDERINGS = {
    "name": ("display_name", "id"),
    "-name": ("-display_name", "-id"),
    "code": ("client_code", "id"),
    "-code": ("-client_code", "-id"),
    "created": ("created_at", "id"),
    "-created": ("-created_at", "-id"),
}


def sort_after_matching(sort: str) -> list[OrderBy | str]:
    """The order of `ORDERINGS[sort]`, as an expression no index provides.

    PostgreSQL's planner walks a sort index and tests each row until it has a page, assuming matches
    are spread evenly. A search is not: "bakkerij" matches names that all start with "Bakkerij", so
    the walk read 14,000 rows (a heap fetch each) to find 100. `COALESCE(x, x)` sorts exactly as `x`
    but cannot be read from an index, so the planner finds the matches with the trigram index and
    sorts them instead. Only used when the count is exact, so that at most COUNT_CAP rows are sorted;
    beyond the cap sorting costs as much as the matches are many, and the walk is usually cheaper.
    """
    first, *rest = ORDERINGS[sort]
    column = first.removeprefix("-")
    same = Coalesce(F(column), F(column))
    return [same.desc() if first.startswith("-") else same.asc(), *rest]


# --- filters -------------------------------------------------------------------------------------


class FilterForm(forms.Form):
    """Reads and renders the list's URL parameters; an invalid value falls back to its default."""

    q = forms.CharField(
        label=gettext_lazy("Search"),
        required=False,
        widget=forms.SearchInput(attrs={"maxlength": MAX_QUERY_LENGTH}),
        help_text=gettext_lazy("Name, client code, e-mail, city or KvK number."),
    )
    kind = forms.ChoiceField(
        label=gettext_lazy("Kind"),
        required=False,
        choices=[
            ("", gettext_lazy("All")),
            (Relation.Kind.CLIENT, gettext_lazy("Clients")),
            (Relation.Kind.CONTACT, gettext_lazy("Contacts")),
        ],
    )
    entity = forms.ChoiceField(
        label=gettext_lazy("Type"),
        required=False,
        choices=[
            ("", gettext_lazy("All")),
            (Relation.Entity.COMPANY, gettext_lazy("Companies")),
            (Relation.Entity.PRIVATE, gettext_lazy("Private persons")),
        ],
    )
    team = forms.ChoiceField(
        label=gettext_lazy("Team"),
        required=False,
        choices=[
            ("", gettext_lazy("Everyone's relations")),
            ("mine", gettext_lazy("My relations")),
        ],
    )
    status = forms.ChoiceField(
        label=gettext_lazy("Status"),
        required=False,
        choices=[("active", gettext_lazy("Active")), ("archived", gettext_lazy("Archived"))],
    )
    sort = forms.ChoiceField(
        label=gettext_lazy("Sort by"),
        required=False,
        choices=[
            ("name", gettext_lazy("Name (A to Z)")),
            ("-name", gettext_lazy("Name (Z to A)")),
            ("code", gettext_lazy("Client code (low to high)")),
            ("-code", gettext_lazy("Client code (high to low)")),
            ("-created", gettext_lazy("Newest first")),
            ("created", gettext_lazy("Oldest first")),
        ],
    )
    review = forms.ChoiceField(
        label=gettext_lazy("Review"),
        required=False,
        choices=[("", gettext_lazy("All")), ("needed", gettext_lazy("Needs review"))],
    )
    per_page = forms.TypedChoiceField(
        label=gettext_lazy("Per page"),
        required=False,
        coerce=int,
        empty_value=None,
        choices=[(n, str(n)) for n in PER_PAGE_CHOICES],
    )

    def clean_q(self) -> str:
        return " ".join(self.cleaned_data["q"][:MAX_QUERY_LENGTH].split())


@dataclass(frozen=True)
class ListFilters:
    q: str = ""
    kind: str = ""
    entity: str = ""
    team: str = ""
    status: str = "active"
    sort: str = "name"
    review: str = ""
    per_page: int = DEFAULT_PER_PAGE

    def params(self, **extra: Any) -> dict[str, Any]:
        """The URL parameters that differ from the defaults (short, bookmarkable URLs)."""
        defaults = asdict(ListFilters())
        values = {k: v for k, v in asdict(self).items() if v != defaults[k]}
        values.update({k: v for k, v in extra.items() if v is not None})
        return values

    def query_string(self, **extra: Any) -> str:
        params = self.params(**extra)
        return f"?{urlencode(params)}" if params else ""


def read_filters(params: QueryDict) -> ListFilters:
    form = FilterForm(params)
    form.is_valid()  # invalid fields are left out of cleaned_data and keep their default
    return ListFilters(
        **{name: value for name, value in form.cleaned_data.items() if value not in ("", None)}
    )


def filter_relations(
    queryset: RelationQuerySet, filters: ListFilters, *, user: User | None = None
) -> RelationQuerySet:
    """The rows the list and the export show, sorted; `queryset` is already the practice's."""
    qs = queryset.archived() if filters.status == "archived" else queryset.active()
    if filters.team == "mine" and user is not None:
        # A semi-join, so that a relation with two of the member's roles is one row. No practice
        # in here: the rows are the practice's already, and without it both plans PostgreSQL picks
        # stay index-only (the count hashes `team_user_relation`, a page probes it per row); with
        # it, the probe went through the relation_id index and the heap.
        qs = qs.filter(Exists(TeamAssignment.objects.filter(relation=OuterRef("pk"), user=user)))
    if filters.kind:
        qs = qs.filter(kind=filters.kind)
    if filters.entity:
        qs = qs.filter(entity=filters.entity)
    if filters.review:
        qs = qs.filter(needs_review=True)
    if filters.q:
        qs = qs.search(filters.q)
    return qs.order_by(*ORDERINGS[filters.sort])


# --- the list ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ListRow:
    """One row of the list with every value as it is shown.

    Rendering was most of the list's time: a `get_FOO_display`, a `{% blocktranslate %}` and a chain of
    `{% if %}`/`{% translate %}` per row. Labels are now translated once per request (`_row_labels`)
    and the template only prints.
    """

    public_id: str
    url: str
    display_name: str
    kind: str
    kind_label: str
    entity_label: str
    client_code: str
    email: str
    city: str
    portal_state: str  # "" for a client: only contacts are invited to the portal
    portal_label: str
    is_archived: bool
    status_label: str
    review_label: str  # "" unless the relation needs review
    select_label: str

    def __getitem__(self, name: str) -> Any:
        # The template engine tries `row[name]` before `row.name`; answering it saves an exception
        # per variable per row.
        return getattr(self, name)


_URL_PLACEHOLDER = uuid.UUID(int=0)


def _row_labels() -> dict[str, Any]:
    """The list's translated labels, once per request (in the request's language)."""
    return {
        "kinds": {value: str(label) for value, label in Relation.Kind.choices},
        "entities": {value: str(label) for value, label in Relation.Entity.choices},
        "portal": {
            **{value: str(label) for value, label in PortalState.choices},
            "expired": _("Invitation expired"),
        },
        "archived": _("Archived"),
        "active": _("Active"),
        "review": _("Needs review"),
        # The same msgid the template's {% blocktranslate %} had, so the catalogue already has it.
        "select": _("Select %(name)s"),
    }


def back_query(filters: ListFilters, page: int = 1) -> str:
    """`?back=…` for a link from the list to a relation: the list's filters and page, so that the
    relation's breadcrumb leads back to the same list. "" for the plain list."""
    params = filters.params(page=page if page > 1 else None)
    return f"?{urlencode({'back': urlencode(params)})}" if params else ""


def list_url_from_back(value: str) -> str:
    """The list URL a relation's `back` parameter points at.

    Never the value itself: it is read as the list's filters (each one validated, anything else
    dropped) and a fresh URL is built on the list's own path, so no `back` can lead elsewhere.
    """
    params = QueryDict(value[:1000])
    filters = read_filters(params)
    page = _page_number(params.get("page"))
    return reverse("relations-list") + filters.query_string(page=page if page > 1 else None)


def back_param(list_url: str) -> str:
    """`?back=…` that leads to `list_url` (one `list_url_from_back` made), "" for the plain list."""
    query = list_url.partition("?")[2]
    return f"?{urlencode({'back': query})}" if query else ""


def _list_rows(relations: Iterable[Relation], back: str = "") -> list[ListRow]:
    labels = _row_labels()
    kinds, entities, portal = labels["kinds"], labels["entities"], labels["portal"]
    # One reverse() per page instead of one per row (it was a third of a row's cost): a public id
    # is hex and dashes, which a URL carries as they are.
    before, after = reverse("relations-detail", args=[_URL_PLACEHOLDER]).split(
        str(_URL_PLACEHOLDER)
    )
    rows = []
    for relation in relations:
        public_id = str(relation.public_id)
        is_contact = relation.kind == Relation.Kind.CONTACT
        portal_state = relation.portal_status if is_contact else ""
        rows.append(
            ListRow(
                public_id=public_id,
                url=f"{before}{public_id}{after}{back}",
                display_name=relation.display_name,
                kind=relation.kind,
                kind_label=kinds.get(relation.kind, relation.kind),
                entity_label=entities.get(relation.entity, relation.entity),
                client_code=relation.client_code,
                email=relation.email,
                city=relation.city or "",  # type: ignore[attr-defined]  # annotated
                portal_state=portal_state,
                portal_label=portal.get(portal_state, portal[PortalState.NONE]),
                is_archived=relation.archived_at is not None,
                status_label=labels["archived"] if relation.archived_at else labels["active"],
                review_label=labels["review"] if relation.needs_review else "",
                select_label=labels["select"] % {"name": relation.display_name},
            )
        )
    return rows


def _page_number(value: str | None) -> int:
    try:
        return min(max(int(value or 1), 1), MAX_PAGE)
    except ValueError:
        return 1


def _page_url(filters: ListFilters, page: int) -> str:
    # "?" rather than "": an empty href would point at the current page, not the first one.
    return filters.query_string(page=page if page > 1 else None) or "?"


@require_GET
@member_required
def relation_list(request: MemberRequest) -> HttpResponse:
    filters = read_filters(request.GET)
    relations = filter_relations(
        scoped(request, Relation.objects.all()), filters, user=request.user
    )
    per_page = filters.per_page

    # Counting stops at COUNT_CAP + 1 rows, so the count costs the same on a practice of any size.
    count = relations.order_by().values("pk")[: COUNT_CAP + 1].count()
    count_is_exact = count <= COUNT_CAP
    page = _page_number(request.GET.get("page"))
    if count_is_exact:
        page = min(page, max(1, -(-count // per_page)))
    offset = (page - 1) * per_page
    # A deferred join: the inner query walks the sort index (which covers the filters) to find the
    # page's ids, so OFFSET skips index entries only; the wide columns and the city subquery are then
    # read for these rows alone, and page 1,000 costs what page 1 costs. One row beyond the page
    # tells whether there is a next one without counting everything. Still one query.
    page_ids = relations.values("pk")
    if filters.q and count_is_exact:
        page_ids = page_ids.order_by(*sort_after_matching(filters.sort))
    page_ids = page_ids[offset : offset + per_page + 1]
    rows = list(
        Relation.objects.filter(pk__in=page_ids)
        .order_by(*ORDERINGS[filters.sort])
        .only(
            "public_id",
            "kind",
            "entity",
            "display_name",
            "client_code",
            "email",
            "archived_at",
            "needs_review",
            "portal_state",
            "portal_invited_until",
        )
        .annotate(city=preferred_city())
    )
    has_next = len(rows) > per_page
    rows = rows[:per_page]

    context = {
        "relations": _list_rows(rows, back_query(filters, page)),
        "filters": filters,
        # Nothing at all, not nothing matching: the page says how to add or import relations.
        "practice_is_empty": count == 0 and not scoped(request, Relation.objects.all()).exists(),
        "filter_params": urlencode(filters.params()),
        # Built only when the template's fragment cache misses: the filter bar's widgets cost
        # about as much to render as 50 rows, and they depend on the filters and language alone.
        "filter_form": lambda: FilterForm(initial=asdict(filters)),
        "count": count if count_is_exact else None,
        "count_display": number_format(min(count, COUNT_CAP), force_grouping=True),
        "count_is_exact": count_is_exact,
        "page": page,
        "num_pages": max(1, -(-count // per_page)) if count_is_exact else None,
        "previous_url": _page_url(filters, page - 1) if page > 1 else None,
        "next_url": _page_url(filters, page + 1) if has_next else None,
        "first_url": _page_url(filters, 1),
        "export_url": reverse("relations-export") + filters.query_string(),
        "export_xlsx_url": reverse("relations-export-xlsx") + filters.query_string(),
        "can_change": request.membership.can_change,
        "archived_view": filters.status == "archived",
        # What the bulk buttons that ask first ask (data-confirm, static/js/confirm.js).
        "bulk_questions": {key: a.question for key, a in BULK_ACTIONS.items() if a.question},
    }
    htmx = getattr(request, "htmx", None)
    if htmx and not htmx.boosted and not htmx.history_restore_request:
        response = render(request, "relations/list.html#rows", context)
    else:
        bulk_result = request.session.pop(BULK_RESULT_KEY, None)
        # A report belongs to the practice it was made in: after a switch it is dropped, not shown.
        if bulk_result and bulk_result.get("practice") == request.membership.practice_id:
            context["bulk_result"] = bulk_result
        response = render(request, "relations/list.html", context)
    # The same URL answers a full page or a fragment; caches must keep them apart.
    patch_vary_headers(response, ("HX-Request",))
    return response


# --- bulk actions --------------------------------------------------------------------------------


def _convert_preview(relation: Relation) -> str:
    """What converting to client will do to this row: services.convert_to_client's own rules."""
    if relation.is_archived:
        return _("Skipped: %(reason)s") % {"reason": _("archived; restore it first")}
    if relation.is_client:
        return _("Skipped: %(reason)s") % {"reason": _("already a client")}
    return _("Becomes a client, with the next free client code")


def _assign_preview(relation: Relation) -> str:
    """What *Teamlid toewijzen* will do to this row: relations.roles.assign's own rules."""
    if relation.is_archived:
        return _("Skipped: %(reason)s") % {"reason": _("archived; restore it first")}
    return _("Gets the team member in the role, unless they hold it there already")


@dataclass(frozen=True)
class BulkAction:
    service: Callable[..., services.BulkResult]
    label: StrOrPromise
    outcome: StrOrPromise
    summary: StrOrPromise  # "%(done)s … %(skipped)s …"
    # An action that asks first (practice.confirm): the question, and each row's outcome to be.
    question: StrOrPromise = ""
    preview: Callable[[Relation], str] | None = None


BULK_ACTIONS = {
    "convert_to_client": BulkAction(
        services.convert_to_client,
        gettext_lazy("Convert to client"),
        gettext_lazy("Converted to client"),
        gettext_lazy("%(done)s converted to client, %(skipped)s skipped."),
        question=gettext_lazy(
            "Convert the selected relations to client? Each gets a client code and goes to the "
            "ledger; a client cannot become a contact again."
        ),
        preview=_convert_preview,
    ),
    "assign_team": BulkAction(
        roles.assign,
        gettext_lazy("Assign team member"),
        gettext_lazy("Added to the team"),
        gettext_lazy("%(done)s added to the team, %(skipped)s skipped."),
        question=gettext_lazy(
            "Put one member of the office on the team of the selected relations, in one role?"
        ),
        preview=_assign_preview,
    ),
    "archive": BulkAction(
        services.archive,
        gettext_lazy("Archive"),
        gettext_lazy("Archived"),
        gettext_lazy("%(done)s archived, %(skipped)s skipped."),
    ),
    "restore": BulkAction(
        services.restore,
        gettext_lazy("Restore"),
        gettext_lazy("Restored"),
        gettext_lazy("%(done)s restored, %(skipped)s skipped."),
    ),
}


def _safe_next(request: MemberRequest) -> str:
    next_url = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return next_url
    return reverse("relations-list")


def _selected_ids(values: Iterable[str]) -> tuple[list[uuid.UUID], list[str]]:
    """The submitted ids as UUIDs (duplicates dropped), and the values that are no id at all."""
    ids: dict[uuid.UUID, None] = {}
    invalid: list[str] = []
    for value in values:
        try:
            ids[uuid.UUID(value)] = None
        except ValueError:
            invalid.append(value)
    return list(ids), invalid


def _all_matching(request: MemberRequest) -> list[Relation] | None:
    """The rows of "select all N matching": what the list's filters select, as the list showed them.

    The filters are read as the list reads them and applied to the practice's rows (with "mine"
    meaning the person posting). The count the page showed comes back as `expected`; when the set
    has changed since (a colleague added or archived a row), nothing is done and the person is told,
    rather than acting on rows they never saw. None when refused (the message is queued).
    """
    filters = read_filters(QueryDict(request.POST.get("filters", "")[:1000]))
    matching = filter_relations(scoped(request, Relation.objects.all()), filters, user=request.user)
    rows = list(matching.only("pk", "public_id")[: COUNT_CAP + 1])
    if len(rows) > COUNT_CAP:
        messages.error(
            request,
            _("More than %(cap)s relations match: narrow the filters first. Nothing was changed.")
            % {"cap": number_format(COUNT_CAP, force_grouping=True)},
        )
        return None
    if request.POST.get("expected") != str(len(rows)):
        messages.error(
            request,
            _(
                "%(count)s relations match these filters now, not %(expected)s: the list changed "
                "since you looked. Nothing was changed."
            )
            % {"count": len(rows), "expected": request.POST.get("expected", "")[:12]},
        )
        return None
    if not rows:
        messages.error(request, _("Select at least one relation first. Nothing was changed."))
        return None
    return rows


def _hints(relations: list[Relation]) -> dict[int, str]:
    """What tells each reported row from a namesake (kind, type, code, city, e-mail), as it is
    after the action: one query for the lot (a report holds up to BULK_REPORT_LIMIT rows)."""
    shown = relations[:BULK_REPORT_LIMIT]
    rows = Relation.objects.filter(pk__in=[r.pk for r in shown]).annotate(city=preferred_city())
    return {
        relation.pk: relation_hint(relation, relation.city)
        for relation in rows.only("kind", "entity", "client_code", "email")
    }


@require_POST
@change_required
def bulk(request: MemberRequest) -> HttpResponse:
    next_url = _safe_next(request)
    action_name = request.POST.get("action", "")
    action = BULK_ACTIONS.get(action_name)
    if action is None:
        messages.error(request, _("Choose one of the bulk actions."))
        return HttpResponseRedirect(next_url)
    if request.POST.get("scope") == "matching":
        found = _all_matching(request)
        if found is None:
            return HttpResponseRedirect(next_url)
        ids = [r.public_id for r in found]
        invalid: list[str] = []
        submitted = [str(i) for i in ids]
    else:
        submitted = request.POST.getlist("ids")
        if not submitted:
            messages.error(request, _("Select at least one relation first. Nothing was changed."))
            return HttpResponseRedirect(next_url)
        ids, invalid = _selected_ids(submitted)
        # Only the current practice's rows are loaded: another practice's id is "not found".
        found = list(
            scoped(request, Relation.objects.all())
            .filter(public_id__in=ids)
            .only("pk", "public_id")
        )
    found_ids = {relation.public_id for relation in found}
    not_found = [str(i) for i in ids if i not in found_ids] + invalid
    options = {}
    if action_name == "archive":
        if request.POST.get("confirmed") != "1":
            return _confirm_archive(request, next_url, submitted, found, not_found)
        # The confirm page listed the agreements that end: confirming it ends them.
        options["end_running"] = True
    elif action_name == "assign_team":
        # The role and the member are chosen on the confirm page (the list stays as light as it is).
        form = TeamMemberForm(
            request.POST if is_confirmed(request) else None,
            practice=request.membership.practice,
            auto_id="bulk_%s",
        )
        if not (is_confirmed(request) and form.is_valid()):
            return _ask_bulk(request, action, ids, invalid, next_url, form=form)
        options = {"member": form.cleaned_data["member"], "role": form.cleaned_data["role"]}
    elif action.preview is not None and not is_confirmed(request):
        return _ask_bulk(request, action, ids, invalid, next_url)
    try:
        result = action.service(
            practice=request.membership.practice, user=request.user, relations=found, **options
        )
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
        return HttpResponseRedirect(next_url)
    # Fresh data is fast data (practice.db): thousands of rows changed at once are what
    # autovacuum would analyse next, where it runs; here at once, and on every server.
    analyze_after_change(len(result.done), Relation, ServiceAgreement)

    hints = _hints([r for r in result.done] + [r for r, _reason in result.skipped])
    done = [
        [r.display_name, r.client_code, _outcome(action, result, r), hints.get(r.pk, "")]
        for r in result.done
    ]
    skipped = [[r.display_name, str(reason), hints.get(r.pk, "")] for r, reason in result.skipped]
    skipped += [[value[:64], _("not found"), ""] for value in not_found]
    shown_done = done[:BULK_REPORT_LIMIT]
    shown_skipped = skipped[: BULK_REPORT_LIMIT - len(shown_done)]
    request.session[BULK_RESULT_KEY] = {
        "practice": request.membership.practice_id,
        "action": str(action.label),
        "outcome": str(action.outcome),
        "done": shown_done,
        "skipped": shown_skipped,
        "not_shown": len(done) + len(skipped) - len(shown_done) - len(shown_skipped),
    }
    summary = action.summary % {"done": len(done), "skipped": len(skipped)}
    if skipped:
        messages.warning(request, summary)
    else:
        messages.success(request, summary)
    return HttpResponseRedirect(next_url)


def _ask_bulk(
    request: MemberRequest,
    action: BulkAction,
    ids: list[uuid.UUID],
    invalid: list[str],
    next_url: str,
    form: forms.Form | None = None,
) -> HttpResponse:
    """The bulk action's confirm page: each selected row with what will happen to it (and the
    choices the action still needs, `form`, posted along)."""
    assert action.preview is not None
    found = {
        relation.public_id: relation
        for relation in scoped(request, Relation.objects.all())
        .filter(public_id__in=ids)
        .only("public_id", "display_name", "kind", "archived_at")
    }
    not_found = _("Skipped: %(reason)s") % {"reason": _("not found")}
    rows = [
        (found[i].display_name, action.preview(found[i])) if i in found else (str(i), not_found)
        for i in ids
    ] + [(value[:64], not_found) for value in invalid]
    shown = rows[:BULK_REPORT_LIMIT]
    details = []
    if len(rows) > len(shown):
        details.append(
            _("%(count)s more selected relations are not listed here.")
            % {"count": len(rows) - len(shown)}
        )
    hidden = [("action", request.POST["action"]), ("next", next_url)]
    hidden += [("ids", str(i)) for i in ids]
    return ask(
        request,
        Confirmation(
            title=str(action.label),
            question=str(action.question),
            button=str(action.label),
            cancel_url=next_url,
            details=details,
            rows=shown,
            hidden=hidden,
            danger=False,
            form=form,
        ),
    )


def _outcome(action: BulkAction, result: services.BulkResult, relation: Relation) -> str:
    """One row of the report: the action's outcome, and for archiving what it did to agreements."""
    said = [str(action.outcome)]
    if ended := result.ended.get(relation.pk):
        said.append(
            ngettext(
                "%(count)d agreement ended (%(agreements)s)",
                "%(count)d agreements ended (%(agreements)s)",
                len(ended),
            )
            % {"count": len(ended), "agreements": ", ".join(str(a) for a in ended)}
        )
    if cancelled := result.cancelled.get(relation.pk):
        said.append(
            ngettext(
                "%(count)d agreement not started yet cancelled (%(agreements)s)",
                "%(count)d agreements not started yet cancelled (%(agreements)s)",
                len(cancelled),
            )
            % {"count": len(cancelled), "agreements": ", ".join(str(a) for a in cancelled)}
        )
    return "; ".join(said)


def _confirm_archive(
    request: MemberRequest,
    next_url: str,
    submitted: list[str],
    found: list[Relation],
    not_found: list[str],
) -> HttpResponse:
    """The bulk archive's confirm page, row by row: archived, with which agreements ended or
    cancelled, or skipped and why. Nothing changes until its form is posted (with `confirmed`)."""
    relations = list(
        Relation.objects.filter(pk__in=[r.pk for r in found]).order_by("display_name", "pk")
    )
    running, planned = services.agreements_archiving_stops(relations)
    rows: list[dict[str, Any]] = [
        {
            "relation": relation,
            "running": running.get(relation.pk, []),
            "planned": planned.get(relation.pk, []),
        }
        for relation in relations
    ]
    shown = rows[:BULK_REPORT_LIMIT]
    today = formats.date_format(timezone.localdate(), "SHORT_DATE_FORMAT")
    not_found_row = _("Skipped: %(reason)s") % {"reason": _("not found")}
    table = [
        (row["relation"].display_name, row["relation"].client_code, _archive_preview(row, today))
        for row in shown
    ] + [(value[:64], "", not_found_row) for value in not_found[: BULK_REPORT_LIMIT - len(shown)]]
    details = [
        _(
            "Archived relations are hidden from the list and the pickers. Nothing is deleted, here "
            "or in the ledger. Running agreements end today; agreements that have not started yet "
            "are cancelled."
        )
    ]
    if not_shown := max(0, len(rows) + len(not_found) - BULK_REPORT_LIMIT):
        details.append(
            ngettext(
                "%(counter)s more row not shown.", "%(counter)s more rows not shown.", not_shown
            )
            % {"counter": not_shown}
        )
    archived_count = sum(1 for row in rows if not row["relation"].is_archived)
    hidden = [("action", "archive"), ("next", next_url)] + [("ids", i) for i in submitted]
    return ask(
        request,
        Confirmation(
            title=ngettext(
                "Archive %(counter)s relation?", "Archive %(counter)s relations?", archived_count
            )
            % {"counter": archived_count},
            question="",
            button=_("Archive") if archived_count else "",
            cancel_url=next_url,
            cancel_label=_("Back"),
            list_url=next_url,
            details=details,
            columns=[_("Name"), _("Client code"), _("What will happen")],
            rows=table,
            hidden=hidden,
        ),
        next_url=next_url,
    )


def _archive_preview(row: dict[str, Any], today: str) -> str:
    """What archiving will do to one row of the bulk archive: skip it, or archive it and stop
    which agreements."""
    if row["relation"].is_archived:
        return _("Skipped: %(reason)s") % {"reason": _("already archived")}
    said = str(_("Will be archived"))
    if row["running"]:
        said += "; " + _("ends today (%(today)s):") % {"today": today}
        said += " " + ", ".join(str(a) for a in row["running"])
    if row["planned"]:
        said += (
            "; " + _("cancels (not started yet):") + " " + ", ".join(str(a) for a in row["planned"])
        )
    return said


# --- export --------------------------------------------------------------------------------------

# Between the members of a relation's team in the one column the export reads them from, and
# between a member's role and name: control characters no name holds.
TEAM_SEPARATOR = "\x1e"
ROLE_SEPARATOR = "\x1f"
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Column widths in the .xlsx (characters), in the order of `_export_labels()["header"]`.
XLSX_WIDTHS = (32, 10, 14, 10, 28, 16, 28, 10, 18, 8, 11, 16, 22, 24, 48, 10)


def neutralise(value: str) -> str:
    """A cell a spreadsheet will show as text, never evaluate."""
    return f"'{value}" if value.startswith(FORMULA_PREFIXES) else value


class _Echo:
    """csv.writer writes into this and hands the line straight back, for streaming."""

    def write(self, value: str) -> str:
        return value


def _member_name() -> Any:
    """A team member as `get_full_name() or username`, in SQL."""
    full = Trim(Concat("user__first_name", Value(" "), "user__last_name"))
    return Coalesce(NullIf(full, Value("")), "user__username")


# name, kind, entity, code, e-mail, phone, address (JSON), KvK, btw-id, IBAN, team, archived at.
type ExportRow = tuple[str, str, str, str, str, str, Any, str, str, Any, Any, datetime | None]


def _export_columns(relations: QuerySet[Relation]) -> QuerySet[Any, ExportRow]:
    """The export's rows: every column in the one query, so a practice of any size is read in the
    same few queries, streamed in chunks. values_list names every column: the BSN (and anything
    else sensitive) is never even selected."""
    address = preferred_address_of().values(
        json=JSONObject(
            street="street",
            house_number="house_number",
            house_number_addition="house_number_addition",
            postcode="postcode",
            city="city",
            country="country",
        )
    )[:1]
    iban = (
        BankAccount.objects.filter(relation=OuterRef("pk"))
        .order_by("-is_default", "pk")
        .values("iban")[:1]
    )
    team = (
        TeamAssignment.objects.filter(relation=OuterRef("pk"))
        .order_by()
        .values("relation")
        .annotate(
            members=StringAgg(
                Concat("role", Value(ROLE_SEPARATOR), _member_name()), Value(TEAM_SEPARATOR)
            )
        )
        .values("members")
    )
    return relations.annotate(
        address=Subquery(address, output_field=JSONField()),
        iban=Subquery(iban),
        members=Subquery(team),
    ).values_list(
        "display_name",
        "kind",
        "entity",
        "client_code",
        "email",
        "phone",
        "address",
        "kvk_number",
        "vat_number",
        "iban",
        "members",
        "archived_at",
    )


def _team_cells(members: str | None, roles: dict[str, str]) -> tuple[str, str]:
    """(the relationship managers, everyone with their role), in the order of the roles."""
    if not members:
        return "", ""
    order = {role: n for n, role in enumerate(roles)}
    team = sorted(
        (part.partition(ROLE_SEPARATOR)[::2] for part in members.split(TEAM_SEPARATOR)),
        key=lambda member: (order.get(member[0], len(order)), member[1].casefold()),
    )
    managers = ", ".join(name for role, name in team if role == MANAGER_KEY)
    everyone = ", ".join(f"{name} ({roles.get(role, role)})" for role, name in team)
    return managers, everyone


def _export_rows(relations: QuerySet[Relation], labels: dict[str, Any]) -> Iterator[list[str]]:
    kinds, entities, roles = labels["kinds"], labels["entities"], labels["roles"]
    archived, active = labels["archived"], labels["active"]
    yield labels["header"]
    rows = _export_columns(relations)
    for (
        name,
        kind,
        entity,
        code,
        email,
        phone,
        address,
        kvk,
        vat,
        iban,
        members,
        archived_at,
    ) in rows.iterator(chunk_size=CSV_CHUNK_SIZE):
        address = address or {}
        street = Address(
            street=address.get("street") or "",
            house_number=address.get("house_number") or "",
            house_number_addition=address.get("house_number_addition") or "",
        ).street_line
        managers, team = _team_cells(members, roles)
        yield [
            name,
            kinds.get(kind, kind),
            entities.get(entity, entity),
            code,
            email,
            phone,
            street,
            address.get("postcode") or "",
            address.get("city") or "",
            address.get("country") or "",
            kvk,
            vat,
            iban or "",
            managers,
            team,
            archived if archived_at else active,
        ]


def _export_labels(practice: Practice) -> dict[str, Any]:
    """Translated now: the rows are produced after the view returns, while the response streams."""
    return {
        "header": [
            _("Name"),
            _("Kind"),
            _("Type"),
            _("Client code"),
            _("E-mail"),
            _("Phone"),
            _("Address"),
            _("Postcode"),
            _("City"),
            _("Country"),
            _("KvK number"),
            _("VAT number"),
            _("IBAN"),
            _("Relationship manager"),
            _("Team"),
            _("Status"),
        ],
        "kinds": {value: str(label) for value, label in Relation.Kind.choices},
        "entities": {value: str(label) for value, label in Relation.Entity.choices},
        # The office's own roles, in its order.
        "roles": {role.key: role.label for role in TeamRole.objects.filter(practice=practice)},
        "archived": _("Archived"),
        "active": _("Active"),
    }


def _export_filename(extension: str) -> str:
    return f"relations-{timezone.localdate():%Y-%m-%d}.{extension}"


def _exported(request: MemberRequest) -> Iterator[list[str]]:
    filters = read_filters(request.GET)
    relations = filter_relations(
        scoped(request, Relation.objects.all()), filters, user=request.user
    )
    return _export_rows(relations, _export_labels(request.membership.practice))


@require_GET
@member_required
def export_csv(request: MemberRequest) -> StreamingHttpResponse:
    """CSV as Dutch Excel opens it: UTF-8 behind a byte order mark (without one Excel reads
    "CafÃ©"), cells separated by ";" (the list separator of a Dutch Windows, where "," is the
    decimal comma), every cell that could start a formula made text."""
    rows = _exported(request)
    writer = csv.writer(_Echo(), delimiter=";")

    def lines() -> Iterator[str]:
        yield "\ufeff"
        for row in rows:
            yield writer.writerow([neutralise(cell) for cell in row])

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{_export_filename("csv")}"'
    return response


def _xlsx_cell(sheet: Any, value: str) -> Any:
    """A cell that holds `value` as text: never a formula, whatever it starts with (openpyxl
    would make "=…" one), and without the control characters a workbook cannot hold."""
    value = ILLEGAL_CHARACTERS_RE.sub("", value)
    if not value:
        return None
    if not value.startswith("="):
        return value  # openpyxl types any other string as text
    cell = WriteOnlyCell(sheet, value=value)
    cell.data_type = "s"
    return cell


@require_GET
@member_required
def export_xlsx(request: MemberRequest) -> FileResponse:
    """The same rows as an Excel workbook. Written in openpyxl's write-only mode, which puts rows
    in a temporary file as they come: memory stays flat however many rows (10,000+) there are.
    Values are typed text, so nothing needs a leading quote: a phone number stays "+31 …"."""
    rows = _exported(request)
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=_("Relations")[:31])
    sheet.freeze_panes = "A2"
    for index, width in enumerate(XLSX_WIDTHS):
        sheet.column_dimensions[chr(ord("A") + index)].width = width
    bold = Font(bold=True)
    header = []
    for label in next(rows):
        cell = WriteOnlyCell(sheet, value=ILLEGAL_CHARACTERS_RE.sub("", label))
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    for row in rows:
        sheet.append([_xlsx_cell(sheet, value) for value in row])
    # Spooled: in memory while small, on disk beyond; FileResponse streams and closes it.
    output = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115
    workbook.save(output)
    output.seek(0)
    return FileResponse(
        output,
        as_attachment=True,
        filename=_export_filename("xlsx"),
        content_type=XLSX_CONTENT_TYPE,
    )
