"""Editing inside a tab of the relation's page: the helpers every tab that edits uses.

Used by addresses, bank accounts and agreements (relations/views/parts.py), the team
(relations/views/team.py) and connections (connections/views.py), and meant for the tabs to come.

A tab that edits has a template (its `Tab.template`, relations/extensions.py) with two partials:
`#list`, an element `#<slug>-list` with an empty `#<slug>-editor` that an Add or Edit link fills,
and `#form`, which includes relations/_inline_form.html. Each form view serves two paths from the
same code: with htmx the form and the refreshed list are fragments swapped into the detail page;
without JavaScript the form is a page of its own (relations/part_form.html) and a valid POST
redirects back to the tab, which shows the message.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django_htmx.http import HttpResponseClientRedirect, reswap, retarget

from practice.http import MemberRequest
from relations import extensions
from relations.models import Relation
from relations.rules import ARCHIVED_READ_ONLY


def can_change(request: MemberRequest, relation: Relation) -> bool:
    """May this person change the relation's tabs now: a member who may change, and not archived."""
    membership = request.membership
    return bool(membership and membership.can_change and not relation.is_archived)


def tab_url(relation: Relation, slug: str) -> str:
    if slug == "overview":
        return relation.get_absolute_url()
    return reverse("relations-tab", args=[relation.public_id, slug])


def back_to_tab(request: MemberRequest, relation: Relation, slug: str) -> HttpResponse:
    """A full navigation to the tab (also from htmx), which shows the queued message."""
    url = tab_url(relation, slug)
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


def refuse_if_archived(
    request: MemberRequest, relation: Relation, slug: str
) -> HttpResponse | None:
    """An archived relation is read-only (relations.rules): back to the tab, saying so."""
    if relation.is_archived:
        messages.error(request, ARCHIVED_READ_ONLY)
        return back_to_tab(request, relation, slug)
    return None


def render_form(
    request: MemberRequest,
    relation: Relation,
    slug: str,
    form: forms.BaseForm,
    *,
    action: str,
    title: str,
    **extra: Any,
) -> HttpResponse:
    """The tab's `#form` partial: in place with htmx, else on a page of its own."""
    partial = f"{extensions.tabs[slug].template}#form"
    context = {
        "relation": relation,
        "tab": slug,
        "form": form,
        "action": action,
        "title": title,
        "cancel_url": tab_url(relation, slug),
        **extra,
    }
    if request.htmx:
        # 200 even with errors: htmx 2 does not swap 4xx responses by default.
        return render(request, partial, {**context, "inline": True})
    return render(request, "relations/part_form.html", {**context, "form_template": partial})


def done(request: MemberRequest, relation: Relation, slug: str, message: str) -> HttpResponse:
    """After a change: the refreshed list in place of the form (htmx), else POST/redirect/GET."""
    messages.success(request, message)
    if not request.htmx:
        return redirect(tab_url(relation, slug))
    tab = extensions.tabs[slug]
    context = {
        "relation": relation,
        "tab": slug,
        **tab.context(request, relation),
        # Shown inside the fragment and so consumed here, not on the next full page.
        "inline_messages": messages.get_messages(request),
    }
    response = render(request, f"{tab.template}#list", context)
    return reswap(retarget(response, f"#{slug}-list"), "outerHTML")
