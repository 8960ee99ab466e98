from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from practice.access import member_required


@require_GET
@member_required
def relation_list(request: HttpRequest) -> HttpResponse:
    return render(request, "relations/list.html")
