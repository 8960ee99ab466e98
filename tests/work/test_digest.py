"""The daily e-mail: one per member with what is overdue and due today, once a day, and off on request."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.urls import reverse

from work import dates, services
from work.digest import send_digests
from work.models import DigestChoice, Task
from work.tasks import daily_digest

pytestmark = pytest.mark.django_db

Q3 = dates.parse_period("quarter", "2026-Q3")


@pytest.fixture
def due_work(client_relation, vat_template, owner, staff):
    process = services.start_process(
        relation=client_relation, template=vat_template, period=Q3, user=owner
    )
    first = process.tasks.get(position=1)
    Task.objects.filter(pk=first.pk).update(due_date=dates.today() - timedelta(days=2))
    second = services.start_process(
        relation=client_relation,
        template=vat_template,
        period=dates.parse_period("quarter", "2026-Q2"),
        user=owner,
    ).tasks.get(position=1)
    Task.objects.filter(pk=second.pk).update(due_date=dates.today())
    return first, second


def test_one_mail_per_member_with_all_their_due_tasks_and_only_once_a_day(
    due_work, staff, mailoutbox
):
    staff.email = "bob@vandam.example"
    staff.save()
    assert daily_digest() == 1
    assert len(mailoutbox) == 1  # two tasks, one mail
    body = mailoutbox[0].body
    assert body.count("Administratie bijwerken") == 2
    assert mailoutbox[0].to == ["bob@vandam.example"]
    assert send_digests() == 0  # the day is claimed
    assert len(mailoutbox) == 1


def test_a_member_can_turn_the_digest_off(due_work, staff, staff_client, mailoutbox):
    staff.email = "bob@vandam.example"
    staff.save()
    response = staff_client.post(reverse("work-digest"), {"enabled": "0"})
    assert response.status_code == 302
    assert DigestChoice.objects.get(user=staff).enabled is False
    assert send_digests() == 0
    assert mailoutbox == []
    assert "Turn the daily e-mail on" in staff_client.get(reverse("work-tasks")).text


def test_the_beat_runs_the_digest_every_morning():
    entry = settings.CELERY_BEAT_SCHEDULE["work-daily-digest"]
    assert entry["task"] == "work.daily_digest"
    assert entry["schedule"].hour == {7}
