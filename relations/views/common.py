"""Loading a relation for a view: always from the request's practice (404 outside it)."""

from collections.abc import Callable
from uuid import UUID

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect

from practice.access import get_scoped_or_404
from practice.http import MemberRequest
from relations.models import Relation


def get_relation(request: MemberRequest, public_id: UUID, *, change: bool = False) -> Relation:
    """The relation of the current practice; 404 for anyone else's, 403 on change for read-only."""
    return get_scoped_or_404(request, Relation, change=change, public_id=public_id)


def relation_hint(relation: Relation, city: str | None, *, kind: bool = True) -> str:
    """What tells a relation from a namesake where it is offered or reported by name (pickers, the
    bulk report): its kind, type, client code, city and e-mail, those it has, in one short line."""
    parts = [
        relation.get_kind_display() if kind else "",
        relation.get_entity_display(),
        relation.client_code,
        city or "",
        relation.email,
    ]
    return " · ".join(str(part) for part in parts if part)


def relation_action(
    request: MemberRequest,
    public_id: UUID,
    run: Callable[[Relation], object],
    success: str,
    *,
    then: Callable[[Relation], str] | None = None,
) -> HttpResponse:
    """A header button's POST: load for change, run one service call, say how it went, go back.

    A refusal (ValidationError) becomes an error message; `success` may use %(name)s and %(email)s.
    """
    relation = get_relation(request, public_id, change=True)
    try:
        run(relation)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        relation.refresh_from_db()
        messages.success(request, success % {"name": relation, "email": relation.email})
    return redirect(then(relation) if then else relation.get_absolute_url())
