"""Loading a relation for a view: always from the request's practice (404 outside it)."""

from uuid import UUID

from django.http import HttpRequest

from practice.access import get_scoped_or_404
from relations.models import Relation


def get_relation(request: HttpRequest, public_id: UUID, *, change: bool = False) -> Relation:
    """The relation of the current practice; 404 for anyone else's, 403 on change for read-only."""
    return get_scoped_or_404(request, Relation, change=change, public_id=public_id)
