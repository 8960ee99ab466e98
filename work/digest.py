"""The daily e-mail: per member, once a day, what is overdue and due today. Never one mail per task.

The beat (config.settings CELERY_BEAT_SCHEDULE) runs `work.daily_digest` each morning; each member's
day is claimed with a unique row before the mail goes, so a repeated run sends nothing twice.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _

from practice.mail import PlainTextMail
from practice.models import Membership
from work import dates, services
from work.models import DigestChoice, DigestSent

DIGEST_ROWS = 50


def wants_digest(practice_id: int, user_id: int) -> bool:
    choice = DigestChoice.objects.filter(practice_id=practice_id, user_id=user_id).first()
    return choice is None or choice.enabled


def send_digests() -> int:
    """Send today's digests; the number sent."""
    today = dates.today()
    off = set(DigestChoice.objects.filter(enabled=False).values_list("practice_id", "user_id"))
    sent = 0
    members = Membership.objects.active().select_related("user", "practice").order_by("pk")
    for membership in members:
        user = membership.user
        if not user.email or (membership.practice_id, user.pk) in off:
            continue
        tasks = list(
            services.open_tasks_for(membership.practice_id, user).filter(due_date__lte=today)[
                : DIGEST_ROWS + 1
            ]
        )
        if not tasks:
            continue
        try:
            with transaction.atomic():
                claim = DigestSent.objects.create(
                    practice_id=membership.practice_id, user=user, day=today
                )
        except IntegrityError:
            continue  # already sent today
        try:
            _send(membership, tasks, today)
        except Exception:
            claim.delete()  # not sent: the next run tries again
            raise
        sent += 1
    return sent


def _send(membership: Membership, tasks: list, today) -> None:
    with translation.override(membership.practice.default_language or "nl"):
        overdue = [t for t in tasks[:DIGEST_ROWS] if t.due_date < today]
        due_today = [t for t in tasks[:DIGEST_ROWS] if t.due_date == today]
        body = render_to_string(
            "work/email/digest.txt",
            {
                "membership": membership,
                "overdue": overdue,
                "due_today": due_today,
                "more": len(tasks) > DIGEST_ROWS,
            },
        )
        subject = _("Your work for today at %(practice)s") % {"practice": membership.practice}
    PlainTextMail(" ".join(subject.split()), body, to=[membership.user.email]).send()
