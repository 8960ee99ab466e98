"""Demo conversations for `seed_demo`: a thread on a few clients, with a client message and an
internal note, and portal access on the demo contact's connection when it has one."""

from __future__ import annotations

from collab import services
from collab.models import Message, Thread
from connections.models import Connection
from portal.demo import demo_base_url
from portal.models import PortalAccount
from relations.models import Relation

THREADS = 3


def seed(*, practice, user, stdout) -> None:
    if Thread.objects.filter(practice=practice).exists():
        stdout.write("collab: conversations present, nothing to add")
        return
    clients = list(
        Relation.objects.filter(practice=practice, kind="client").active().order_by("pk")[:THREADS]
    )
    for client in clients:
        thread = services.start_thread(
            client=client,
            user=user,
            subject="Jaarrekening 2025",
            body="Goedemorgen, wilt u de jaaropgaaf van de bank uploaden?",
            internal=False,
            base_url=demo_base_url(),
        )
        services.post_staff_message(
            thread=thread,
            user=user,
            body="Interne notitie: vorig jaar kwam de jaaropgaaf pas na twee herinneringen.",
            internal=True,
            base_url=demo_base_url(),
        )
        connection = (
            Connection.objects.involving(client).active().filter(type="contact_person").first()
        )
        if connection is not None:
            Connection.objects.filter(pk=connection.pk).update(portal_access=True)
            account = PortalAccount.objects.filter(relation=connection.other(client)).first()
            if account is not None:  # a contact's message needs the contact's own login
                Message.objects.create(
                    practice=practice,
                    thread=thread,
                    author=account.user,
                    author_contact=account.relation,
                    body="Ik stuur hem deze week.",
                )
    stdout.write(f"collab: {len(clients)} conversations")
