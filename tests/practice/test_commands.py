import pytest
from django.contrib.auth import authenticate
from django.core.management import CommandError, call_command
from django.test import RequestFactory

from practice.models import Membership, Practice

pytestmark = pytest.mark.django_db


def can_log_in(username: str, password: str) -> bool:
    # The login throttle (django-axes) judges every attempt by the request it came with.
    request = RequestFactory().post("/login/")
    return authenticate(request, username=username, password=password) is not None


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
    assert can_log_in("jdejong", "a-long-enough-secret")
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


def _demo_counts(demo):
    from connections.models import Connection
    from portal.models import Invitation
    from relations.models import Relation, TeamAssignment

    return {
        "relations": Relation.objects.filter(practice=demo).count(),
        "archived": Relation.objects.filter(practice=demo).archived().count(),
        "kinds": set(Relation.objects.filter(practice=demo).values_list("kind", "entity")),
        "connections": Connection.objects.filter(practice=demo).count(),
        "managers": TeamAssignment.objects.filter(practice=demo, role="manager").count(),
        "clients": Relation.objects.filter(practice=demo, kind="client").count(),
        "invitations": Invitation.objects.filter(practice=demo).count(),
    }


def test_seed_demo_is_idempotent():
    call_command("seed_demo")
    demo = Practice.objects.get(slug="demo")
    first = _demo_counts(demo)
    assert first["relations"] >= 200
    assert first["archived"] > 0
    assert len(first["kinds"]) == 4
    assert first["connections"] > 0
    assert first["managers"] == first["clients"]
    assert first["invitations"] == 1
    call_command("seed_demo")
    assert _demo_counts(demo) == first
    membership = Membership.objects.get(practice=demo, user__username="demo")
    assert membership.role == Membership.Role.OWNER
    assert can_log_in("demo", "demo")
    assert Membership.objects.filter(user__username="demo").count() == 2


def test_seed_demo_numbers_validate():
    import schwifty
    from stdnum.eu import vat
    from stdnum.nl import bsn

    from relations.models import BankAccount, Relation

    call_command("seed_demo")
    demo = Relation.objects.filter(practice__slug="demo")
    assert all(
        schwifty.IBAN(i).compact == i for i in BankAccount.objects.values_list("iban", flat=True)
    )
    assert all(bsn.is_valid(b) for b in demo.exclude(bsn="").values_list("bsn", flat=True))
    assert all(
        vat.is_valid(v) for v in demo.exclude(vat_number="").values_list("vat_number", flat=True)
    )


def test_seed_demo_fills_teams_with_the_colleagues_in_their_roles():
    from relations.models import TeamAssignment

    call_command("seed_demo")
    demo = Practice.objects.get(slug="demo")
    places = set(TeamAssignment.objects.filter(practice=demo).values_list("user__username", "role"))
    held = {username for username, _role in places}
    assert {"demo", "sanne", "mark", "fatima", "pieter", "lotte"} <= held
    assert {role for _username, role in places} == {
        "manager",
        "accountant",
        "tax_advisor",
        "assistant",
        "payroll",
        "secretary",
    }
    # Every place points at the demo office's own role of its key.
    assert (
        not TeamAssignment.objects.filter(practice=demo).exclude(team_role__practice=demo).exists()
    )
