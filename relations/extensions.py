"""How apps built on relations add to a relation's detail page without relations importing them.

Imports run downwards only (DESIGN §2): `connections`, `portal` and `sync` register their tab or
their header actions here from their AppConfig.ready(); the detail page renders what is registered.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from practice.http import MemberRequest

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

    from relations.models import Relation

Context = Callable[[MemberRequest, "Relation"], dict[str, Any]]


def _always(relation: Relation) -> bool:
    return True


@dataclass(frozen=True)
class Tab:
    """A tab at `/relations/<id>/tab/<slug>/`; `template` is a fragment included in the page."""

    slug: str
    label: StrOrPromise  # a lazy translation, read when the page is drawn
    template: str
    context: Context
    after: str  # the slug of the tab it follows
    applies: Callable[[Relation], bool] = field(default=_always)


@dataclass(frozen=True)
class HeaderAction:
    """A fragment rendered among the header actions (buttons/forms) for those who may change."""

    template: str
    context: Context
    applies: Callable[[Relation], bool] = field(default=_always)


tabs: dict[str, Tab] = {}
header_actions: list[HeaderAction] = []


def register_tab(tab: Tab) -> None:
    tabs[tab.slug] = tab


def register_header_action(action: HeaderAction) -> None:
    if action not in header_actions:
        header_actions.append(action)
