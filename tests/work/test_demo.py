from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command

from work.models import Process, Task

pytestmark = pytest.mark.django_db


def test_seed_demo_gives_processes_in_every_state_and_tasks_for_the_demo_user():
    call_command("seed_demo")
    statuses = set(Process.objects.values_list("status", flat=True))
    assert {"running", "done"} <= statuses
    demo = User.objects.get(username="demo")
    assert Task.objects.filter(assignee=demo, status="open").exists()
    assert Task.objects.filter(status="skipped").exists()
    count = Process.objects.count()
    call_command("seed_demo")
    assert Process.objects.count() == count
