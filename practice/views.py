from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from practice.access import member_required
from practice.http import MemberRequest
from practice.middleware import SESSION_PRACTICE_KEY
from practice.models import Membership


@require_GET
@member_required
def home(request: MemberRequest) -> HttpResponse:
    from practice import home as panels

    return render(
        request,
        "practice/home.html",
        {"panels": panels.panels(request), "first_steps": panels.first_steps(request)},
    )


@require_POST
@member_required
def switch(request: MemberRequest) -> HttpResponse:
    """Make another of the user's practices the current one; a practice they are not in is a 404."""
    slug = request.POST.get("practice", "")
    if "\x00" in slug:  # no slug holds one, and PostgreSQL refuses it in a query parameter
        raise Http404("No such practice.")
    membership = get_object_or_404(Membership.objects.for_user(request.user), practice__slug=slug)
    request.session[SESSION_PRACTICE_KEY] = membership.practice_id
    messages.success(
        request, _("You are now working in %(practice)s.") % {"practice": membership.practice}
    )
    next_url = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        next_url = reverse("home")
    return HttpResponseRedirect(next_url)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """settings.CSRF_FAILURE_VIEW: Kring's page, in the user's language, saying what to do."""
    return render(request, "403_csrf.html", status=403)
