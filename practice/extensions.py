"""How the apps built on practice add to its pages without practice importing them.

Imports run downwards only (practice ← relations ← {connections, portal, sync} ← config): the home
page and the members pages belong to practice, but what they show of relations, the ledger or the
portal is registered here by those apps from their AppConfig.ready() (as relations.extensions does
for a relation's tabs). Each hook runs a fixed number of queries, whatever the office's size.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from practice.http import MemberRequest

if TYPE_CHECKING:
    from practice.models import Membership, Practice


@dataclass(frozen=True)
class HomePanel:
    """A card on the home page: `template` is included with what `context` returns; None hides it.

    `order` places it (lower first). `empty_office` is asked for the first steps of a new office: a
    panel that knows its app has nothing yet returns a step (label, url, text) or None.
    """

    key: str
    template: str
    context: Callable[[MemberRequest], dict[str, Any] | None]
    order: int = 100


@dataclass(frozen=True)
class FirstStep:
    """One thing a new office does first (add relations, import debtors, invite colleagues)."""

    key: str
    order: int
    # (request) -> (title, text, url) when the step is still to do and the member may do it.
    applies: Callable[[MemberRequest], tuple[str, str, str] | None]


@dataclass(frozen=True)
class MemberWork:
    """What a member is on in an app built on practice (relations: their team places).

    `counts(practice)` gives {user_id: number} for the members list in one query; `places(membership)`
    the rows listed on a member's page for reassignment, as (label, detail, url) tuples.
    """

    key: str
    label: Any  # a lazy translation: the column's heading
    counts: Callable[[Practice], dict[int, int]]
    places: Callable[[Membership], list[tuple[str, str, str]]]
    # (membership) -> the actions offered on the member's page, as (label, url) pairs (Overdragen).
    actions: Callable[[Membership], list[tuple[str, str]]] = lambda membership: []


home_panels: dict[str, HomePanel] = {}
first_steps: dict[str, FirstStep] = {}
member_work: dict[str, MemberWork] = {}


def register_home_panel(panel: HomePanel) -> None:
    home_panels[panel.key] = panel


def register_first_step(step: FirstStep) -> None:
    first_steps[step.key] = step


def register_member_work(work: MemberWork) -> None:
    member_work[work.key] = work


# A member deactivated (practice.members.deactivate): the apps built on practice let go of what was
# theirs (the work app puts their role tasks back to the role), inside the same transaction.
MemberListener = Callable[["Membership"], None]
deactivation_listeners: list[MemberListener] = []


def register_deactivation_listener(listener: MemberListener) -> None:
    if listener not in deactivation_listeners:
        deactivation_listeners.append(listener)


def member_deactivated(membership: Membership) -> None:
    for listener in deactivation_listeners:
        listener(membership)
