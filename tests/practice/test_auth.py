import pytest
from django.urls import reverse

from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def test_anonymous_is_sent_to_login(client):
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next=/"


def test_login_page_renders_with_csrf(client):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    assert b"csrfmiddlewaretoken" in response.content


def test_it_logs_in_and_shows_the_practice(client, owner, practice):
    response = client.post(
        reverse("login"), {"username": "alice", "password": PASSWORD}, follow=True
    )
    assert response.redirect_chain[-1][0] == reverse("home")
    assert practice.name in response.content.decode()


def test_wrong_password_is_refused_without_saying_which_part(client, owner):
    response = client.post(reverse("login"), {"username": "alice", "password": "nope"})
    assert response.status_code == 200
    assert not response.wsgi_request.user.is_authenticated
    unknown = client.post(reverse("login"), {"username": "nobody", "password": "nope"})
    assert unknown.content.count(b'role="alert"') == response.content.count(b'role="alert"') == 1


def test_logout_needs_post(owner_client):
    assert owner_client.get(reverse("logout")).status_code == 405
    response = owner_client.post(reverse("logout"))
    assert response.status_code == 302
    assert owner_client.get(reverse("home")).status_code == 302


def test_user_without_membership_gets_404_on_staff_pages(client):
    from tests.factories import UserFactory

    client.force_login(UserFactory(username="portal-person"))
    assert client.get(reverse("home")).status_code == 404
    assert client.get(reverse("relations-list")).status_code == 404


def test_home_in_dutch_by_default_and_english_on_request(client, owner):
    owner_client = client
    owner_client.force_login(owner)
    dutch = owner_client.get(reverse("home")).content.decode()
    assert "Relaties" in dutch
    assert 'lang="nl"' in dutch
    english = owner_client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="en-GB,en;q=0.9")
    assert 'lang="en"' in english.content.decode()
    assert "Relations" in english.content.decode()


def test_language_choice_beats_accept_language(owner_client):
    owner_client.post(reverse("set_language"), {"language": "nl", "next": "/"})
    response = owner_client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="en")
    assert 'lang="nl"' in response.content.decode()


def test_pages_send_a_csp_without_inline_scripts(owner_client):
    response = owner_client.get(reverse("home"))
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert b"<script>" not in response.content
