"""Asking before a destructive or irreversible action: one mechanism for every such view.

The rule: a GET, or a POST without `confirmed=1`, shows the confirm page (what will happen, and a
form that posts again with `confirmed=1`) and changes nothing; only the confirmed POST acts. With
JavaScript, static/js/confirm.js asks the same question in a dialog on the page itself and adds
`confirmed=1` to the form it lets through, so the confirm page is the path without JavaScript.

    if not is_confirmed(request):
        return ask(request, Confirmation(title=..., question=..., button=..., cancel_url=...))
    ... do it ...
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django_htmx.http import HttpResponseClientRedirect

from practice.http import KringRequest

CONFIRMED = "confirmed"


def is_confirmed(request: HttpRequest) -> bool:
    return request.method == "POST" and request.POST.get(CONFIRMED) == "1"


@dataclass
class Confirmation:
    """What the confirm page says. `question` is the line the dialog asks too (`data-confirm`); it
    may be empty where the title asks it already (a bulk action's "Archive 3 relations?").

    `details`: what will happen, one sentence each; `listed`: (label, value) pairs under
    `listed_title`, e.g. the fields kept or the agreement ended; `lists`: (heading, items) pairs, a
    bulleted list each, e.g. the agreements archiving ends; `rows`: one tuple per row of a bulk
    action, under `columns` (by default: name, outcome); `form`: fields the person may still change
    (an end date, a person's names), posted along; `hidden`: (name, value) pairs carried as they
    are (the ids of a bulk action); `refusal`: why it cannot be done, in which case the page offers
    no button to do it (nor does an empty `button`: nothing of the selection can be done).
    `cancel_label` is the way back's label ("Cancel" by default), `list_url` the breadcrumb's list.
    """

    title: str
    question: str
    button: str
    cancel_url: str
    relation: Any = None
    details: Sequence[str] = ()
    listed: Sequence[tuple[str, str]] = ()
    listed_title: str = ""
    lists: Sequence[tuple[str, Sequence[str]]] = ()
    columns: Sequence[str] = ()
    rows: Sequence[Sequence[str]] = ()
    form: forms.Form | None = None
    hidden: Iterable[tuple[str, str]] = field(default_factory=list)
    refusal: str = ""
    danger: bool = True
    cancel_label: str = ""
    list_url: str = ""


def ask(request: KringRequest, confirmation: Confirmation, **context: Any) -> HttpResponse:
    """The confirm page; an unconfirmed htmx POST (a tab's inline button) goes there as a page.
    `context` is added to the page's (e.g. the bulk archive's `next_url`)."""
    if request.htmx and request.method == "POST":
        return HttpResponseClientRedirect(request.get_full_path())
    return render(
        request,
        "confirm.html",
        {
            **context,
            "confirmation": confirmation,
            "form": confirmation.form,
            "action": request.get_full_path(),
        },
    )
