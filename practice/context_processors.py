from typing import Any

from django.http import HttpRequest

from practice.models import Membership


def practice(request: HttpRequest) -> dict[str, Any]:
    """The current membership and the others the user can switch to, for the navigation bar."""
    membership = getattr(request, "membership", None)
    if membership is None:
        return {"membership": None, "current_practice": None, "other_memberships": []}

    def others() -> list[Membership]:
        return list(
            Membership.objects.for_user(request.user)
            .exclude(pk=membership.pk)
            .order_by("practice__name")
        )

    return {
        "membership": membership,
        "current_practice": membership.practice,
        "other_memberships": others,
    }
