"""Kantoor → Opzoeken en koppelingen (owners): the office's registers and its links."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from lookups.forms import LookupSettingsForm, OfficeLinkForm
from lookups.models import LookupSettings, OfficeLink
from practice.access import get_scoped_or_404, owner_required
from practice.http import MemberRequest


def _mask(value: str) -> str:
    return f"••••{value[-4:]}" if len(value) > 8 else ("••••" if value else "")


@sensitive_post_parameters("kvk_api_key")
@require_http_methods(["GET", "POST"])
@owner_required
def lookup_settings(request: MemberRequest) -> HttpResponse:
    practice = request.membership.practice
    # A GET or a refused POST creates no row: no row means every look-up is off.
    found = LookupSettings.objects.filter(practice=practice).first()
    instance = found or LookupSettings(practice=practice)
    form = LookupSettingsForm(request.POST if request.method == "POST" else None, instance=instance)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("The look-up settings have been saved."))
        return redirect("lookups-settings")
    return render(
        request,
        "lookups/settings.html",
        {
            "form": form,
            "masked_key": _mask(instance.kvk_api_key),
            "links": OfficeLink.objects.filter(practice=practice),
        },
    )


@require_http_methods(["GET", "POST"])
@owner_required
def link_form(request: MemberRequest, pk: int | None = None) -> HttpResponse:
    practice = request.membership.practice
    link = get_scoped_or_404(request, OfficeLink, pk=pk) if pk else OfficeLink(practice=practice)
    form = OfficeLinkForm(request.POST if request.method == "POST" else None, instance=link)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("The link has been saved."))
        return redirect("lookups-settings")
    title = _("Edit link") if pk else _("Add link")
    return render(request, "lookups/link_form.html", {"form": form, "title": title, "link": link})


@require_POST
@owner_required
def link_remove(request: MemberRequest, pk: int) -> HttpResponse:
    link = get_scoped_or_404(request, OfficeLink, pk=pk)
    link.delete()
    messages.success(request, _("The link has been removed."))
    return redirect("lookups-settings")
