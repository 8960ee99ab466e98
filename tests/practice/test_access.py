"""The scoping helpers every staff view builds on: outside the practice → 404, read-only change → 403."""

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.test import RequestFactory

from practice.access import change_required, get_scoped_or_404, is_member, scoped
from practice.middleware import current_membership
from practice.models import Membership

pytestmark = pytest.mark.django_db


def _request(user):
    request = RequestFactory().get("/")
    request.user = user
    request.session = {}
    request.membership = current_membership(request)
    return request


def test_scoped_only_returns_rows_of_the_current_practice(owner, staff, outsider, practice):
    rows = scoped(_request(owner), Membership)
    assert set(rows.values_list("user__username", flat=True)) == {"alice", "bob"}


def test_another_practices_object_is_404(owner, outsider):
    foreign = Membership.objects.get(user=outsider)
    with pytest.raises(Http404):
        get_scoped_or_404(_request(owner), Membership, pk=foreign.pk)


def test_own_object_is_returned(owner, staff):
    mine = Membership.objects.get(user=staff)
    assert get_scoped_or_404(_request(owner), Membership, pk=mine.pk, change=True) == mine


def test_read_only_member_may_read_but_not_change(readonly, staff):
    request = _request(readonly)
    target = Membership.objects.get(user=staff)
    assert get_scoped_or_404(request, Membership, pk=target.pk) == target
    with pytest.raises(PermissionDenied):
        get_scoped_or_404(request, Membership, pk=target.pk, change=True)


def test_outsider_changing_gets_404_not_403(readonly, outsider):
    """A 403 would confirm that the id exists elsewhere; the 404 check comes first."""
    foreign = Membership.objects.get(user=outsider)
    with pytest.raises(Http404):
        get_scoped_or_404(_request(readonly), Membership, pk=foreign.pk, change=True)


def test_change_required_decorator(readonly, staff):
    @change_required
    def view(request):
        from django.http import HttpResponse

        return HttpResponse("changed")

    assert view(_request(staff)).status_code == 200
    with pytest.raises(PermissionDenied):
        view(_request(readonly))


def test_non_member_has_no_practice(db):
    from tests.factories import UserFactory

    request = _request(UserFactory(username="stranger"))
    assert request.membership is None
    with pytest.raises(Http404):
        scoped(request, Membership)


def test_is_member_needs_a_login_and_a_membership_of_the_current_practice(owner, db):
    """What member_required checks, and what lets a view take a MemberRequest (practice.http)."""
    from django.contrib.auth.models import AnonymousUser

    from tests.factories import UserFactory

    assert is_member(_request(owner))
    assert not is_member(_request(AnonymousUser()))
    assert not is_member(_request(UserFactory(username="stranger")))
    unscoped = RequestFactory().get("/")
    unscoped.user = owner  # signed in, but CurrentPracticeMiddleware never ran: no membership
    assert not is_member(unscoped)


def test_scoped_keeps_the_kind_of_queryset_it_is_given(owner, practice):
    from relations.models import Relation, RelationQuerySet
    from tests.factories import RelationFactory

    mine = RelationFactory(practice=practice)
    rows = scoped(_request(owner), Relation.objects.all())
    assert isinstance(rows, RelationQuerySet)
    assert list(rows.active()) == [mine]
