"""A contact to invite, and inviting it the way staff do, reading the token from the e-mail sent."""

import re

import pytest

from portal import services
from tests.factories import RelationFactory

TOKEN_IN_LINK = re.compile(r"http://testserver/portal/accept/([A-Za-z0-9_\-]+)/")
PORTAL_PASSWORD = "tulpen-bollen-veld-42"


@pytest.fixture
def contact(practice):
    return RelationFactory(
        practice=practice,
        contact=True,
        private=True,
        first_name="Jan",
        last_name="de Vries",
        email="jan@devries.example",
    )


@pytest.fixture
def send_invitation(django_capture_on_commit_callbacks, mailoutbox, staff):
    """Invite (or resend to) a relation as bob; returns the raw token from the link in the e-mail."""

    def send(relation, *, resend: bool = False) -> str:
        run = services.resend if resend else services.invite
        with django_capture_on_commit_callbacks(execute=True):
            run(relation=relation, user=staff, base_url="http://testserver")
        match = TOKEN_IN_LINK.search(mailoutbox[-1].body)
        assert match, mailoutbox[-1].body
        return match.group(1)

    return send


@pytest.fixture
def portal_user(contact, send_invitation):
    """Jan, who accepted his invitation."""
    return services.accept(token=send_invitation(contact), password=PORTAL_PASSWORD)


@pytest.fixture
def portal_client(client, portal_user):
    client.force_login(portal_user)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client
