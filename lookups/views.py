"""The relation's Tools tab: what public registers say about it, and its data to take elsewhere."""

from __future__ import annotations

import re
from typing import Any
from uuid import UUID

from django.contrib import messages
from django.http import HttpResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from schwifty import IBAN
from schwifty.exceptions import SchwiftyException

from lookups import links, services
from lookups.forms import RelationLinkForm
from lookups.models import LookupResult, OfficeLink, RelationLink
from lookups.vcard import vcard
from practice.access import get_scoped_or_404, member_required
from practice.http import MemberRequest
from relations.models import BankAccount, Relation
from relations.views import inline
from relations.views.common import get_relation


def bank_of(account: BankAccount) -> tuple[str, str]:
    """(bank name, BIC) of the IBAN from schwifty's offline registry; ("", "") when unknown."""
    try:
        iban = IBAN(account.iban)
        bank = iban.bank
        bic = str(iban.bic) if iban.bic else ""
    except (SchwiftyException, ValueError):
        return "", ""
    return (str(bank.name or "") if bank else ""), bic


def tools_tab_context(request: MemberRequest, relation: Relation) -> dict[str, Any]:
    vat_on = services.vat_adapter(relation.practice_id) is not None
    result = services.vat_result(relation) if relation.vat_number else None
    return {
        "vat_on": vat_on,
        "vat_result": result,
        "vat_status": LookupResult.Status,
        "can_check_vat": vat_on
        and bool(relation.vat_number)
        and inline.can_change(request, relation),
        "bank_rows": [(account, *bank_of(account)) for account in relation.bank_accounts.all()],
        "has_vcard": relation.entity == Relation.Entity.PRIVATE,
        "link_rows": links.links_for(relation),
        "can_change": inline.can_change(request, relation),
    }


@require_POST
@member_required
def vat_check(request: MemberRequest, public_id: UUID) -> HttpResponse:
    relation = get_relation(request, public_id, change=True)
    if refused := inline.refuse_if_archived(request, relation, "tools"):
        return refused
    if not relation.vat_number or services.vat_adapter(relation.practice_id) is None:
        messages.error(
            request, _("There is no VAT number to check, or no VAT check is configured.")
        )
    elif services.queue_vat_check(relation):
        messages.success(request, _("The VAT number is being checked at VIES."))
    else:
        messages.error(request, _("The VAT check could not be started; try again later."))
    return inline.back_to_tab(request, relation, "tools")


@require_GET
@member_required
def vcard_download(request: MemberRequest, public_id: UUID) -> HttpResponse:
    relation = get_relation(request, public_id)
    if relation.entity != Relation.Entity.PRIVATE:
        return inline.back_to_tab(request, relation, "tools")
    name = re.sub(r"[^A-Za-z0-9_-]+", "-", relation.display_name).strip("-")[:60] or "contact"
    response = HttpResponse(vcard(relation), content_type="text/vcard; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}.vcf"'
    return response


@require_POST
@member_required
def link_override(request: MemberRequest, public_id: UUID, pk: int) -> HttpResponse:
    """This relation's choice about an office link: shown or not, and another URL if wanted."""
    relation = get_relation(request, public_id, change=True)
    link = get_scoped_or_404(request, OfficeLink, pk=pk)
    if refused := inline.refuse_if_archived(request, relation, "tools"):
        return refused
    override = RelationLink.objects.filter(link=link, relation=relation).first()
    form = RelationLinkForm(
        request.POST, instance=override or RelationLink(link=link, relation=relation)
    )
    if form.is_valid():
        form.save()
        messages.success(request, _("The link %(name)s has been saved.") % {"name": link.name})
    else:
        for error in form.errors.get("url_template", []):
            messages.error(request, str(error))
    return inline.back_to_tab(request, relation, "tools")
