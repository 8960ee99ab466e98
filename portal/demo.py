"""A pending portal invitation for `seed_demo`, so the list shows every invitation state."""

from __future__ import annotations

from portal.models import Invitation
from portal.services import invite
from relations.models import Relation

DEMO_BASE_URL = "http://127.0.0.1:8000"


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
    invite(relation=contact, user=user, base_url=DEMO_BASE_URL)
    stdout.write(
        f"portal: invited contact #{contact.pk} (the mail is printed by the console backend)"
    )
