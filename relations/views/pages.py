"""One relation: create, show (with its tabs), edit, convert, archive and restore."""

from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from practice.access import change_required, member_required
from relations import extensions, services
from relations.forms import NOT_REMEMBERED, RelationForm
from relations.models import Address, Relation, ServiceAgreement, TeamAssignment
from relations.views import parts, team
from relations.views.common import get_relation, relation_action

TIMELINE_PAGE_SIZE = 25


def tabs_for(relation: Relation) -> list[tuple[str, str]]:
    """The detail page's tabs in order; some exist only for companies or for clients.

    Apps above relations add theirs through relations.extensions (e.g. Connections after Bank accounts).
    """
    tabs = [("overview", _("Overview"))]
    if relation.is_company:
        tabs.append(("company", _("Company details")))
    tabs += [("addresses", _("Addresses")), ("banks", _("Bank accounts")), ("team", _("Team"))]
    if relation.is_client:
        tabs.append(("agreements", _("Agreements")))
    tabs.append(("timeline", _("Timeline")))
    for extra in extensions.tabs.values():
        if extra.applies(relation):
            slugs = [slug for slug, _label in tabs]
            position = slugs.index(extra.after) + 1 if extra.after in slugs else len(tabs) - 1
            tabs.insert(position, (extra.slug, extra.label))
    return tabs


def _tab_url(relation: Relation, tab: str) -> str:
    if tab == "overview":
        return relation.get_absolute_url()
    return reverse("relations-tab", args=[relation.public_id, tab])


def _render_detail(
    request: HttpRequest, relation: Relation, tab: str, *, bsn_revealed: bool = False
) -> HttpResponse:
    tabs = tabs_for(relation)
    if tab not in dict(tabs):
        return redirect(relation)
    can_change = request.membership.can_change
    context = {
        "relation": relation,
        "tab": tab,
        "tabs": [(slug, label, _tab_url(relation, slug)) for slug, label in tabs],
        "can_change": can_change and not relation.is_archived,
        "can_archive": can_change,
        "bsn_revealed": bsn_revealed,
        "header_actions": [
            {"template": action.template, **action.context(request, relation)}
            for action in extensions.header_actions
            if can_change and action.applies(relation)
        ],
    }
    if tab in extensions.tabs:
        extra = extensions.tabs[tab]
        context.update(extra.context(request, relation), extension_template=extra.template)
    elif tab in ("addresses", "banks", "agreements"):
        context.update(parts.tab_context(request, relation, tab))
    elif tab == "team":
        context.update(team.tab_context(request, relation))
    elif tab == "overview":
        # The visiting address, else the postal or invoice one: the one a person would look for.
        defaults = {a.type: a for a in relation.addresses.filter(is_default=True)}
        context["default_address"] = next(
            (defaults[t] for t in Address.Type.values if t in defaults), None
        )
        context["active_agreements"] = relation.agreements.active() if relation.is_client else []
    elif tab == "timeline":
        events = relation.timeline.select_related("actor", "other_relation", "agreement", "member")
        page = Paginator(events, TIMELINE_PAGE_SIZE).get_page(request.GET.get("page"))
        context["events"] = page
        for event in page:
            event.field_names = _field_names(event)
    response = render(request, "relations/detail.html", context)
    if bsn_revealed:
        response["Cache-Control"] = "no-store"
    return response


def _field_names(event) -> list[str]:
    """What an event lists after its title: changed fields by their label, or a team role."""
    if event.kind.startswith("team_"):
        roles = dict(TeamAssignment.Role.choices)
        return [str(roles.get(role, role)) for role in event.fields]
    labels = {f.name: f.verbose_name for f in Relation._meta.fields}
    labels.update({f.name: f.verbose_name for f in ServiceAgreement._meta.fields})
    return [str(labels.get(name, name)) for name in event.fields]


@require_GET
@member_required
def detail(request: HttpRequest, public_id: UUID, tab: str = "overview") -> HttpResponse:
    relation = get_relation(request, public_id)
    return _render_detail(request, relation, tab)


def _duplicate_check(request: HttpRequest, form: RelationForm, relation: Relation) -> bool:
    """True when the save may go on; otherwise the form carries a warning with links to look at."""
    if form.cleaned_data.get("confirm_duplicates"):
        return True
    form.duplicates = services.find_duplicates(
        practice=request.membership.practice, relation=relation
    )
    return not form.duplicates


@sensitive_post_parameters("bsn")
@require_http_methods(["GET", "POST"])
@change_required
def new(request: HttpRequest) -> HttpResponse:
    data = request.POST if request.method == "POST" else request.GET
    kind, entity = data.get("kind"), data.get("entity")
    if "choice" in data:
        kind, _sep, entity = data["choice"].partition(":")
    if kind not in Relation.Kind.values or entity not in Relation.Entity.values:
        # Step one: which of the four kinds of relation.
        return render(
            request,
            "relations/new.html",
            {
                "choices": [
                    (
                        "client",
                        "company",
                        _("Client — company"),
                        _("A business the office works for."),
                    ),
                    (
                        "client",
                        "private",
                        _("Client — private person"),
                        _("A private person the office works for, e.g. for the income-tax return."),
                    ),
                    (
                        "contact",
                        "private",
                        _("Contact — private person"),
                        _("A natural person, e.g. someone at a client company."),
                    ),
                    (
                        "contact",
                        "company",
                        _("Contact — company"),
                        _("A natural person registered as a business (sole trader, ZZP'er)."),
                    ),
                ]
            },
        )
    form = RelationForm(
        request.POST if request.method == "POST" else None, kind=kind, entity=entity
    )
    if request.method == "POST" and form.is_valid():
        relation = form.instance
        relation.practice = request.membership.practice
        if _duplicate_check(request, form, relation):
            try:
                services.create_relation(
                    practice=request.membership.practice, user=request.user, relation=relation
                )
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                messages.success(request, _("%(name)s has been created.") % {"name": relation})
                return redirect(relation)
    return render(
        request,
        "relations/form.html",
        {"form": form, "kind": kind, "entity": entity, "relation": None},
    )


def _explain_conflict(form: RelationForm, current: Relation) -> None:
    """Someone saved in between. Keep what this person changed; show every other field with the
    value saved meanwhile, so that saving again does not quietly revert the other person's work;
    and name the fields both changed, where this person's value is kept and must be checked."""
    fresh = RelationForm(instance=current, kind=current.kind, entity=current.entity)
    loaded = form.loaded_values()
    mine = form.changed_since_loaded()
    data = form.data.copy()
    saved_meanwhile = {}
    for name, field in form.fields.items():
        if name in NOT_REMEMBERED or field.disabled:
            continue
        value = fresh.get_initial_for_field(fresh.fields[name], name)
        if loaded is None or name not in loaded or field.has_changed(loaded[name], value):
            saved_meanwhile[name] = value
        if mine is not None and name not in mine:
            data[name] = "" if value is None else value
    data["version"] = str(current.version)
    data["loaded"] = fresh.remembered_values()
    form.data = data
    # What the other person saved that now differs from this form: where both changed a field,
    # this person's value is kept and is the one to check.
    form.conflicting = [
        (form[name].label, fresh[name].value())
        for name, value in saved_meanwhile.items()
        if form.fields[name].has_changed(value, form[name].data)
    ]
    who = current.updated_by
    name = (who.get_full_name() or who.get_username()) if who else _("Someone")
    form.add_error(
        None,
        _(
            "%(who)s changed this relation meanwhile. Your changes are kept below and were not "
            "saved; check them against the current values and save again."
        )
        % {"who": name},
    )


@sensitive_post_parameters("bsn")
@require_http_methods(["GET", "POST"])
@change_required
def edit(request: HttpRequest, public_id: UUID) -> HttpResponse:
    relation = get_relation(request, public_id, change=True)
    if relation.is_archived:
        messages.error(request, _("Restore this relation before changing it."))
        return redirect(relation)
    form = RelationForm(
        request.POST if request.method == "POST" else None,
        instance=relation,
        kind=relation.kind,
        entity=relation.entity,
    )
    conflict = None
    if request.method == "POST" and form.is_valid() and _duplicate_check(request, form, relation):
        try:
            services.update_relation(
                relation=relation,
                user=request.user,
                version=form.cleaned_data["version"] or 0,
                changed=form.changed_fields(),
            )
        except services.StaleVersion as stale:
            conflict = stale.current
            _explain_conflict(form, conflict)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("%(name)s has been saved.") % {"name": relation})
            for _name, label, problems in form.warnings:
                messages.warning(
                    request,
                    _("%(field)s was kept as it was, but Kring would not accept it: %(problem)s")
                    % {"field": label, "problem": " ".join(problems)},
                )
            services.settle_review(
                relation=relation,
                checked=set(form.fields),
                still_invalid={name for name, _label, _problems in form.warnings},
            )
            return redirect(relation)
    return render(
        request,
        "relations/form.html",
        {
            "form": form,
            "kind": relation.kind,
            "entity": relation.entity,
            "relation": relation,
            "conflict": conflict,
        },
    )


def _single(result: services.BulkResult) -> None:
    """A one-row use of a bulk service: a skipped row is a refusal the person should read."""
    for _relation, reason in result.skipped:
        raise ValidationError(reason)


@require_POST
@change_required
def convert_to_client(request: HttpRequest, public_id: UUID) -> HttpResponse:
    practice = request.membership.practice
    return relation_action(
        request,
        public_id,
        lambda r: _single(
            services.convert_to_client(practice=practice, user=request.user, relations=[r])
        ),
        _("%(name)s is now a client."),
    )


@require_POST
@change_required
def convert_to_private(request: HttpRequest, public_id: UUID) -> HttpResponse:
    return relation_action(
        request,
        public_id,
        lambda r: services.convert_to_private(relation=r, user=request.user),
        _(
            "%(name)s is now a private person. The company details are kept in case it changes back."
        ),
    )


@require_POST
@change_required
def convert_to_company(request: HttpRequest, public_id: UUID) -> HttpResponse:
    return relation_action(
        request,
        public_id,
        lambda r: services.convert_to_company(relation=r, user=request.user),
        _("%(name)s is now a company."),
    )


@require_POST
@change_required
def archive(request: HttpRequest, public_id: UUID) -> HttpResponse:
    practice = request.membership.practice
    return relation_action(
        request,
        public_id,
        lambda r: _single(services.archive(practice=practice, user=request.user, relations=[r])),
        _("%(name)s has been archived."),
    )


@require_POST
@change_required
def restore(request: HttpRequest, public_id: UUID) -> HttpResponse:
    practice = request.membership.practice
    return relation_action(
        request,
        public_id,
        lambda r: _single(services.restore(practice=practice, user=request.user, relations=[r])),
        _("%(name)s has been restored."),
    )


@require_POST
@change_required
@never_cache
def reveal_bsn(request: HttpRequest, public_id: UUID) -> HttpResponse:
    """Show the full BSN in this one response (never stored in a page cache); the reveal is logged."""
    relation = get_relation(request, public_id, change=True)
    if not relation.bsn:
        return redirect(relation)
    services.reveal_bsn(relation=relation, user=request.user)
    if request.htmx:
        return render(
            request, "relations/detail.html#bsn", {"relation": relation, "bsn_revealed": True}
        )
    return _render_detail(request, relation, "overview", bsn_revealed=True)
