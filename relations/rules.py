"""Rules about a relation that more than one floor needs, stated once.

Services enforce them (a view may ask first, to say so before a form is shown, but the service is
where the rule holds); every caller words a refusal with the message from here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy

if TYPE_CHECKING:
    from relations.models import Relation

ARCHIVED_READ_ONLY = gettext_lazy("This relation is archived. Restore it before changing it.")


def ensure_editable(relation: Relation) -> None:
    """An archived relation is read-only: its data, details, team, agreements and connections."""
    if relation.is_archived:
        raise ValidationError(ARCHIVED_READ_ONLY, code="archived")
