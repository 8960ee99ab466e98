"""The one signal relations sends upwards (DESIGN §2): apps built on relations react to an archive.

`relation_archived(sender=Relation, relation=..., user=...)` is sent inside the archiving transaction,
so a receiver's writes (the portal revoking access) commit or roll back with the archive itself.
"""

from django.dispatch import Signal

relation_archived = Signal()
