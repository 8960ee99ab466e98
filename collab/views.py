"""The Chat tab on a client's page and a thread's page, for the office.

Every view works without JavaScript: forms POST and redirect. Reading a thread (GET) writes
nothing; its read mark is a POST of its own (sent by htmx as the page loads, or by the button), and
posting a message marks the thread read for its author.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from collab import services
from collab.forms import StaffMessageForm, StaffThreadForm
from collab.models import Message, Thread
from collab.visibility import with_unread
from practice.access import change_required, get_scoped_or_404, member_required
from practice.confirm import Confirmation, ask, is_confirmed
from practice.http import MemberRequest
from relations.models import Relation, TeamAssignment
from relations.views import inline
from relations.views.common import get_relation

TAB = "chat"


def _client(request: MemberRequest, public_id: UUID, *, change: bool = False) -> Relation:
    relation = get_relation(request, public_id, change=change)
    if not relation.is_client:
        raise Http404("Threads are kept on clients.")
    return relation


def _thread(request: MemberRequest, relation: Relation, pk: int) -> Thread:
    return get_scoped_or_404(
        request, Thread.objects.filter(client=relation).select_related("client"), pk=pk
    )


def tab_context(request: MemberRequest, relation: Relation) -> dict[str, Any]:
    threads = with_unread(
        Thread.objects.filter(practice=request.membership.practice, client=relation),
        request.user,
        contact=False,
    )
    return {
        "threads": list(threads),
        "can_change": inline.can_change(request, relation),
        "thread_form": StaffThreadForm(auto_id="new-thread-%s"),
    }


def _base_url(request: MemberRequest) -> str:
    return request.build_absolute_uri("/")


@require_http_methods(["GET", "POST"])
@change_required
def new_thread(request: MemberRequest, public_id: UUID) -> HttpResponse:
    relation = _client(request, public_id, change=True)
    if refused := inline.refuse_if_archived(request, relation, TAB):
        return refused
    form = StaffThreadForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            thread = services.start_thread(
                client=relation,
                user=request.user,
                subject=data["subject"],
                body=data["body"],
                internal=form.internal,
                base_url=_base_url(request),
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("Conversation started."))
            return redirect(thread_url(thread))
    return render(
        request,
        "collab/new_thread.html",
        {"relation": relation, "form": form, "cancel_url": inline.tab_url(relation, TAB)},
    )


def thread_url(thread: Thread) -> str:
    return reverse("chat-thread", args=[thread.client.public_id, thread.pk])


def _thread_page(
    request: MemberRequest, relation: Relation, thread: Thread, form: StaffMessageForm
) -> HttpResponse:
    rows = list(
        Message.objects.filter(thread=thread).select_related("author", "author_contact", "reply_to")
    )
    return render(
        request,
        "collab/thread.html",
        {
            "relation": relation,
            "thread": thread,
            "thread_messages": rows,
            "form": form,
            "can_change": inline.can_change(request, relation),
            "cancel_url": inline.tab_url(relation, TAB),
        },
    )


@require_GET
@member_required
def thread(request: MemberRequest, public_id: UUID, pk: int) -> HttpResponse:
    relation = _client(request, public_id)
    found = _thread(request, relation, pk)
    form = StaffMessageForm(messages=Message.objects.filter(thread=found))
    return _thread_page(request, relation, found, form)


@require_POST
@change_required
def post(request: MemberRequest, public_id: UUID, pk: int) -> HttpResponse:
    relation = _client(request, public_id, change=True)
    found = _thread(request, relation, pk)
    if refused := inline.refuse_if_archived(request, relation, TAB):
        return refused
    form = StaffMessageForm(request.POST, messages=Message.objects.filter(thread=found))
    if form.is_valid():
        try:
            services.post_staff_message(
                thread=found,
                user=request.user,
                body=form.cleaned_data["body"],
                internal=form.internal,
                reply_to=form.cleaned_data.get("reply_to"),
                base_url=_base_url(request),
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            return redirect(thread_url(found) + "#latest")
    return _thread_page(request, relation, found, form)


@require_POST
@member_required
def read(request: MemberRequest, public_id: UUID, pk: int) -> HttpResponse:
    """Mark the thread read up to now for this member (their own mark: read-only members too)."""
    relation = _client(request, public_id)
    found = _thread(request, relation, pk)
    services.mark_read(found, request.user)
    if request.htmx:
        return HttpResponse(status=204)
    return redirect(thread_url(found))


@require_http_methods(["GET", "POST"])
@change_required
def withdraw(request: MemberRequest, public_id: UUID, pk: int) -> HttpResponse:
    relation = _client(request, public_id, change=True)
    message = get_scoped_or_404(
        request,
        Message.objects.filter(thread__client=relation).select_related("thread__client"),
        pk=pk,
    )
    back = thread_url(message.thread)
    if not is_confirmed(request):
        return ask(
            request,
            Confirmation(
                title=_("Withdraw message"),
                question=_("Withdraw this message?"),
                button=_("Withdraw"),
                cancel_url=back,
                relation=relation,
                details=[
                    _(
                        "The message is kept, but from now on everyone who sees the "
                        "conversation reads “message withdrawn” in its place."
                    )
                ],
                refusal=_("This message has been withdrawn already.")
                if message.is_withdrawn
                else "",
            ),
        )
    try:
        services.withdraw(message=message, user=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("The message has been withdrawn."))
    return redirect(back)


INBOX_ROWS = 50


@require_GET
@member_required
def inbox(request: MemberRequest) -> HttpResponse:
    """Threads with client messages this member has not read: those of their own relations
    (on whose team they are) first, then the newest."""
    practice = request.membership.practice
    mine = TeamAssignment.objects.filter(
        practice=practice, relation=OuterRef("client_id"), user=request.user
    )
    threads = (
        with_unread(
            Thread.objects.filter(practice=practice),
            request.user,
            contact=False,
            only_contacts=True,
        )
        .filter(**{"unread__gt": 0})  # the annotation with_unread adds
        .annotate(mine=Exists(mine))
        .select_related("client")
        .order_by("-mine", "-last_message_at", "-pk")
    )
    rows = list(threads[: INBOX_ROWS + 1])
    return render(
        request,
        "collab/inbox.html",
        {"threads": rows[:INBOX_ROWS], "more": len(rows) > INBOX_ROWS},
    )
