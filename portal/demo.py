"""A pending portal invitation for `seed_demo`, so the list shows every invitation state."""

from __future__ import annotations

import os

from portal.models import Invitation
from portal.services import invite
from relations.models import Relation


def demo_base_url() -> str:
    """Where `make run` serves the demo: its PORT (8000 unless set) must be in the seeded link."""
    return f"http://127.0.0.1:{os.environ.get('PORT') or '8000'}"


def seed(*, practice, user, stdout) -> None:
    if Invitation.objects.filter(practice=practice).exists():
        stdout.write("portal: an invitation exists, nothing to add")
        return
    contact = (
        Relation.objects.filter(practice=practice, kind="contact", entity="private")
        .active()
        .exclude(email="")
        .order_by("pk")
        .first()
    )
    if contact is None:
        return
    invite(relation=contact, user=user, base_url=demo_base_url())
    stdout.write(
        f"portal: invited contact #{contact.pk} (the mail is printed by the console backend)"
    )
