"""The isolation matrix: every URL pattern of the project, walked from the URLconf, and what it is.

A pattern is either a staff page (`STAFF`, with the methods it answers and who may use it), a page of
the client portal (`PORTAL`), or exempt (`EXEMPT`, with the reason, or the admin, tested on its own).
`tests/security/test_isolation_matrix.py` fails for a pattern that is none of these, so a new view
cannot slip past the checks; each URL keyword is turned into an object of the practice under test
by `URL_KWARGS`, and an unknown keyword fails too.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.urls.resolvers import RegexPattern

from tests.security.world import Side

# --- walking the URLconf -------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    """One URL pattern: its full route (prefixes joined), its name (namespaced) and keywords."""

    route: str
    name: str | None
    kwargs: tuple[str, ...]
    parts: tuple[tuple[str, bool], ...]  # (pattern text, is a regex) per level

    @property
    def label(self) -> str:
        return self.name or self.route

    def concrete(self, values: dict[str, str]) -> str:
        """The path with every keyword replaced by `values`, for patterns `reverse` cannot build."""
        path = ""
        for text, is_regex in self.parts:
            if is_regex:
                text = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: values[m.group(1)], text)
                text = text.lstrip("^").rstrip("$")
            else:
                text = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: values[m.group(1)], text)
            path += text
        return "/" + path


def _kwargs_of(pattern: Any) -> tuple[str, ...]:
    if isinstance(pattern, RegexPattern):
        return tuple(pattern.regex.groupindex)
    return tuple(pattern.converters)


def walk(
    patterns: list | None = None,
    parts: tuple[tuple[str, bool], ...] = (),
    kwargs: tuple[str, ...] = (),
    namespace: str | None = None,
) -> Iterator[Route]:
    """Every URLPattern under the root URLconf, through includes and namespaces (i18n ones too)."""
    if patterns is None:
        patterns = get_resolver().url_patterns
    for entry in patterns:
        here = (*parts, (str(entry.pattern), isinstance(entry.pattern, RegexPattern)))
        names = (*kwargs, *_kwargs_of(entry.pattern))
        if isinstance(entry, URLResolver):
            inner = namespace
            if entry.namespace:
                inner = f"{namespace}:{entry.namespace}" if namespace else entry.namespace
            yield from walk(entry.url_patterns, here, names, inner)
        elif isinstance(entry, URLPattern):
            name = entry.name
            if name and namespace:
                name = f"{namespace}:{name}"
            yield Route(
                route="".join(text for text, _regex in here), name=name, kwargs=names, parts=here
            )


# --- what each URL is ----------------------------------------------------------------------------

MEMBER, CHANGE, OWNER = "member", "change", "owner"


@dataclass(frozen=True)
class Staff:
    """A staff page. `access`: who may use it (MEMBER reads, CHANGE owner/staff, OWNER owners only).

    `relation` names the Side attribute its `public_id` points at (a relation in a state in which the
    action succeeds); `data` builds a plausible POST body for a Side; `changes_db` says whether that
    POST, accepted, writes to the database (a practice switch only changes the session).
    """

    methods: tuple[str, ...]
    access: str
    relation: str = "client"
    data: Callable[[Side], dict[str, Any]] = field(default=lambda side: {})
    changes_db: bool = True
    readonly_may_post: str = ""  # the reason, when a read-only member may use this POST


def _today(offset: int = 0) -> str:
    return (date.today() + timedelta(days=offset)).isoformat()


def _relation_form(side: Side) -> dict[str, Any]:
    client = side.client
    return {
        "version": client.version,
        "client_code": client.client_code,
        "legal_name": f"{client.legal_name} (overgenomen)",
        "email": client.email,
        "language": client.language,
        "confirm_duplicates": "on",
    }


def _address_form(side: Side) -> dict[str, Any]:
    return {
        "type": "postal",
        "street": "Overnamestraat",
        "house_number": "13",
        "postcode": "1234 AB",
        "city": "Elders",
        "country": "NL",
        "is_default": "on",
    }


def _bank_form(side: Side) -> dict[str, Any]:
    return {"iban": "NL02ABNA0123456789", "holder": "Overname B.V.", "confirm_duplicates": "on"}


def _agreement_form(side: Side) -> dict[str, Any]:
    return {"service": "payroll", "start_date": _today(-30), "notes": "overgenomen"}


# The answer on a confirm page (practice/confirm.py): without it such a POST only asks.
CONFIRMED = {"confirmed": "1"}

STAFF: dict[str, Staff] = {
    "home": Staff(("GET",), MEMBER),
    "practice-switch": Staff(
        ("POST",),
        MEMBER,
        data=lambda side: {"practice": side.practice.slug},
        changes_db=False,
        readonly_may_post="switching practice changes only the session, never data",
    ),
    "relations-list": Staff(("GET",), MEMBER),
    "relations-export": Staff(("GET",), MEMBER),
    "relations-export-xlsx": Staff(("GET",), MEMBER),
    "relations-bulk": Staff(
        ("POST",),
        CHANGE,
        # `confirmed`: posted from the archive's confirm page (without it, the page is shown).
        data=lambda side: {
            "action": "archive",
            "ids": [str(side.client.public_id)],
            "confirmed": "1",
        },
    ),
    "relations-new": Staff(
        ("GET", "POST"),
        CHANGE,
        data=lambda side: {
            "kind": "contact",
            "entity": "private",
            "last_name": "Nieuwkomer",
            "email": "nieuw@example.nl",
            "language": "nl",
        },
    ),
    "relations-detail": Staff(("GET",), MEMBER),
    "relations-tab": Staff(("GET",), MEMBER),
    "relations-edit": Staff(("GET", "POST"), CHANGE, data=_relation_form),
    "relations-convert-to-client": Staff(("POST",), CHANGE, relation="contact"),
    # The conversions and the removals ask first (practice/confirm.py): GET is the confirm page.
    "relations-convert-to-private": Staff(
        ("GET", "POST"),
        CHANGE,
        relation="company_contact",
        data=lambda side: {"confirmed": "1", "first_name": "Over", "last_name": "Genomen"},
    ),
    "relations-convert-to-company": Staff(
        ("GET", "POST"),
        CHANGE,
        relation="contact",
        data=lambda side: {"confirmed": "1", "legal_name": "Overgenomen B.V."},
    ),
    # GET: the confirm page; the confirmed POST ends the client's running agreements too.
    "relations-archive": Staff(("GET", "POST"), CHANGE, data=lambda side: {"confirmed": "1"}),
    "relations-restore": Staff(("POST",), CHANGE, relation="archived"),
    "relations-reveal-bsn": Staff(("POST",), CHANGE, relation="contact"),
    "relations-address-new": Staff(("GET", "POST"), CHANGE, data=_address_form),
    "relations-address-edit": Staff(("GET", "POST"), CHANGE, data=_address_form),
    "relations-address-remove": Staff(("GET", "POST"), CHANGE, data=lambda side: CONFIRMED),
    "relations-bank-new": Staff(("GET", "POST"), CHANGE, data=_bank_form),
    "relations-bank-edit": Staff(("GET", "POST"), CHANGE, data=_bank_form),
    "relations-bank-remove": Staff(("GET", "POST"), CHANGE, data=lambda side: CONFIRMED),
    "relations-agreement-new": Staff(("GET", "POST"), CHANGE, data=_agreement_form),
    "relations-agreement-edit": Staff(("GET", "POST"), CHANGE, data=_agreement_form),
    # GET: the confirm page
    "relations-agreement-end": Staff(("GET", "POST"), CHANGE, data=lambda side: {"confirmed": "1"}),
    "relations-team-add": Staff(
        ("GET", "POST"),
        CHANGE,
        data=lambda side: {"member": side.readonly.pk, "role": "payroll"},
    ),
    "relations-team-remove": Staff(("POST",), CHANGE),
    "connections-add": Staff(
        ("GET", "POST"),
        CHANGE,
        data=lambda side: {
            "other": str(side.company_contact.public_id),
            "role": "other:subject",
            "description": "overgenomen",
        },
    ),
    "connections-picker": Staff(("GET",), CHANGE),
    "connections-end": Staff(
        ("GET", "POST"), CHANGE, data=lambda side: {"end_date": _today(), **CONFIRMED}
    ),
    "connections-portal-access": Staff(
        ("POST",), CHANGE, data=lambda side: {"portal_access": "on"}
    ),
    # Chat (collab): threads on the client; reading is a member's, writing needs change.
    "chat-new": Staff(
        ("GET", "POST"),
        CHANGE,
        data=lambda side: {"subject": "Overgenomen", "body": "Hallo", "visibility": "visible"},
    ),
    "chat-thread": Staff(("GET",), MEMBER),
    "inbox": Staff(("GET",), MEMBER),
    "chat-post": Staff(
        ("POST",), CHANGE, data=lambda side: {"body": "Overgenomen", "visibility": "internal"}
    ),
    "chat-read": Staff(
        ("POST",), MEMBER, readonly_may_post="one's own read mark, not the office's data"
    ),
    "chat-withdraw": Staff(("GET", "POST"), CHANGE, data=lambda side: CONFIRMED),
    "portal-invite": Staff(("POST",), CHANGE, relation="contact"),
    "portal-resend": Staff(("POST",), CHANGE, relation="invited"),
    "portal-revoke": Staff(
        ("GET", "POST"), CHANGE, relation="invited", data=lambda side: CONFIRMED
    ),
    "lookups-vat-check": Staff(("POST",), CHANGE),
    "lookups-vcard": Staff(("GET",), MEMBER, relation="contact"),
    "lookups-link-override": Staff(
        ("POST",), CHANGE, data=lambda side: {"url_template": "https://elders.example/{kvk}"}
    ),
    "lookups-settings": Staff(
        ("GET", "POST"),
        OWNER,
        data=lambda side: {"address_provider": "pdok", "vat_provider": "vies"},
    ),
    "lookups-link-new": Staff(
        ("GET", "POST"),
        OWNER,
        data=lambda side: {
            "name": "Belastingdienst",
            "url_template": "https://belastingdienst.example/{btw}",
            "audience": "staff",
        },
    ),
    "lookups-link-edit": Staff(
        ("GET", "POST"),
        OWNER,
        data=lambda side: {
            "name": "Ander portaal",
            "url_template": "https://portaal.example/{klantcode}",
            "audience": "both",
            "on_by_default": "on",
        },
    ),
    "lookups-link-remove": Staff(("POST",), OWNER),
    "sync-retry": Staff(("POST",), CHANGE, relation="failed"),
    "sync-send-now": Staff(("POST",), CHANGE),
    "sync-keep-kring": Staff(("POST",), CHANGE, relation="conflict"),
    "sync-take-ledger": Staff(("POST",), CHANGE, relation="conflict"),
    "sync-settings": Staff(
        ("GET", "POST"),
        OWNER,
        data=lambda side: {
            "adapter": "local",
            "office_code": "NLA999999",
            "login_url": "https://login.twinfield.com",
        },
    ),
    "sync-import": Staff(("GET", "POST"), OWNER, data=lambda side: {"dry_run": "on"}),
    "sync-import-run": Staff(("GET",), OWNER),
    # Kantoor → Medewerkers (practice/office.py): the owner's only.
    "office-members": Staff(("GET",), OWNER),
    "office-invite": Staff(
        ("GET", "POST"),
        OWNER,
        data=lambda side: {"email": f"nieuwe.collega@{side.label}.example", "role": "staff"},
    ),
    "office-member": Staff(("GET",), OWNER),
    "office-member-role": Staff(("POST",), OWNER, data=lambda side: {"role": "read_only"}),
    "office-member-deactivate": Staff(("GET", "POST"), OWNER, data=lambda side: CONFIRMED),
    "office-member-reactivate": Staff(("POST",), OWNER),
    "office-invitation-resend": Staff(("POST",), OWNER),
    "office-invitation-revoke": Staff(("GET", "POST"), OWNER, data=lambda side: CONFIRMED),
    "office-two-step": Staff(("POST",), OWNER, data=lambda side: {"require_two_step": "on"}),
    # Kantoor → Teamrollen and Overdragen (relations/views/roles.py): the owner's only.
    "team-roles": Staff(("GET", "POST"), OWNER, data=lambda side: {"name": "Kwaliteit"}),
    "team-role-rename": Staff(("POST",), OWNER, data=lambda side: {"name": "Controle"}),
    "team-role-move": Staff(("POST",), OWNER, data=lambda side: {"direction": "up"}),
    "team-role-active": Staff(("POST",), OWNER, data=lambda side: {"active": "0"}),
    "team-role-delete": Staff(("GET", "POST"), OWNER, data=lambda side: CONFIRMED),
    "team-hand-over": Staff(
        ("GET", "POST"), OWNER, data=lambda side: {"to": side.owner.pk, **CONFIRMED}
    ),
    # Mijn account: one's own account, so a read-only member may change it too.
    "account": Staff(
        ("GET", "POST"),
        MEMBER,
        data=lambda side: {
            "first_name": "Lees",
            "last_name": "Alleen",
            "email": side.readonly.email,
            "language": "en",
        },
        readonly_may_post="one's own name and language, not the office's data",
    ),
    "account-password": Staff(
        ("GET", "POST"),
        MEMBER,
        data=lambda side: {
            "old_password": "correct-horse-battery",
            "new_password1": "nieuw-wachtwoord-bos-77",
            "new_password2": "nieuw-wachtwoord-bos-77",
        },
        readonly_may_post="one's own password, not the office's data",
    ),
    # A wrong code changes nothing (the right one is computed from the session's key: see
    # tests/practice/test_two_step.py).
    "account-two-step": Staff(
        ("GET", "POST"),
        MEMBER,
        data=lambda side: {"code": "000000"},
        changes_db=False,
        readonly_may_post="one's own two-step login",
    ),
    "account-two-step-off": Staff(
        ("GET", "POST"),
        MEMBER,
        data=lambda side: {"code": "000000"},
        changes_db=False,
        readonly_may_post="one's own two-step login",
    ),
    "account-two-step-codes": Staff(
        ("GET", "POST"),
        MEMBER,
        data=lambda side: {"code": "000000"},
        changes_db=False,
        readonly_may_post="one's own two-step login",
    ),
}


def _deadline_kind(side: Side, key: str) -> int:
    from work.models import DeadlineKind

    return DeadlineKind.objects.get(practice=side.practice, key=key).pk


def _template_form(side: Side) -> dict[str, Any]:
    return {"name": f"Jaarwerk {side.label}", "service": "annual_accounts", "period_kind": "year"}


def _step_form(side: Side) -> dict[str, Any]:
    return {
        "position": 2,
        "title": "Aangifte indienen",
        "assignee_kind": "starter",
        "due_rule": "after_previous",
        "days": 3,
        "checklist_text": "Controleren\nIndienen",
    }


STAFF.update(
    {
        # Werkprocessen (work/): Mijn taken, the tasks' actions, starting a process, the templates.
        "work-tasks": Staff(("GET",), MEMBER),
        "work-tasks-complete": Staff(
            ("POST",),
            CHANGE,
            data=lambda side: {"tasks": [f"{side.task.pk}:{side.task.version}"]},
        ),
        "work-digest": Staff(
            ("POST",),
            MEMBER,
            data=lambda side: {"enabled": "0"},
            readonly_may_post="one's own daily e-mail, not the office's data",
        ),
        "work-task-claim": Staff(("POST",), CHANGE),
        "work-task-complete": Staff(
            ("POST",), CHANGE, data=lambda side: {"version": side.task.version}
        ),
        "work-task-skip": Staff(
            ("GET", "POST"),
            CHANGE,
            data=lambda side: {"version": side.task.version, "reason": "Niet van toepassing"},
        ),
        "work-task-reopen": Staff(("POST",), CHANGE),
        "work-start": Staff(
            ("GET", "POST"),
            CHANGE,
            data=lambda side: {"template": side.process_template.pk, "period": "2025-Q4"},
        ),
        "work-extension": Staff(
            ("GET", "POST"),
            CHANGE,
            data=lambda side: {
                "deadline_kind": _deadline_kind(side, "ib"),
                "fiscal_year": 2025,
                "due_date": "2027-05-03",
                "reason": "Uitstelregeling",
                "confirmed": "1",
            },
        ),
        "work-planner": Staff(("GET",), MEMBER),
        "work-planner-start": Staff(
            ("POST",),
            CHANGE,
            data=lambda side: {
                "template": side.process_template.pk,
                "period": "2025-Q4",
                "ids": [str(side.client.public_id)],
            },
        ),
        "work-templates": Staff(("GET",), OWNER),
        "work-template-new": Staff(("GET", "POST"), OWNER, data=_template_form),
        "work-template": Staff(("GET", "POST"), OWNER, data=_template_form),
        "work-template-archive": Staff(("POST",), OWNER),
        "work-step-new": Staff(("GET", "POST"), OWNER, data=_step_form),
        "work-step": Staff(("GET", "POST"), OWNER, data=_step_form),
    }
)

# The client portal's own pages: anonymous users go to the portal's login, staff get 404.
PORTAL = {
    "portal-home",
    "portal-two-step",
    "portal-two-step-off",
    "portal-two-step-codes",
    # Chat (collab.portal_views): tests/security/test_portal_chat.py
    "portal-chat",
    "portal-chat-new",
    "portal-chat-thread",
    "portal-chat-post",
    "portal-chat-read",
}

EXEMPT = {
    "login": "the login page is open to anyone",
    "logout": "logging out is open to anyone (POST, CSRF-checked)",
    "set_language": "choosing a language is open to anyone (sessions and cookies only)",
    "portal-login": "the portal's login page is open to anyone",
    "portal-accept": "anyone holding an invitation link may open it (tests/portal/test_accept.py)",
    "office-join": "anyone holding a colleague's invitation link may open it (tests/practice/test_members.py)",
    "two-step-verify": "the second step of signing in: only a session that owes it sees the form",
    "password-reset": "asking for a reset link is open to anyone; the answer never tells",
    "password-reset-done": "the same answer for every address",
    "password-reset-confirm": "anyone holding a reset link may open it; a wrong one is refused",
    "password-reset-complete": "a page of text",
    "portal-password-reset": "asking for a reset link is open to anyone; the answer never tells",
    "portal-password-reset-done": "the same answer for every address",
    "portal-password-reset-confirm": "anyone holding a reset link may open it; a wrong one is refused",
    "portal-password-reset-complete": "a page of text",
}
# The admin is for superusers only: test_isolation_matrix checks non-staff users cannot reach it.
ADMIN_NAMESPACE = "admin"


def is_admin(route: Route) -> bool:
    return route.route.startswith("admin/") or (route.name or "").startswith(ADMIN_NAMESPACE + ":")


# --- URL keywords → an object of the practice under test -----------------------------------------

# The path segment before `<int:pk>` says what the pk is.
PK_OBJECTS: dict[str, Callable[[Side], Any]] = {
    "addresses": lambda side: side.address,
    "banks": lambda side: side.bank,
    "agreements": lambda side: side.agreement,
    "team": lambda side: side.team_assignment,
    "connections": lambda side: side.connection,
    "import": lambda side: side.import_run,
    "members": lambda side: side.membership,
    "former-members": lambda side: side.former,
    "invitations": lambda side: side.colleague_invitation,
    "links": lambda side: side.office_link,
    "tasks": lambda side: side.task,
    "done-tasks": lambda side: side.done_task,
    "templates": lambda side: side.process_template,
    "steps": lambda side: side.template_step,
    "team-roles": lambda side: side.team_role,
    "chat": lambda side: side.thread,
    "messages": lambda side: side.message,
}
TAB = "timeline"


class UnknownKeyword(LookupError):
    pass


def _pk_object(route: Route, side: Side) -> Any:
    match = re.search(r"([\w-]+)/<int:pk>", route.route)
    segment = match.group(1) if match else ""
    if segment not in PK_OBJECTS:
        raise UnknownKeyword(
            f"{route.label}: no factory for <pk> after {segment!r}/; add it to PK_OBJECTS"
        )
    return PK_OBJECTS[segment](side)


def url_kwargs(route: Route, side: Side, inner: Side | None = None) -> dict[str, Any]:
    """The keywords that point `route` at `side`'s objects; UnknownKeyword for one not mapped.

    With `inner`, the object nested under the relation (the `pk`) is taken from that side instead:
    one's own relation in the URL, another practice's address or agreement behind it.
    """
    spec = STAFF.get(route.name or "")
    values: dict[str, Any] = {}
    for name in route.kwargs:
        if name == "public_id":
            values[name] = getattr(side, spec.relation if spec else "client").public_id
        elif name == "pk":
            values[name] = _pk_object(route, inner or side).pk
        elif name == "tab":
            values[name] = TAB
        else:
            raise UnknownKeyword(
                f"{route.label}: URL keyword <{name}> has no factory in tests/security/matrix.py"
            )
    return values


def url_for(route: Route, side: Side, inner: Side | None = None) -> str:
    return reverse(route.name, kwargs=url_kwargs(route, side, inner))


def routes() -> list[Route]:
    return list(walk())


def staff_routes() -> list[Route]:
    return [r for r in routes() if r.name in STAFF]


def staff_cases(
    *, with_id: bool = False, nested: bool = False, method: str | None = None
) -> list[tuple[str, str]]:
    """(url name, method) for each staff URL (with an id; with an id under a relation) and method."""
    return [
        (name, m)
        for route in staff_routes()
        if (name := route.name) is not None  # always: the staff routes are the named ones
        if not with_id or route.kwargs
        if not nested or {"public_id", "pk"} <= set(route.kwargs)
        for m in STAFF[name].methods
        if method is None or m == method
    ]


def route_named(name: str) -> Route:
    return next(r for r in routes() if r.name == name)
