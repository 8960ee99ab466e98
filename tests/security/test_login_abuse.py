"""Login abuse: failed logins are throttled per username and IP together (django-axes), the cool-off
ends by itself, and a stranger learns nothing about which accounts exist — from the staff login, the
portal login or the admin login, in any state."""

import re
from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.test import Client, override_settings
from django.urls import reverse

from portal import services
from tests.factories import PASSWORD, RelationFactory
from tests.portal.conftest import PORTAL_PASSWORD, TOKEN_IN_LINK

pytestmark = pytest.mark.django_db

LIMIT = settings.AXES_FAILURE_LIMIT
COOLOFF = settings.AXES_COOLOFF_TIME
# What differs from one response to the next by nature: CSRF tokens and script nonces.
PER_RESPONSE = re.compile(r'(csrfmiddlewaretoken" value="|"X-CSRFToken": "|nonce=")[^"]+"')


WRONG = "wrong-password"


@pytest.fixture
def give_portal_access(staff, mailoutbox, django_capture_on_commit_callbacks):
    """Invite a contact as bob and accept with the link from the e-mail, as Jan would."""

    def give(practice, email: str, password: str):
        contact = RelationFactory.create(practice=practice, contact=True, private=True, email=email)
        with django_capture_on_commit_callbacks(execute=True):
            services.invite(relation=contact, user=staff, base_url="http://testserver")
        link = TOKEN_IN_LINK.search(mailoutbox[-1].body)
        assert link is not None
        return services.accept(token=link.group(1), password=password)

    return give


@pytest.fixture
def portal_user(practice, give_portal_access):
    return give_portal_access(practice, "jan@devries.example", PORTAL_PASSWORD)


def browser(ip: str = "192.0.2.10") -> Client:
    return Client(headers={"accept-language": "en"}, REMOTE_ADDR=ip)


def staff_login(client: Client, username: str, password: str = WRONG):
    return client.post(reverse("login"), {"username": username, "password": password})


def portal_login(client: Client, email: str, password: str = WRONG):
    return client.post(reverse("portal-login"), {"email": email, "password": password})


def normalised(response, typed: str) -> tuple[int, str]:
    """Status and page with what differs by nature (tokens, the name typed back) blanked out."""
    page = PER_RESPONSE.sub(r"\1", response.content.decode())
    return response.status_code, page.replace(typed, "TYPED")


def age_attempts(by: timedelta) -> None:
    """Let time pass for the throttle: its clock is the attempt time it stored."""
    for attempt in AccessAttempt.objects.all():
        attempt.attempt_time -= by
        attempt.save(update_fields=["attempt_time"])


def test_the_limit_locks_out_that_username_and_ip(owner):
    client = browser()
    for _ in range(LIMIT - 1):
        response = staff_login(client, "alice")
        assert response.status_code == 200
        assert "Please enter a correct username and password" in response.content.decode()
    locked = staff_login(client, "alice")
    assert locked.status_code == 429
    assert "Too many attempts" in locked.content.decode()
    # Now even the right password is refused, and nobody is signed in.
    refused = staff_login(client, "alice", PASSWORD)
    assert refused.status_code == 429
    assert not refused.wsgi_request.user.is_authenticated
    assert client.get(reverse("home")).status_code == 302


def test_the_lockout_is_for_the_pair_only(owner, staff):
    attacker = browser("192.0.2.66")
    for _ in range(LIMIT):
        staff_login(attacker, "alice")
    assert staff_login(attacker, "alice", PASSWORD).status_code == 429
    # Alice at the office, on another address, still gets in; so does bob from the attacker's address.
    assert staff_login(browser("198.51.100.7"), "alice", PASSWORD).status_code == 302
    assert staff_login(browser("192.0.2.66"), "bob", PASSWORD).status_code == 302


def test_unknown_and_known_users_get_the_same_responses_in_every_state(owner):
    known, unknown = browser("192.0.2.1"), browser("192.0.2.2")
    # Failing, the failure that locks out, refused while locked out (wrong and right password alike).
    for attempt in range(LIMIT + 2):
        password = PASSWORD if attempt == LIMIT + 1 else "wrong-password"
        a = staff_login(known, "alice", password)
        b = staff_login(unknown, "nobody", password)
        assert normalised(a, "alice") == normalised(b, "nobody"), attempt
    # And after the cool-off, both may try again and get the ordinary "wrong" answer.
    age_attempts(COOLOFF + timedelta(seconds=1))
    a, b = staff_login(known, "alice"), staff_login(unknown, "nobody")
    assert a.status_code == b.status_code == 200
    assert normalised(a, "alice") == normalised(b, "nobody")


def test_an_inactive_account_answers_like_an_unknown_one(owner):
    owner.is_active = False
    owner.save(update_fields=["is_active"])
    inactive = staff_login(browser("192.0.2.1"), "alice", PASSWORD)
    unknown = staff_login(browser("192.0.2.2"), "nobody", PASSWORD)
    assert normalised(inactive, "alice") == normalised(unknown, "nobody")


def test_the_cool_off_ends_by_itself(owner):
    client = browser()
    for _ in range(LIMIT):
        staff_login(client, "alice")
    age_attempts(COOLOFF - timedelta(minutes=1))
    assert staff_login(client, "alice", PASSWORD).status_code == 429
    age_attempts(timedelta(minutes=1, seconds=1))
    assert staff_login(client, "alice", PASSWORD).status_code == 302


def test_trying_during_the_cool_off_does_not_extend_it(owner):
    client = browser()
    for _ in range(LIMIT):
        staff_login(client, "alice")
    age_attempts(COOLOFF - timedelta(minutes=5))
    for _ in range(3):
        assert staff_login(client, "alice").status_code == 429
    age_attempts(timedelta(minutes=5, seconds=1))
    assert staff_login(client, "alice", PASSWORD).status_code == 302


def test_a_successful_login_resets_the_count(owner):
    client = browser()
    for _ in range(LIMIT - 1):
        staff_login(client, "alice")
    assert staff_login(client, "alice", PASSWORD).status_code == 302
    client.post(reverse("logout"))
    for _ in range(LIMIT - 1):
        assert staff_login(client, "alice").status_code == 200
    assert staff_login(client, "alice", PASSWORD).status_code == 302


def test_the_admin_login_is_throttled_too(db):
    from tests.factories import UserFactory

    UserFactory.create(username="root", is_staff=True, is_superuser=True)
    client = browser()
    url = reverse("admin:login")
    for _ in range(LIMIT):
        response = client.post(url, {"username": "root", "password": "wrong-password"})
    assert response.status_code == 429
    response = client.post(url, {"username": "root", "password": PASSWORD})
    assert response.status_code == 429
    assert client.get(reverse("admin:index")).status_code == 302


def test_the_portal_login_is_throttled_by_address_known_or_not(portal_user):
    known, unknown = browser("192.0.2.1"), browser("192.0.2.2")
    for attempt in range(LIMIT + 2):
        password = PORTAL_PASSWORD if attempt == LIMIT + 1 else "wrong-password"
        a = portal_login(known, "jan@devries.example", password)
        b = portal_login(unknown, "niemand@example.nl", password)
        assert normalised(a, "jan@devries.example") == normalised(b, "niemand@example.nl"), attempt
        assert a.status_code == (200 if attempt < LIMIT - 1 else 429)
    page = a.content.decode()
    assert "Too many attempts" in page
    # The portal's own frame, none of the office's navigation.
    assert reverse("relations-list") not in page


def test_the_portal_address_is_counted_whatever_its_case(portal_user):
    client = browser()
    for attempt in range(LIMIT):
        email = "JAN@devries.example" if attempt % 2 else "jan@DEVRIES.example"
        response = portal_login(client, email)
    assert response.status_code == 429
    assert portal_login(client, "jan@devries.example", PORTAL_PASSWORD).status_code == 429
    assert (
        portal_login(browser("198.51.100.7"), "jan@devries.example", PORTAL_PASSWORD).status_code
        == 302
    )


def test_a_contact_with_two_portal_accounts_is_counted_once_per_attempt(
    portal_user, other_practice, give_portal_access
):
    give_portal_access(other_practice, "jan@devries.example", "een-ander-wachtwoord-7")
    client = browser()
    for _ in range(LIMIT - 1):
        assert portal_login(client, "jan@devries.example").status_code == 200
    # Each password still opens its own account.
    assert portal_login(client, "jan@devries.example", "een-ander-wachtwoord-7").status_code == 302


@pytest.mark.parametrize("run", ["first", "second"])
def test_no_test_inherits_another_tests_failures(owner, run):
    """The throttle lives in the test database: each test starts from zero failures."""
    assert not AccessAttempt.objects.exists()
    client = browser()
    for _ in range(LIMIT - 1):
        staff_login(client, "alice")
    assert AccessAttempt.objects.get().failures_since_start == LIMIT - 1


def test_a_forged_x_forwarded_for_does_not_dodge_the_throttle(owner):
    client = browser()
    for attempt in range(LIMIT):
        response = client.post(
            reverse("login"),
            {"username": "alice", "password": WRONG},
            HTTP_X_FORWARDED_FOR=f"203.0.113.{attempt}",
        )
    assert response.status_code == 429


@override_settings(TRUSTED_PROXY_COUNT=1)
def test_behind_a_trusted_proxy_each_client_address_counts_on_its_own(owner):
    proxy = browser("10.0.0.2")

    def through_proxy(forwarded_for: str, password: str = WRONG):
        return proxy.post(
            reverse("login"),
            {"username": "alice", "password": password},
            HTTP_X_FORWARDED_FOR=forwarded_for,
        )

    # The client may put anything in front; the proxy's last entry is what counts.
    for attempt in range(LIMIT):
        response = through_proxy(f"203.0.113.{attempt}, 192.0.2.99")
    assert response.status_code == 429
    assert through_proxy("192.0.2.99", PASSWORD).status_code == 429
    assert AccessAttempt.objects.get().ip_address == "192.0.2.99"
    # Alice at the office, through the same proxy, is not the attacker.
    assert through_proxy("198.51.100.7", PASSWORD).status_code == 302


def test_an_overlong_username_is_refused_not_a_crash(owner):
    response = staff_login(browser(), "a" * 5000)
    assert response.status_code == 200
    assert AccessAttempt.objects.get().username == "a" * 150
