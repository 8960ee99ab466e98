"""The contact's side of the chat, in the portal. Every read goes through collab.visibility.

The portal's rule for who is who (portal.views.home): anyone without an active portal account gets
404 (staff included); a contact whose access was withdrawn sees the same page home shows.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from collab import services
from collab.forms import ContactMessageForm, ContactThreadForm
from collab.models import Thread
from collab.visibility import ContactView, for_contact
from portal.models import PortalAccount
from practice.http import PortalRequest

ContactViewFunc = Callable[..., HttpResponse]


def contact_required(view: ContactViewFunc) -> Callable[..., HttpResponse]:
    """A signed-in contact with an active portal account; its ContactView as second argument."""

    @login_required(login_url="portal-login")
    @wraps(view)
    def wrapper(request: PortalRequest, *args, **kwargs) -> HttpResponse:
        contact = for_contact(request.user)
        if contact is None:
            raise Http404("No active portal account.")
        return view(request, contact, *args, **kwargs)

    return wrapper


def home_section(request: PortalRequest, account: PortalAccount) -> dict | None:
    """The portal home's link to the messages (portal.extensions): no query, the counts are on
    the messages page itself."""
    return {}


def _base(contact: ContactView) -> dict:
    return {"portal_account": contact.account, "practice": contact.account.practice}


def _list_page(
    request: PortalRequest, contact: ContactView, form: ContactThreadForm
) -> HttpResponse:
    threads = list(contact.threads_with_unread().select_related("client"))
    return render(
        request,
        "collab/portal_list.html",
        {**_base(contact), "threads": threads, "form": form, "clients": list(contact.clients())},
    )


@require_GET
@contact_required
def chat(request: PortalRequest, contact: ContactView) -> HttpResponse:
    return _list_page(request, contact, ContactThreadForm(clients=contact.clients()))


@require_POST
@contact_required
def new_thread(request: PortalRequest, contact: ContactView) -> HttpResponse:
    form = ContactThreadForm(request.POST, clients=contact.clients())
    if form.is_valid():
        data = form.cleaned_data
        try:
            thread = services.start_contact_thread(
                view=contact, client=data["client"], subject=data["subject"], body=data["body"]
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("Your message has been sent."))
            return redirect("portal-chat-thread", thread.pk)
    return _list_page(request, contact, form)


def _thread_page(
    request: PortalRequest, contact: ContactView, thread: Thread, form: ContactMessageForm
) -> HttpResponse:
    rows = list(contact.messages(thread).select_related("author", "author_contact"))
    return render(
        request,
        "collab/portal_thread.html",
        {**_base(contact), "thread": thread, "thread_messages": rows, "form": form},
    )


@require_GET
@contact_required
def thread(request: PortalRequest, contact: ContactView, pk: int) -> HttpResponse:
    return _thread_page(request, contact, contact.thread(pk), ContactMessageForm())


@require_POST
@contact_required
def post(request: PortalRequest, contact: ContactView, pk: int) -> HttpResponse:
    found = contact.thread(pk)
    form = ContactMessageForm(request.POST)
    if form.is_valid():
        try:
            services.post_contact_message(
                view=contact, thread=found, body=form.cleaned_data["body"]
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            return redirect(reverse("portal-chat-thread", args=[found.pk]) + "#latest")
    return _thread_page(request, contact, found, form)


@require_POST
@contact_required
def read(request: PortalRequest, contact: ContactView, pk: int) -> HttpResponse:
    found = contact.thread(pk)
    services.mark_read(found, contact.user)
    if request.htmx:
        return HttpResponse(status=204)
    return redirect("portal-chat-thread", found.pk)
