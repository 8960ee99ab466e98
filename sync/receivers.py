"""sync's answer to relations.signals.ledger_changed: nudge a push once the change is committed."""

from django.db import transaction

from relations.models import Relation


def on_ledger_changed(sender: type[Relation], *, relation: Relation, **kwargs) -> None:
    from sync.tasks import nudge

    practice_id = relation.practice_id
    transaction.on_commit(lambda: nudge(practice_id))
