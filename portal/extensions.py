"""What apps above the portal add to the contact's home page, so that portal never imports them.

An app registers a `HomeSection` from its AppConfig.ready(); portal.views.home renders each one's
template with what `context(request, account)` returns (None: the section is left out).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from portal.models import PortalAccount
    from practice.http import PortalRequest


@dataclass(frozen=True)
class HomeSection:
    key: str
    template: str
    context: Callable[[PortalRequest, PortalAccount], dict[str, Any] | None]
    order: int = 100


home_sections: dict[str, HomeSection] = {}


def register_home_section(section: HomeSection) -> None:
    home_sections[section.key] = section


def sections_for(
    request: PortalRequest, account: PortalAccount
) -> list[tuple[str, dict[str, Any]]]:
    shown = []
    for section in sorted(home_sections.values(), key=lambda s: (s.order, s.key)):
        context = section.context(request, account)
        if context is not None:
            shown.append((section.template, context))
    return shown
