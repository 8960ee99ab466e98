"""sync's answer to relations.signals.ledger_changed: nudge a push once the change is committed."""

from relations.models import Relation
from sync.wake import nudge_on_commit


def on_ledger_changed(sender: type[Relation], *, relation: Relation, **kwargs) -> None:
    # One nudge per practice per transaction (see nudge_on_commit).
    nudge_on_commit(relation.practice_id)
