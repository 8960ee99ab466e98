"""sync's answer to relations.signals.ledger_changed: nudge a push once the change is committed."""

from django.db import connection, transaction

from relations.models import Relation


def on_ledger_changed(sender: type[Relation], *, relation: Relation, **kwargs) -> None:
    from sync.tasks import nudge

    practice_id = relation.practice_id
    # One drain pushes every due client of the practice, so one nudge per practice per transaction
    # is enough: a bulk conversion of 1,000 contacts queues one task, not 1,000. A rolled-back
    # savepoint takes its callbacks with it, so a later change in the same transaction registers anew.
    pending = getattr(connection, "run_on_commit", ())
    if any(getattr(func, "nudges_practice", None) == practice_id for _sids, func, *_ in pending):
        return

    def send() -> None:
        nudge(practice_id)

    send.nudges_practice = practice_id  # type: ignore[attr-defined]
    transaction.on_commit(send)
