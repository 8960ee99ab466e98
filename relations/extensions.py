"""The relation detail page's tabs and header actions: one registry for relations' own and for the
apps built on it, so that relations never imports them.

Every tab is a `Tab` registered once at start-up, from its app's AppConfig.ready() (relations' own
from relations/views/tabs.py): imports run downwards only (DESIGN §2). The detail view
(relations/views/pages.py) loops over `tabs_for(relation)` and templates/relations/detail.html over
what it passes on; there is no list of slugs anywhere else. A tab lives at `/relations/<id>/tab/<slug>/` (the overview at the relation's own URL).

A new tab in a few lines, e.g. a Chat tab from a `chat` app::

    # chat/apps.py
    class ChatConfig(AppConfig):
        name = "chat"

        def ready(self) -> None:
            from chat.views import tab_context            # (request, relation) -> dict
            from relations.extensions import Tab, register_tab

            register_tab(
                Tab(
                    slug="chat",
                    label=_("Chat"),                          # gettext_lazy
                    template="chat/tab.html",                 # a fragment inside the tab panel
                    context=tab_context,
                    position=75,                              # between Agreements and Timeline
                    applies=lambda relation: relation.is_client,
                )
            )

The fragment gets the page's context (`relation`, `can_change` — False for read-only members and
archived relations —, `tab`, `back_param`) and what `context(request, relation)` returns. A tab
that edits inline uses relations/views/inline.py (`render_form`, `done`, `refuse_if_archived`) and
includes `relations/_inline_form.html` in its `#form` partial and `relations/_inline_messages.html`
in its `#list` partial, as relations/tabs/addresses.html and connections/tab.html do.

Order: `position`, a number; the tabs are shown by ascending position, ties by slug. Relations'
own use multiples of ten; an app picks a number between the two it stands between:

    10 Overview · 20 Company details · 30 Addresses · 40 Bank accounts · 45 Connections · 50 Team
    60 Agreements · 65 Ledger · 90 Timeline
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


def _nothing(request: MemberRequest, relation: Relation) -> dict[str, Any]:
    return {}


@dataclass(frozen=True)
class Tab:
    """A tab of the relation's page.

    `label`: a lazy translation; `template`: the fragment included in the tab panel; `context`:
    what the fragment needs besides the page's own context; `position`: the order (see above);
    `applies`: whether a relation has the tab at all (a URL of a tab it lacks leads to the overview).
    """

    slug: str
    label: StrOrPromise
    template: str
    context: Context = field(default=_nothing)
    position: int = 100
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
    """Add a tab (or replace the one with its slug: registering again is harmless)."""
    tabs[tab.slug] = tab


def unregister_tab(slug: str) -> None:
    tabs.pop(slug, None)


def tabs_for(relation: Relation) -> list[Tab]:
    """The relation's tabs, in order."""
    return sorted(
        (tab for tab in tabs.values() if tab.applies(relation)),
        key=lambda tab: (tab.position, tab.slug),
    )


def register_header_action(action: HeaderAction) -> None:
    if action not in header_actions:
        header_actions.append(action)


# --- what apps above relations know about a relation ---------------------------------------------
#
# Converting a company to a private person proposes the person's names: a sole trader's owner is
# known to connections (its one current director who is a private person), which relations cannot
# import. Connections registers a finder; with none registered there is no proposal.

OwnerFinder = Callable[["Relation"], "Relation | None"]
owner_finders: list[OwnerFinder] = []


def register_owner_finder(finder: OwnerFinder) -> None:
    if finder not in owner_finders:
        owner_finders.append(finder)


def owner_of(relation: Relation) -> Relation | None:
    """The private person who owns this company, as the first registered finder that knows says."""
    for finder in owner_finders:
        if (owner := finder(relation)) is not None:
            return owner
    return None


# --- looking up an address -----------------------------------------------------------------------
#
# The address form offers "Look up address" (postcode + house number → street and city) when an app
# above relations (lookups) has registered a finder that is on for the practice. A finder returns
# the proposal, None when the register knows no such address, and raises LookupFailed when
# the register cannot answer (or refuses the question): the form then says so and is not blocked.
# The company form's "Fetch from KvK" works alike, with a CompanyFinder.


@dataclass(frozen=True)
class AddressProposal:
    street: str
    city: str
    source: str  # the register's name, shown with the proposal


class LookupFailed(Exception):
    """The register could not answer (`refused`: it answered that the question is not valid)."""

    def __init__(self, message: str = "", *, refused: bool = False) -> None:
        super().__init__(message)
        self.refused = refused


@dataclass(frozen=True)
class AddressFinder:
    enabled: Callable[[int], bool]  # (practice id): is it on for this office
    find: Callable[
        [int, str, str, str], AddressProposal | None
    ]  # (practice id, postcode, nr, add.)


address_finders: list[AddressFinder] = []


def register_address_finder(finder: AddressFinder) -> None:
    if finder not in address_finders:
        address_finders.append(finder)


def address_finder_for(practice_id: int) -> AddressFinder | None:
    """The first registered finder that is on for this practice; None: no button."""
    return next((f for f in address_finders if f.enabled(practice_id)), None)


# --- values for office links ---------------------------------------------------------------------
#
# An office link's placeholders (lookups.links) are filled from the relation; a value of its office
# that only an app above relations knows (the ledger's office code, from sync) comes from a
# registered provider. A provider gives office-level values: a page of many relations of one
# office asks it once.

LinkValues = Callable[["Relation"], dict[str, str]]
link_value_providers: list[LinkValues] = []


def register_link_values(provider: LinkValues) -> None:
    if provider not in link_value_providers:
        link_value_providers.append(provider)


def link_values_for(relation: Relation) -> dict[str, str]:
    values: dict[str, str] = {}
    for provider in link_value_providers:
        values.update(provider(relation))
    return values


@dataclass(frozen=True)
class CompanyFinder:
    """(practice id, KvK number) → {field name of the relation form: value}, None when the register
    knows no such number; raises LookupFailed."""

    enabled: Callable[[int], bool]
    find: Callable[[int, str], dict[str, str] | None]
    source: str


company_finders: list[CompanyFinder] = []


def register_company_finder(finder: CompanyFinder) -> None:
    if finder not in company_finders:
        company_finders.append(finder)


def company_finder_for(practice_id: int) -> CompanyFinder | None:
    return next((f for f in company_finders if f.enabled(practice_id)), None)


# --- who hears of a team change ------------------------------------------------------------------
#
# The work app routes a client's role tasks to the role's holders on its team; when the team changes
# it moves the open ones. Relations cannot import it: it calls what was registered here, inside the
# team change's own transaction.

TeamListener = Callable[[list["Relation"], list[str]], None]
team_listeners: list[TeamListener] = []


def register_team_listener(listener: TeamListener) -> None:
    if listener not in team_listeners:
        team_listeners.append(listener)


def teams_changed(relations: list[Relation], roles: list[str]) -> None:
    """These relations' teams changed in these roles (one call for a bulk change: a listener
    runs a fixed number of queries when nothing of its own is affected)."""
    if relations and roles:
        for listener in team_listeners:
            listener(relations, roles)


def team_changed(relation: Relation, role: str) -> None:
    teams_changed([relation], [role])


# What the Team tab warns about, from the apps built on relations (work: role tasks with nobody on the
# team to do them). Each notice finder runs a fixed number of queries and returns sentences.
TeamNotices = Callable[["Relation"], list[str]]
team_notice_finders: list[TeamNotices] = []


def register_team_notices(finder: TeamNotices) -> None:
    if finder not in team_notice_finders:
        team_notice_finders.append(finder)


def team_notices(relation: Relation) -> list[str]:
    return [notice for finder in team_notice_finders for notice in finder(relation)]
