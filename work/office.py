"""What work adds to the pages of the apps below it (registered from WorkConfig.ready(), so that
practice and relations never import work), and a new practice's deadline kinds."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from practice import extensions as practice_extensions
from practice.http import MemberRequest
from relations import extensions as relation_extensions
from work import deadlines

PANEL_ROWS = 8


def seed_new_practice(
    sender: Any, instance: Any, created: bool, raw: bool = False, **kwargs: Any
) -> None:
    """A new office starts with the Dutch deadline kinds (the data migration gave the existing ones
    theirs); a fixture load (`raw`) brings its own rows."""
    if created and not raw:
        from work.models import DeadlineKind

        deadlines.seed(DeadlineKind, instance.pk)


def my_tasks_panel(request: MemberRequest) -> dict[str, Any] | None:
    """The home page's "Mijn taken": the first few by due date and how many are late; two queries."""
    from work import dates
    from work.views import my_open_tasks

    mine = my_open_tasks(request)
    rows = list(mine[: PANEL_ROWS + 1])
    if not rows:
        return None
    return {
        "tasks": rows[:PANEL_ROWS],
        "more": len(rows) > PANEL_ROWS,
        "overdue": mine.filter(due_date__lt=dates.today()).count(),
    }


def register() -> None:
    from work import services
    from work.views import tab_context

    relation_extensions.register_team_listener(services.team_changed)
    relation_extensions.register_team_notices(services.queue_notices)
    practice_extensions.register_deactivation_listener(services.member_deactivated)

    relation_extensions.register_tab(
        relation_extensions.Tab(
            slug="work",
            label=_("Work processes"),
            template="work/tab.html",
            context=tab_context,
            position=62,  # after Agreements: the work the agreements are for
            applies=lambda relation: relation.is_client,
        )
    )
    practice_extensions.register_home_panel(
        practice_extensions.HomePanel(
            key="my-tasks", template="work/home_tasks.html", context=my_tasks_panel, order=5
        )
    )
