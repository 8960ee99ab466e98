import pytest
from django.contrib.auth import authenticate
from django.core.management import CommandError, call_command

from practice.models import Membership, Practice

pytestmark = pytest.mark.django_db


def test_create_practice_creates_the_owner(capsys):
    call_command(
        "create_practice",
        "dejong",
        "--name",
        "De Jong & Co",
        "--owner",
        "jdejong",
        "--password",
        "a-long-enough-secret",
    )
    practice = Practice.objects.get(slug="dejong")
    assert practice.name == "De Jong & Co"
    membership = Membership.objects.get(practice=practice)
    assert membership.user.username == "jdejong"
    assert membership.role == Membership.Role.OWNER
    assert authenticate(username="jdejong", password="a-long-enough-secret") is not None
    assert "a-long-enough-secret" not in capsys.readouterr().out


def test_create_practice_refuses_a_taken_slug_and_a_weak_password(practice):
    with pytest.raises(CommandError, match="exists already"):
        call_command(
            "create_practice",
            practice.slug,
            "--name",
            "X",
            "--owner",
            "x",
            "--password",
            "a-long-enough-secret",
        )
    with pytest.raises(CommandError):
        call_command(
            "create_practice", "fresh", "--name", "X", "--owner", "newbie", "--password", "123"
        )
    assert not Practice.objects.filter(slug="fresh").exists()


def test_seed_demo_is_idempotent():
    call_command("seed_demo")
    call_command("seed_demo")
    demo = Practice.objects.get(slug="demo")
    membership = Membership.objects.get(practice=demo, user__username="demo")
    assert membership.role == Membership.Role.OWNER
    assert authenticate(username="demo", password="demo") is not None
    assert Membership.objects.filter(user__username="demo").count() == 2
