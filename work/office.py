"""What work adds to the pages of the apps below it, and a new practice's deadline kinds."""

from __future__ import annotations

from typing import Any

from work import deadlines


def seed_new_practice(
    sender: Any, instance: Any, created: bool, raw: bool = False, **kwargs: Any
) -> None:
    """A new office starts with the Dutch deadline kinds (the data migration gave the existing ones
    theirs); a fixture load (`raw`) brings its own rows."""
    if created and not raw:
        from work.models import DeadlineKind

        deadlines.seed(DeadlineKind, instance.pk)


def register() -> None:
    pass
