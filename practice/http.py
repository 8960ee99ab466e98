"""The request types Kring's views are written against: Django's HttpRequest with what the middleware
(config.settings.MIDDLEWARE) sets on it declared, so that the type checker knows them.

    @member_required
    def detail(request: MemberRequest, public_id: UUID) -> HttpResponse:
        request.membership.practice  # a Membership, never None: member_required saw to that
        request.user                 # the signed-in User, never AnonymousUser

The user model is Django's own (settings.AUTH_USER_MODEL is not set), so `User` here and in the
services is django.contrib.auth.models.User.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.http import HttpRequest

if TYPE_CHECKING:  # only read by the type checker: importable before the app registry is ready
    from django.contrib.auth.models import User
    from django_htmx.middleware import HtmxDetails

    from practice.models import Membership


class KringRequest(HttpRequest):
    """Any request once the middleware has run: signed in or not, member or not."""

    htmx: HtmxDetails  # django_htmx.middleware.HtmxMiddleware
    # practice.middleware.CurrentPracticeMiddleware: None for anonymous users and non-members.
    membership: Membership | None


class MemberRequest(KringRequest):
    """A request that passed practice.access.member_required: a signed-in member of the practice."""

    user: User
    membership: Membership


class PortalRequest(KringRequest):
    """A request that passed login_required on the portal's side: a signed-in user, not a member."""

    user: User
