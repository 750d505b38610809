"""The Changes page: every change the viewer may see, filtered by what its URL says."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from frameworks import access, queries
from frameworks.models import ChangeState
from frameworks.views.http import AuthedRequest


@require_GET
def change_list(request: AuthedRequest) -> HttpResponse:
    if not access.has_any_role(request.user):
        raise PermissionDenied("You have no role on any AWS account yet. Ask an administrator.")
    filters = queries.ChangeFilters.of(request.GET)
    number = request.GET.get("page", "")
    page = queries.changes_list(
        request.user, filters, page=int(number) if number.isdigit() and len(number) < 7 else 1
    )
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "page": page,
        "filters": filters,
        "states": ChangeState.choices,
        "query": query.urlencode(),
    }
    return render(request, "frameworks/changes.html", context)
