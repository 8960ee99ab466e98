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
    """What the confirm page says. `question` is the line the dialog asks too (`data-confirm`).

    `details`: what will happen, one sentence each; `rows`: (name, outcome) per row of a bulk action;
    `form`: fields the person may still change (an end date, a person's names), posted along;
    `hidden`: (name, value) pairs carried as they are (the ids of a bulk action); `refusal`: why it
    cannot be done, in which case the page offers no button to do it.
    """

    title: str
    question: str
    button: str
    cancel_url: str
    relation: Any = None
    details: Sequence[str] = ()
    listed: Sequence[tuple[str, str]] = ()  # (label, value) pairs, e.g. the fields kept
    listed_title: str = ""
    rows: Sequence[tuple[str, str]] = ()
    form: forms.Form | None = None
    hidden: Iterable[tuple[str, str]] = field(default_factory=list)
    refusal: str = ""
    danger: bool = True


def ask(request: KringRequest, confirmation: Confirmation) -> HttpResponse:
    """The confirm page; an unconfirmed htmx POST (a tab's inline button) goes there as a page."""
    if request.htmx and request.method == "POST":
        return HttpResponseClientRedirect(request.get_full_path())
    return render(
        request,
        "confirm.html",
        {
            "confirmation": confirmation,
            "form": confirmation.form,
            "action": request.get_full_path(),
        },
    )
