"""Headers: a Content-Security-Policy that no template needs to weaken (no inline script, style or
handler anywhere), the hardening headers on every response, and `check --deploy` clean with
production settings."""

import os
import re
import secrets
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.conf import settings
from django.urls import reverse

BASE_DIR = Path(settings.BASE_DIR)
OUR_APPS = ("practice", "relations", "connections", "portal", "sync")
TEMPLATE_TAG = re.compile(r"{%.*?%}|{{.*?}}|{#.*?#}", re.DOTALL)


def our_templates() -> list[Path]:
    roots = [BASE_DIR / "templates", *(BASE_DIR / app / "templates" for app in OUR_APPS)]
    return sorted(p for root in roots if root.is_dir() for p in root.rglob("*.html"))


class InlineFinder(HTMLParser):
    """Collects what a strict CSP (no 'unsafe-inline') would block: inline scripts, <style>,
    style attributes and on… handler attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = {name.lower() for name, _ in attrs}
        if tag == "script" and "src" not in names:
            kind = dict(attrs).get("type") or ""
            # JSON data islands are not executed, so CSP does not apply to them.
            if kind.lower() != "application/json":
                self.found.append(f"<script> without src at line {self.getpos()[0]}")
        if tag == "style":
            self.found.append(f"<style> at line {self.getpos()[0]}")
        for name in names:
            if name == "style" or name.startswith("on"):
                self.found.append(f"{name}= on <{tag}> at line {self.getpos()[0]}")


def inline_code(source: str) -> list[str]:
    # Template tags become blanks of the same shape (line numbers hold), so that
    # `{% if %}style="…"{% endif %}` is still seen and a tag's own quotes do not confuse the parser.
    finder = InlineFinder()
    finder.feed(TEMPLATE_TAG.sub(lambda m: re.sub(r"[^\n]", " ", m.group()), source))
    finder.close()
    return finder.found


def test_the_finder_sees_each_kind_of_inline_code():
    sample = """
      <script>alert(1)</script>
      <script type="module">import x from "y"</script>
      <style>p {}</style>
      <p style="color: red">
      <button onclick="go()">{% translate "Go" %}</button>
      <img src="x" ONERROR="x()">
      <div {% if a %}style="display:none"{% endif %}></div>
    """
    assert len(inline_code(sample)) == 7
    harmless = """
      <script src="/static/js/x.js" defer></script>
      <script type="application/json" id="data">{"a": 1}</script>
      <link rel="stylesheet" href="/static/css/kring.css">
      <p class="styled" data-onclick="x" hx-on="y">{{ style }}</p>
      <a href="/only-text-mentions-onclick=">Styles and on-handlers named in text</a>
    """
    assert inline_code(harmless) == []


def test_no_template_has_inline_script_style_or_handlers():
    templates = our_templates()
    assert len(templates) > 20
    found = {
        str(path.relative_to(BASE_DIR)): problems
        for path in templates
        if (problems := inline_code(path.read_text()))
    }
    assert found == {}


def test_the_policy_allows_nothing_inline():
    policy = settings.SECURE_CSP
    for directive in ("default-src", "script-src", "style-src"):
        assert policy[directive] == ["'self'"], directive
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["object-src"] == ["'none'"]
    assert "unsafe" not in repr(policy)


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["login", "portal-login", "admin:login"])
def test_responses_carry_the_hardening_headers(client, url):
    response = client.get(reverse(url), secure=True)
    assert response.status_code == 200
    csp = response["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    assert "script-src 'self'" in csp
    assert "style-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


def production_env(**overrides: str) -> dict[str, str]:
    """The environment of a production deploy: DEBUG off, a real key, a host, nothing from tests."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "SECURE_", "SESSION_", "CSRF_", "DEBUG", "ALLOWED_"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DEBUG="false",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="kring.example",
        LEDGER_CREDENTIALS_KEY=Fernet.generate_key().decode(),
    )
    env.update(overrides)
    return env


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_is_clean_with_production_settings():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=production_env())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_check_deploy_would_catch_a_weakened_deploy():
    """The test above can fail: the same check, with HTTPS hardening switched off, complains."""
    weak = production_env(SESSION_COOKIE_SECURE="false", SECURE_HSTS_SECONDS="0")
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=weak)
    assert result.returncode != 0
    assert "security.W012" in result.stderr + result.stdout
    assert "security.W004" in result.stderr + result.stdout


def test_production_cookies_are_secure_and_http_only():
    script = (
        "from django.conf import settings as s;"
        "print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.LANGUAGE_COOKIE_SECURE,"
        " s.SESSION_COOKIE_HTTPONLY, s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS)"
    )
    result = manage("shell", "--no-imports", "-c", script, env=production_env())
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1].split() == [
        "True",
        "True",
        "True",
        "True",
        "True",
        "31536000",
    ]
