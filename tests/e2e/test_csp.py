"""The Content-Security-Policy in a real browser: the main pages load — staff, portal and admin —
without a single CSP violation and without console errors.

Violations are heard twice: Chromium's own console message ("Refused to …") and the
`securitypolicyviolation` event, reported to the test by an init script (which the page's CSP
does not govern, so it cannot be blocked by what it watches for).
"""

import re
from dataclasses import dataclass, field

import pytest
from django.urls import reverse
from django.utils import translation
from playwright.sync_api import Browser, BrowserContext, Page, expect

from relations.models import Relation
from relations.views.pages import tabs_for
from tests.factories import PASSWORD, UserFactory, created_relation

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# Counts what it sent and what the test received, so that a test can wait until both agree.
REPORT_VIOLATIONS = """
window.kringSent = 0;
window.kringReceived = 0;
document.addEventListener("securitypolicyviolation", (event) => {
  window.kringSent += 1;
  window.kringReportViolation({
    directive: event.effectiveDirective,
    blocked: event.blockedURI,
    sample: event.sample,
    source: event.sourceFile + ":" + event.lineNumber,
    page: document.location.pathname,
  }).then(() => { window.kringReceived += 1; });
});
"""
ALL_RECEIVED = "() => window.kringSent === window.kringReceived"


@dataclass
class Watch:
    """Everything the browser complained about while the test walked its pages."""

    violations: list[dict] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    visited: list[str] = field(default_factory=list)
    failed_responses: list[str] = field(default_factory=list)


def watched_page(browser: Browser, watch: Watch) -> tuple[BrowserContext, Page]:
    context = browser.new_context(locale="en-GB")
    context.set_default_timeout(10_000)
    context.expose_binding(
        "kringReportViolation", lambda _source, report: watch.violations.append(report)
    )
    context.add_init_script(script=REPORT_VIOLATIONS)
    page = context.new_page()
    page.on(
        "console",
        lambda msg: (
            watch.console_errors.append(f"{page.url}: {msg.text}")
            if msg.type == "error" or "Content Security Policy" in msg.text
            else None
        ),
    )
    page.on("pageerror", lambda exc: watch.console_errors.append(f"{page.url}: {exc}"))
    page.on("framenavigated", lambda frame: watch.visited.append(frame.url))
    page.on(
        "response",
        lambda response: (
            watch.failed_responses.append(f"{response.status} {response.url}")
            if response.status >= 400
            else None
        ),
    )
    return context, page


@pytest.fixture
def watch() -> Watch:
    return Watch()


@pytest.fixture
def company(practice, owner):
    return created_relation(practice, owner, legal_name="Bakkerij De Gouden Korst B.V.")


@pytest.fixture
def portal_contact(practice, owner, company):
    """Jan, a contact of the bakery with portal access (his password set through the service)."""
    from connections.models import Connection
    from portal import services as portal_services

    jan = created_relation(
        practice,
        owner,
        kind="contact",
        entity="private",
        legal_name="",
        first_name="Jan",
        last_name="Vries",
        email="jan@devries.nl",
    )
    a, b = sorted([jan, company], key=lambda r: r.pk)
    Connection.objects.create(
        practice=practice, a=a, b=b, type="contact_person", a_is_subject=a == jan
    )
    portal_services.invite(relation=jan, user=owner, base_url="http://testserver")
    from django.core import mail

    token = re.search(r"/portal/accept/([A-Za-z0-9_\-]+)/", mail.outbox[-1].body).group(1)
    portal_services.accept(token=token, password="tulpen-bollen-veld-42")
    return jan


def visit(page: Page, url: str, heading: str | re.Pattern[str]) -> None:
    page.goto(url)
    expect(page.get_by_role("heading", level=1)).to_have_text(heading)


def test_the_listener_hears_a_violation(live_server, browser, watch):
    """The check below can fail: an inline script added to a page is reported both ways."""
    context, page = watched_page(browser, watch)
    visit(page, f"{live_server.url}/login/", "Log in to Kring")
    page.evaluate(
        """() => {
          const script = document.createElement("script");
          script.textContent = "document.title = 'ran'";
          document.body.append(script);
          document.body.setAttribute("style", "color: red");
        }"""
    )
    page.wait_for_function("() => window.kringReceived >= 2")
    expect(page).not_to_have_title("ran")
    context.close()
    assert {v["directive"] for v in watch.violations} >= {"script-src-elem", "style-src-attr"}
    assert any("Content Security Policy" in error for error in watch.console_errors)


def test_main_pages_load_without_csp_violations(
    live_server, browser, watch, owner, practice, company, portal_contact
):
    base = live_server.url
    context, page = watched_page(browser, watch)

    # Staff: log in, the list with its filters (and a search through htmx), the company's page
    # with every tab, the new-relation form for each kind, the edit form, import and settings.
    visit(page, f"{base}/login/", "Log in to Kring")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Welcome to {practice.name}")

    relations = f"{base}{reverse('relations-list')}"
    visit(page, relations, "Relations")
    visit(
        page,
        f"{relations}?kind=client&entity=company&status=active&team=mine&sort=-name",
        "Relations",
    )
    visit(page, f"{relations}?status=archived&per_page=25", "Relations")
    visit(page, relations, "Relations")
    page.get_by_label("Search").fill("gouden")
    page.get_by_role("button", name="Apply filters").click()
    expect(page.get_by_text("1 relation", exact=True)).to_be_visible()

    with translation.override("en"):
        tabs = [(slug, str(label)) for slug, label in tabs_for(company)]
    assert len(tabs) >= 7
    for slug, label in tabs:
        url = f"{base}{reverse('relations-tab', args=[company.public_id, slug])}"
        visit(page, url, company.legal_name)
        sections = page.get_by_role("navigation", name="Relation sections")
        expect(sections.get_by_role("link", name=label, exact=True)).to_have_attribute(
            "aria-current", "page"
        )
    # An inline form that htmx swaps into a tab.
    visit(
        page,
        f"{base}{reverse('relations-tab', args=[company.public_id, 'addresses'])}",
        company.legal_name,
    )
    page.get_by_role("link", name="Add address").click()
    expect(page.get_by_label("Street")).to_be_visible()

    # A confirm page (practice/confirm.py) and the dialog static/js/confirm.js opens on a tab.
    convert = reverse("relations-convert-to-private", args=[company.public_id])
    visit(page, f"{base}{convert}", "Convert to private person")
    visit(
        page,
        f"{base}{reverse('relations-tab', args=[company.public_id, 'connections'])}",
        company.legal_name,
    )
    visit(
        page,
        f"{base}{reverse('relations-tab', args=[company.public_id, 'addresses'])}",
        company.legal_name,
    )

    new = f"{base}{reverse('relations-new')}"
    visit(page, new, "New relation")
    for kind, entity in [(k, e) for k in Relation.Kind.values for e in Relation.Entity.values]:
        page.goto(f"{new}?kind={kind}&entity={entity}")
        expect(page.get_by_role("button", name="Save")).to_be_visible()
    visit(page, f"{base}{reverse('relations-edit', args=[company.public_id])}", re.compile("Edit"))
    visit(page, f"{base}{reverse('sync-import')}", re.compile("Import"))
    visit(page, f"{base}{reverse('sync-settings')}", re.compile("Ledger"))
    page.locator(".topmenu summary").click()  # the header's menu holds Log out
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Log in to Kring")

    # The portal: its sign-in page and Jan's home.
    visit(page, f"{base}{reverse('portal-login')}", "Sign in to the client portal")
    page.get_by_label("E-mail address").fill("jan@devries.nl")
    page.get_by_label("Password").fill("tulpen-bollen-veld-42")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Jan Vries")
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in to the client portal")

    # The admin: its own login, the index, changelists and a change form.
    UserFactory(username="root", is_staff=True, is_superuser=True)
    page.goto(f"{base}{reverse('admin:index')}")
    page.get_by_label("Username").fill("root")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Site administration")
    for name in ("relations_relation", "practice_auditevent", "practice_membership"):
        page.goto(f"{base}{reverse(f'admin:{name}_changelist')}")
        expect(page.locator("#changelist")).to_be_visible()
    page.goto(f"{base}{reverse('admin:relations_relation_change', args=[company.pk])}")
    expect(page.locator("#content-main form")).to_be_visible()
    page.wait_for_function(ALL_RECEIVED)
    context.close()

    assert len(watch.visited) > 20
    assert watch.violations == []
    assert watch.failed_responses == []
    assert watch.console_errors == []
