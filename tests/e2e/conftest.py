"""Browser tests: Playwright drives Debian's chromium (never a downloaded browser) against a live server."""

import os
import shutil
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

# Playwright's sync API keeps an event loop in this thread; the ORM calls the tests make between page
# steps (fixtures, assertions on the database) are still plain synchronous code.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str:
    path = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
    if not os.path.exists(path):
        pytest.fail(
            f"Chromium not found at {path}: apt-get install chromium (or set CHROMIUM_PATH)."
        )
    return path


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path(), headless=True, args=CHROMIUM_FLAGS
        )
        yield browser
        browser.close()


def _page(browser: Browser, locale: str) -> Iterator[Page]:
    context = browser.new_context(locale=locale)
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def page(browser) -> Iterator[Page]:
    yield from _page(browser, "en-GB")


@pytest.fixture
def dutch_page(browser) -> Iterator[Page]:
    yield from _page(browser, "nl-NL")


@pytest.fixture
def login(live_server):
    def do_login(page: Page, username: str, password: str) -> None:
        page.goto(f"{live_server.url}/login/")
        page.get_by_label("Username").or_(page.get_by_label("Gebruikersnaam")).fill(username)
        page.get_by_label("Password").or_(page.get_by_label("Wachtwoord")).fill(password)
        page.get_by_role("button", name="Log in").or_(
            page.get_by_role("button", name="Inloggen")
        ).click()

    return do_login
