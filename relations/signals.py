"""The one signal relations sends upwards (DESIGN §2): apps built on relations react to an archive.

`relation_archived(sender=Relation, relation=..., user=...)` is sent inside the archiving transaction,
so a receiver's writes (the portal revoking access) commit or roll back with the archive itself.
"""

from django.dispatch import Signal

relation_archived = Signal()

# `ledger_changed(sender=Relation, relation=...)`: a client's ledger data changed and its
# `ledger_version` was bumped in this transaction. The sync app nudges a push after commit; if the
# nudge is lost (broker down), the periodic sweep finds the version difference anyway.
ledger_changed = Signal()
