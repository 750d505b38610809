"""The live apply status of a change: each attempt and the deployment status as they happen.

The change page includes ``frameworks/_apply_status.html``; while the change is waiting or being
applied, that section asks this view for itself again every two seconds (htmx) and stops once the
change is final. Everything shown comes from the change and its history rows: one query for the
rows, however many attempts there were.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from django_htmx.http import HttpResponseClientRefresh

from frameworks import access
from frameworks.access import Action
from frameworks.models import ChangeRequest


@never_cache
@require_GET
def change_apply_status(request: HttpRequest, pk: int) -> HttpResponse:
    """The apply section of a change page, for htmx to swap in; a browser without JavaScript
    is sent to the whole page."""
    change = get_object_or_404(ChangeRequest.objects.select_related("target"), pk=pk)
    access.require(request.user, Action.VIEW, change.target)
    if not request.htmx:
        return redirect(reverse("frameworks:change-detail", args=[pk]) + "#apply-status")
    drawn = request.GET.get("drawn", "")
    if change.is_final and drawn and drawn != change.state:
        # The change ended since the page was drawn: its buttons, decisions and timeline are
        # now out of date too, so the page draws itself again (the header and this section
        # already agree below, while it still polls).
        return HttpResponseClientRefresh()
    context = {"change": change, "drawn": drawn or change.state, "oob": True}
    return render(request, "frameworks/_apply_status.html", context)
