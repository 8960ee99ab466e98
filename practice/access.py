"""The helpers every staff view goes through, so that no query escapes the request's practice.

Anything outside the current practice answers 404 (its existence is not confirmed); a read-only member
asking to change something answers 403. Users without a membership (portal users, strangers) get 404
on every staff page.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import TYPE_CHECKING, Any, Concatenate, TypeGuard, overload

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404

from practice.audit import OTHER_PRACTICE_FLAG
from practice.http import MemberRequest

if TYPE_CHECKING:
    from practice.models import Membership

# A member view: a MemberRequest and the URL's arguments in; once decorated, Django's HttpRequest.
type MemberView[**P, R: HttpResponseBase] = Callable[Concatenate[MemberRequest, P], R]
type View[**P, R: HttpResponseBase] = Callable[Concatenate[HttpRequest, P], R]


def is_member(request: HttpRequest) -> TypeGuard[MemberRequest]:
    """Signed in, with a membership of the current practice (practice.middleware sets it)."""
    return request.user.is_authenticated and getattr(request, "membership", None) is not None


def member_required[**P, R: HttpResponseBase](view: MemberView[P, R]) -> View[P, R]:
    """Login, then a membership of the current practice; otherwise the page does not exist."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, /, *args: P.args, **kwargs: P.kwargs) -> R:
        if not is_member(request):
            raise Http404("No practice membership.")
        return view(request, *args, **kwargs)

    return wrapper


def change_required[**P, R: HttpResponseBase](view: MemberView[P, R]) -> View[P, R]:
    """A member who may change things (owner or staff); read-only members get 403."""

    @member_required
    @wraps(view)
    def wrapper(request: MemberRequest, /, *args: P.args, **kwargs: P.kwargs) -> R:
        require_change(request)
        return view(request, *args, **kwargs)

    return wrapper


def owner_required[**P, R: HttpResponseBase](view: MemberView[P, R]) -> View[P, R]:
    @member_required
    @wraps(view)
    def wrapper(request: MemberRequest, /, *args: P.args, **kwargs: P.kwargs) -> R:
        if not request.membership.is_owner:
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapper


def require_change(request: MemberRequest) -> Membership:
    membership = request.membership
    if membership is None:  # only a view that skipped member_required gets here without one
        raise Http404("No practice membership.")
    if not membership.can_change:
        raise PermissionDenied
    return membership


@overload
def scoped[Q: QuerySet[Any, Any]](request: MemberRequest, queryset: Q) -> Q: ...
@overload
def scoped[M: Model](request: MemberRequest, queryset: type[M]) -> QuerySet[M]: ...
def scoped(
    request: MemberRequest, queryset: QuerySet[Any, Any] | type[Model]
) -> QuerySet[Any, Any]:
    """The queryset narrowed to the request's practice: the starting point of every view query.

    Given a queryset, the same kind of queryset (RelationQuerySet stays one, with its methods)."""
    if request.membership is None:
        raise Http404("No practice membership.")
    qs = queryset._default_manager.all() if isinstance(queryset, type) else queryset
    return qs.filter(practice=request.membership.practice)


def get_scoped_or_404[M: Model](
    request: MemberRequest,
    queryset: QuerySet[M] | type[M],
    *,
    change: bool = False,
    **lookup: Any,
) -> M:
    """One object of the current practice; 404 outside it, then 403 when `change` and read-only.

    The 404 comes first so that an outsider cannot learn from a 403 that an id exists elsewhere.
    """
    try:
        obj = get_object_or_404(scoped(request, queryset), **lookup)
    except Http404:
        model = queryset if isinstance(queryset, type) else queryset.model
        if model._default_manager.filter(**lookup).exists():
            # Still a 404 for the user; the audit (practice.middleware.AuditMiddleware) is told.
            setattr(request, OTHER_PRACTICE_FLAG, True)
        raise
    if change:
        require_change(request)
    return obj
