"""One relation: create, show (with its tabs), edit, convert, archive and restore."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any
from uuid import UUID

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import formats, timezone
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from practice.access import change_required, member_required
from practice.confirm import Confirmation, ask, is_confirmed
from practice.http import MemberRequest
from relations import extensions, services
from relations.forms import (
    ConvertToCompanyForm,
    ConvertToPrivateForm,
    Merge,
    RelationForm,
)
from relations.models import (
    COMPANY_FIELDS,
    PRIVATE_FIELDS,
    Relation,
    ServiceAgreement,
)
from relations.views import inline, listing
from relations.views.common import get_relation, relation_action
from relations.views.tabs import archiving_stops

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


def tabs_for(relation: Relation) -> list[tuple[str, StrOrPromise]]:
    """The detail page's tabs in order, as (slug, label): relations.extensions' registry."""
    return [(tab.slug, tab.label) for tab in extensions.tabs_for(relation)]


def _render_detail(
    request: MemberRequest, relation: Relation, slug: str, *, bsn_revealed: bool = False
) -> HttpResponse:
    tabs = extensions.tabs_for(relation)
    tab = next((tab for tab in tabs if tab.slug == slug), None)
    if tab is None:
        return redirect(relation)
    can_change = request.membership.can_change
    # The way back to the list the person came from, with its filters; carried along the tabs.
    list_url = listing.list_url_from_back(request.GET.get("back", ""))
    back = listing.back_param(list_url)
    context = {
        "relation": relation,
        "tab": slug,
        "tabs": [(t.slug, t.label, inline.tab_url(relation, t.slug) + back) for t in tabs],
        "tab_template": tab.template,
        "list_url": list_url,
        "back_param": back.removeprefix("?"),
        "can_change": inline.can_change(request, relation),
        "can_archive": can_change,
        "bsn_revealed": bsn_revealed,
        "header_actions": [
            {"template": action.template, **action.context(request, relation)}
            for action in extensions.header_actions
            if can_change and action.applies(relation)
        ],
        **tab.context(request, relation),
    }
    if context["can_change"]:
        context["archive_question"] = archive_question(relation, *archiving_stops(relation))
    response = render(request, "relations/detail.html", context)
    if bsn_revealed:
        response["Cache-Control"] = "no-store"
    return response


@require_GET
@member_required
def detail(request: MemberRequest, public_id: UUID, tab: str = "overview") -> HttpResponse:
    relation = get_relation(request, public_id)
    return _render_detail(request, relation, tab)


def _duplicate_check(request: MemberRequest, form: RelationForm, relation: Relation) -> bool:
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
def new(request: MemberRequest) -> HttpResponse:
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
    finder = _company_finder(request.membership.practice_id, entity)
    if finder and request.method == "POST" and request.POST.get("kvk_lookup"):
        form, proposal = propose_company(request, finder, kind=kind, entity=entity)
        return render(
            request,
            "relations/form.html",
            {
                "form": form,
                "kind": kind,
                "entity": entity,
                "relation": None,
                "kvk_lookup": finder,
                "proposal": proposal,
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
        {"form": form, "kind": kind, "entity": entity, "relation": None, "kvk_lookup": finder},
    )


def _company_finder(practice_id: int, entity: str | None) -> extensions.CompanyFinder | None:
    if entity != Relation.Entity.COMPANY:
        return None
    return extensions.company_finder_for(practice_id)


KEPT_AS_POSTED = ("version", "loaded")


def propose_company(
    request: MemberRequest,
    finder: extensions.CompanyFinder,
    *,
    kind: str,
    entity: str,
    instance: Relation | None = None,
) -> tuple[RelationForm, dict[str, Any]]:
    """ "Fetch from KvK" (a submit button, so it works without JavaScript): the form again with
    what was typed, and beside it what the KvK holds for the KvK number, field by field, each
    with a box to take it (ticked where nothing was typed). "Use the chosen values" (kvk_lookup=
    take) puts the ticked ones in the form. Nothing is saved, nothing typed is overwritten unasked."""
    posted = request.POST
    kwargs: dict[str, Any] = {"kind": kind, "entity": entity}
    if instance is not None:
        kwargs["instance"] = instance
    probe = RelationForm(None, **kwargs)
    initial: dict[str, Any] = {}
    for name, field in probe.fields.items():
        if name == "confirm_duplicates":
            continue
        if name in KEPT_AS_POSTED:
            initial[name] = posted.get(name, probe[name].initial)
        elif isinstance(field, forms.BooleanField):
            initial[name] = bool(posted.get(name))
        elif isinstance(field, forms.MultipleChoiceField):
            initial[name] = posted.getlist(name)
        else:
            initial[name] = posted.get(name, "")
    proposal: dict[str, Any] = {"level": "error", "rows": [], "source": finder.source}
    number = "".join(str(initial.get("kvk_number", "")).split())
    practice_id = request.membership.practice_id
    take = posted.get("kvk_lookup") == "take"
    if not number:
        proposal["message"] = _("Fill in the KvK number first.")
    else:
        try:
            found = finder.find(practice_id, number)
        except extensions.LookupFailed as exc:
            proposal["message"] = (
                _("This is not a KvK number.")
                if exc.refused
                else _("The KvK is not available right now; fill in the fields yourself.")
            )
        else:
            if found is None:
                proposal["message"] = _("The KvK knows no company with this number.")
            else:
                proposal["level"] = "success"
                for name, value in found.items():
                    if name not in probe.fields or name in KEPT_AS_POSTED:
                        continue
                    typed = str(initial.get(name) or "").strip()
                    if typed == value:
                        continue
                    if take:
                        if posted.get(f"take_{name}"):
                            initial[name] = value
                        continue
                    field = probe.fields[name]
                    shown = dict(getattr(field, "choices", [])).get(value, value)
                    label = capfirst(field.label or name)
                    proposal["rows"].append((name, label, typed, shown, not typed))
                proposal["message"] = (
                    _("The chosen values are in the form: check them and save.")
                    if take
                    else _(
                        "The KvK holds this for %(number)s. Tick what to take and choose "
                        "“Use the chosen values”; nothing is saved yet."
                    )
                    % {"number": number}
                )
                if not take and not proposal["rows"]:
                    proposal["message"] = _("The form already holds what the KvK has.")
    form = RelationForm(None, initial=initial, **kwargs)
    return form, proposal


def _explain_conflict(form: RelationForm, current: Relation, merge: Merge) -> None:
    """Both changed the same field. Nothing is saved: the form shows this person's values for the
    fields they changed and the other person's saved values for every other field, names only the
    fields both changed (with what the other person saved), and carries the current version, so
    that saving again keeps both people's work."""
    form.show_conflict(current, merge)
    who = current.updated_by
    name = (who.get_full_name() or who.get_username()) if who else _("Someone")
    labels = ", ".join(str(label) for label, _value in form.conflicting)
    form.add_error(
        None,
        _(
            "%(who)s changed this relation meanwhile, and changed the same fields as you: "
            "%(fields)s. Nothing was saved yet. Your values are in the form, what %(who)s saved "
            "is shown below; every other field already holds the current value. Check them and "
            "save again."
        )
        % {"who": name, "fields": labels},
    )


def _save_edit(form: RelationForm, relation: Relation, user) -> tuple[Relation, Merge]:
    """Save what this person changed over the record as it is now; `merge.conflicts` non-empty
    when both changed the same field (then nothing is saved)."""
    version = form.cleaned_data.get("version") or 0
    while True:
        with transaction.atomic():
            current = (
                Relation.objects.select_for_update(of=("self",))
                .select_related("updated_by")
                .get(pk=relation.pk)
            )
            merge = form.merge_with(current, base_is_current=current.version == version)
            if merge.conflicts or not merge.mine:
                return current, merge
            for name in merge.mine:
                setattr(current, name, form.cleaned_data[name])
            try:
                services.update_relation(
                    relation=current, user=user, version=current.version, changed=merge.mine
                )
            except services.StaleVersion:
                continue  # saved by someone else between the read and the write: merge again
            return current, merge


@sensitive_post_parameters("bsn")
@require_http_methods(["GET", "POST"])
@change_required
def edit(request: MemberRequest, public_id: UUID) -> HttpResponse:
    relation = get_relation(request, public_id, change=True)
    if refused := inline.refuse_if_archived(request, relation, "overview"):
        return refused
    finder = _company_finder(relation.practice_id, relation.entity)
    if finder and request.method == "POST" and request.POST.get("kvk_lookup"):
        form, proposal = propose_company(
            request, finder, kind=relation.kind, entity=relation.entity, instance=relation
        )
        return render(
            request,
            "relations/form.html",
            {
                "form": form,
                "kind": relation.kind,
                "entity": relation.entity,
                "relation": relation,
                "kvk_lookup": finder,
                "proposal": proposal,
            },
        )
    form = RelationForm(
        request.POST if request.method == "POST" else None,
        instance=relation,
        kind=relation.kind,
        entity=relation.entity,
    )
    conflict = None
    if request.method == "POST" and form.is_valid() and _duplicate_check(request, form, relation):
        try:
            current, merge = _save_edit(form, relation, request.user)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            if merge.conflicts:
                conflict = current
                _explain_conflict(form, current, merge)
            else:
                messages.success(request, _("%(name)s has been saved.") % {"name": current})
                for _name, label, problems in form.warnings:
                    messages.warning(
                        request,
                        _(
                            "%(field)s was kept as it was, but Kring would not accept it: %(problem)s"
                        )
                        % {"field": label, "problem": " ".join(problems)},
                    )
                services.settle_review(
                    relation=current,
                    checked=set(form.fields),
                    still_invalid={name for name, _label, _problems in form.warnings},
                )
                return redirect(current)
    return render(
        request,
        "relations/form.html",
        {
            "form": form,
            "kind": relation.kind,
            "entity": relation.entity,
            "relation": relation,
            "conflict": conflict,
            "kvk_lookup": finder,
        },
    )


def _single(result: services.BulkResult) -> None:
    """A one-row use of a bulk service: a skipped row is a refusal the person should read."""
    for _relation, reason in result.skipped:
        raise ValidationError(reason)


@require_POST
@change_required
def convert_to_client(request: MemberRequest, public_id: UUID) -> HttpResponse:
    practice = request.membership.practice
    return relation_action(
        request,
        public_id,
        lambda r: _single(
            services.convert_to_client(practice=practice, user=request.user, relations=[r])
        ),
        _("%(name)s is now a client."),
    )


def _field_values(relation: Relation, names: tuple[str, ...]) -> list[tuple[str, str]]:
    """(label, shown value) of each of `names` that holds a value on the row."""
    rows = []
    for name in services.kept_fields(relation, names):
        field = Relation._meta.get_field(name)
        label = getattr(field, "verbose_name", name)  # a relation's own field, never a reverse one
        display = getattr(relation, f"get_{name}_display", None)
        value = display() if display else getattr(relation, name)
        if name == "bsn":
            value = relation.masked_bsn
        elif isinstance(value, date):
            value = formats.date_format(value, "SHORT_DATE_FORMAT")
        rows.append((capfirst(str(label)), str(value)))
    return rows


def _proposed_names(relation: Relation) -> dict[str, str]:
    """The person's names to offer: the row's own (it was a person before), else the company's
    one current director who is a private person (a sole trader's owner). Never the legal name."""
    if relation.last_name:
        return {
            "first_name": relation.first_name,
            "name_prefix": relation.name_prefix,
            "last_name": relation.last_name,
        }
    owner = extensions.owner_of(relation)
    if owner is None:
        return {}
    return {name: getattr(owner, name) for name in ("first_name", "name_prefix", "last_name")}


def _ledger_line(relation: Relation, name: str) -> str:
    if not relation.is_client:
        return _("This is a contact: it is not in the ledger, so nothing is sent there.")
    if name:
        return _("The ledger gets the name “%(name)s”.") % {"name": name}
    return _("The ledger gets the name made of the names filled in.")


def _conversion_done(request: MemberRequest, relation: Relation, message: str) -> HttpResponse:
    relation.refresh_from_db()
    messages.success(request, message % {"name": relation})
    return redirect(relation)


def _service_errors(form, exc: ValidationError) -> bool:
    """A field's refusal goes beside the field (True); any other is a message for the page."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
        return True
    return False


def _convert(request: MemberRequest, relation: Relation, form, service, done: str):
    """Run a confirmed conversion with the names of its form: done → the relation's page; a refusal
    of a field → None, so the step is shown again with the error beside the field; any other
    refusal → a message on the relation's page."""
    try:
        service(relation=relation, user=request.user, **form.cleaned_data)
    except ValidationError as exc:
        if _service_errors(form, exc):
            return None
        for message in exc.messages:
            messages.error(request, message)
        return redirect(relation)
    return _conversion_done(request, relation, done)


@require_http_methods(["GET", "POST"])
@change_required
def convert_to_private(request: MemberRequest, public_id: UUID) -> HttpResponse:
    """Company → private person, after a confirmation step that asks for the person's names."""
    relation = get_relation(request, public_id, change=True)
    if not relation.is_company:
        messages.error(request, _("This relation is already a private person."))
        return redirect(relation)
    refusal = services.private_refusal(relation)
    confirmed = is_confirmed(request)
    form = ConvertToPrivateForm(
        request.POST if confirmed else None, initial=_proposed_names(relation)
    )
    if confirmed and refusal:
        messages.error(request, refusal)
        return redirect(relation)
    if confirmed and form.is_valid():
        done = _convert(
            request,
            relation,
            form,
            services.convert_to_private,
            _(
                "%(name)s is now a private person. The company details are kept in case it "
                "changes back."
            ),
        )
        if done:
            return done
    names = {n: form[n].value() or "" for n in ("first_name", "name_prefix", "last_name")}
    preview = Relation(entity=Relation.Entity.PRIVATE, initials=relation.initials, **names)
    return ask(
        request,
        Confirmation(
            title=_("Convert to private person"),
            question=_("Convert %(name)s to a private person?") % {"name": relation},
            button=_("Convert to private person"),
            cancel_url=relation.get_absolute_url(),
            relation=relation,
            details=[
                _(
                    "Fill in the person's names. The company details below stay stored, hidden "
                    "while this is a private person, and come back if it becomes a company again; "
                    "the timeline records which were kept."
                ),
                _ledger_line(relation, preview.compose_display_name()),
            ],
            listed=_field_values(relation, COMPANY_FIELDS),
            listed_title=_("Kept, hidden while a private person"),
            form=form,
            refusal=refusal,
            danger=False,
        ),
    )


@require_http_methods(["GET", "POST"])
@change_required
def convert_to_company(request: MemberRequest, public_id: UUID) -> HttpResponse:
    """Private person → company, after a confirmation step that asks for the legal name."""
    relation = get_relation(request, public_id, change=True)
    if relation.is_company:
        messages.error(request, _("This relation is already a company."))
        return redirect(relation)
    confirmed = is_confirmed(request)
    proposal = relation.legal_name or relation.trade_name or relation.display_name
    form = ConvertToCompanyForm(
        request.POST if confirmed else None, initial={"legal_name": proposal}
    )
    if confirmed and form.is_valid():
        done = _convert(
            request, relation, form, services.convert_to_company, _("%(name)s is now a company.")
        )
        if done:
            return done
    preview = Relation(
        entity=Relation.Entity.COMPANY,
        trade_name=relation.trade_name,
        legal_name=form["legal_name"].value() or "",
    )
    return ask(
        request,
        Confirmation(
            title=_("Convert to company"),
            question=_("Convert %(name)s to a company?") % {"name": relation},
            button=_("Convert to company"),
            cancel_url=relation.get_absolute_url(),
            relation=relation,
            details=[
                _(
                    "Fill in the company's legal name. The personal details below stay stored, "
                    "hidden while this is a company, and come back if it becomes a private person "
                    "again; the timeline records which were kept."
                ),
                _ledger_line(relation, preview.compose_display_name()),
            ],
            listed=_field_values(relation, PRIVATE_FIELDS),
            listed_title=_("Kept, hidden while a company"),
            form=form,
            danger=False,
        ),
    )


def _agreement_names(agreements) -> str:
    return ", ".join(str(a) for a in agreements)


def archive_outcome(result: services.BulkResult, relation: Relation) -> list[str]:
    """What archiving did to a relation's agreements, in sentences (empty when it had none)."""
    said = []
    if ended := result.ended.get(relation.pk):
        said.append(_("Ended: %(agreements)s.") % {"agreements": _agreement_names(ended)})
    if cancelled := result.cancelled.get(relation.pk):
        said.append(
            _("Cancelled (not started yet): %(agreements)s.")
            % {"agreements": _agreement_names(cancelled)}
        )
    return said


def archive_question(relation: Relation, ended: list, cancelled: list) -> str:
    """The header's Archive dialog question (data-confirm): what archiving stops, by name."""
    said = [_("Archive %(name)s?") % {"name": relation.display_name}]
    if ended:
        said.append(_("Ends today: %(agreements)s.") % {"agreements": _agreement_names(ended)})
    if cancelled:
        said.append(
            _("Cancelled (not started yet): %(agreements)s.")
            % {"agreements": _agreement_names(cancelled)}
        )
    return " ".join(said)


def _archive_confirmation(relation: Relation) -> Confirmation:
    """Archiving asks first, naming the running agreements it ends today and the planned ones it
    cancels (the header's dialog names them too: `archive_question`)."""
    running, planned = archiving_stops(relation)
    today = formats.date_format(timezone.localdate(), "SHORT_DATE_FORMAT")
    lists = []
    if running:
        heading = ngettext(
            "This running agreement will end today (%(today)s):",
            "These running agreements will end today (%(today)s):",
            len(running),
        )
        lists.append((heading % {"today": today}, [_agreement_line(a) for a in running]))
    if planned:
        heading = ngettext(
            "This agreement has not started yet and will be cancelled:",
            "These agreements have not started yet and will be cancelled:",
            len(planned),
        )
        lists.append((heading, [_agreement_line(a) for a in planned]))
    details = [
        _(
            "An archived relation is hidden from the list and the pickers and can no longer be "
            "changed. Nothing is deleted, here or in the ledger; restoring brings it back."
        )
    ]
    if relation.is_client and not running and not planned:
        details.append(_("No agreements are running: none will end."))
    return Confirmation(
        title=_("Archive"),
        question=_("Archive %(name)s?") % {"name": relation.display_name},
        button=_("Archive and stop these agreements") if lists else _("Archive"),
        cancel_url=relation.get_absolute_url(),
        cancel_label=_("Back"),
        relation=relation,
        details=details,
        lists=lists,
    )


def _agreement_line(agreement: ServiceAgreement) -> str:
    """An agreement archiving stops: since when it runs (and till when it was to), or when it
    would have started."""
    start = formats.date_format(agreement.start_date, "SHORT_DATE_FORMAT")
    if agreement.status() == ServiceAgreement.Status.PLANNED:
        said = [_("would start on %(start)s") % {"start": start}]
    else:
        said = [_("since %(start)s") % {"start": start}]
        if agreement.end_date:
            end = formats.date_format(agreement.end_date, "SHORT_DATE_FORMAT")
            said.append(_("was to end on %(end)s") % {"end": end})
    return " · ".join([agreement.get_service_display(), *said])


@require_http_methods(["GET", "POST"])
@change_required
def archive(request: MemberRequest, public_id: UUID) -> HttpResponse:
    """A GET, or a POST without confirmed=1, shows the confirm page: the running agreements archiving
    ends and the planned ones it cancels; nothing changes. The confirmed POST (from that page, or from
    the header's dialog, which names them too) archives and ends them, in one transaction."""
    relation = get_relation(request, public_id, change=True)
    if refused := inline.refuse_if_archived(request, relation, "overview"):
        return refused
    if not is_confirmed(request):
        return ask(request, _archive_confirmation(relation))
    result = services.archive(
        practice=request.membership.practice,
        user=request.user,
        relations=[relation],
        end_running=True,
    )
    if result.skipped:
        for _relation, reason in result.skipped:
            messages.error(request, f"{relation}: {reason}")
        return redirect("relations-archive", public_id=relation.public_id)
    relation.refresh_from_db()
    said = [
        _("%(name)s has been archived.") % {"name": relation},
        *archive_outcome(result, relation),
    ]
    messages.success(request, " ".join(said))
    return redirect(relation)


@require_POST
@change_required
def restore(request: MemberRequest, public_id: UUID) -> HttpResponse:
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
def reveal_bsn(request: MemberRequest, public_id: UUID) -> HttpResponse:
    """Show the full BSN in this one response (never stored in a page cache); the reveal is logged."""
    relation = get_relation(request, public_id, change=True)
    if not relation.bsn:
        return redirect(relation)
    services.reveal_bsn(relation=relation, user=request.user)
    if request.htmx:
        return render(
            request,
            "relations/tabs/overview.html#bsn",
            {"relation": relation, "bsn_revealed": True},
        )
    return _render_detail(request, relation, "overview", bsn_revealed=True)
