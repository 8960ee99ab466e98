import pytest
from django.core.management import call_command

from collab.models import Message, Thread

pytestmark = pytest.mark.django_db


def test_seed_demo_gives_conversations_with_internal_notes_once():
    call_command("seed_demo")
    threads = Thread.objects.filter(practice__slug="demo").count()
    assert threads == 3
    assert Message.objects.filter(thread__practice__slug="demo", internal=True).count() == 3
    call_command("seed_demo")
    assert Thread.objects.filter(practice__slug="demo").count() == threads
