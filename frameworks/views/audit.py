"""The audit page: every event a person may see, filtered by URL, one event in full, exports
and the evidence pack. Nothing here changes a history row; exports and packs add one."""

from __future__ import annotations

import json
from collections.abc import Iterator
from urllib.parse import urlencode

from django.http import (
    Http404,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseBase,
    StreamingHttpResponse,
)
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods
from django.views.decorators.vary import vary_on_headers

from frameworks import checkpoints, evidence, exports, queries, services
from frameworks.forms import named_errors
from frameworks.forms.audit import AuditFilterForm, PackForm
from frameworks.queries import audit
from frameworks.views.http import AuthedRequest

_EXPORTS = {
    "csv": ("text/csv; charset=utf-8", exports.csv_chunks),
    "jsonl": ("application/x-ndjson; charset=utf-8", exports.jsonl_chunks),
}


def _cursor(request: AuthedRequest, name: str) -> int | None:
    value = request.GET.get(name, "")
    return int(value) if value.isdigit() and len(value) < 19 else None


def _url(params: dict[str, str], **cursor: int) -> str:
    return "?" + urlencode({**params, **cursor})


def _view(request: AuthedRequest) -> tuple[audit.Scope, AuditFilterForm, audit.Filters]:
    scope = audit.audit_scope(request.user)
    form = AuditFilterForm(request.GET, targets=scope.targets)
    form.is_valid()
    return scope, form, form.filters()


@require_GET
@vary_on_headers("HX-Request")  # the browser must not reuse the fragment for the whole page
def audit_page(request: AuthedRequest) -> HttpResponse:
    scope, form, filters = _view(request)
    page = audit.audit_page(
        scope, filters, before=_cursor(request, "before"), after=_cursor(request, "after")
    )
    params = filters.as_params()
    context = {
        "form": form,
        "page": page,
        "query": urlencode(params),
        "newest_url": _url(params),
        "older_url": _url(params, before=page.older) if page.older else "",
        "newer_url": _url(params, after=page.newer) if page.newer else "",
    }
    if request.htmx:
        return render(request, "audit/page.html#results", context)
    latest = audit.latest_checkpoint()
    context.update(
        checkpoint=latest,
        checkpoint_overdue=checkpoints.is_overdue(latest),
        pack_form=PackForm(targets=scope.targets),
    )
    return render(request, "audit/page.html", context)


@require_GET
def audit_event(request: AuthedRequest, pk: int) -> HttpResponse:
    scope = audit.audit_scope(request.user)
    detail = audit.audit_event(scope, pk)
    if detail is None:
        raise Http404("No such event, or not one you may see.")
    return render(
        request,
        "audit/event.html",
        {
            "detail": detail,
            "row": detail.row,
            "diff": queries.changes_of(detail.row),
            "token": detail.request.get("IdempotencyToken", ""),
            "request_json": _pretty(detail.request) if detail.request else "",
            "response_json": _pretty(detail.response) if detail.response else "",
            "error_json": _pretty(detail.error) if detail.error else "",
            "details_json": _pretty(detail.row.details),
        },
    )


def _pretty(value: object) -> str:
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)


@require_GET
def audit_export(request: AuthedRequest, fmt: str) -> HttpResponseBase:
    """The view as a file: recorded first, then streamed, so it ends with the rows that were
    there when it started and never includes its own record. A filter that does not clean
    is a 400 naming it: a file of some other view than the one asked for would mislead."""
    scope, form, filters = _view(request)
    if form.errors:
        problems = " ".join(named_errors(form))
        return HttpResponseBadRequest(
            f"Nothing was exported: {problems}", content_type="text/plain; charset=utf-8"
        )
    content_type, chunks = _EXPORTS[fmt]
    record = services.history_record_export(
        user=request.user, what=fmt, filters=filters.as_params()
    )
    stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
    response = StreamingHttpResponse(
        _closing(chunks(scope, filters, below=record.id)), content_type=content_type
    )
    response["Content-Disposition"] = f'attachment; filename="history-{stamp}.{fmt}"'
    response["Cache-Control"] = "no-store"
    return response


def _closing(chunks: Iterator[str]) -> Iterator[bytes]:
    for chunk in chunks:
        yield chunk.encode("utf-8")


@require_http_methods(["GET", "POST"])
def audit_pack(request: AuthedRequest) -> HttpResponseBase:
    """The evidence pack: a form (GET), then the ZIP (POST), built into a temporary file and
    streamed from it."""
    scope = audit.audit_scope(request.user)
    form = PackForm(request.POST or None, targets=scope.targets)
    if request.method == "GET" or not form.is_valid():
        return render(
            request, "audit/pack.html", {"pack_form": form}, status=400 if form.errors else 200
        )
    since, until = form.cleaned_data["since"], form.cleaned_data["until"]
    targets = form.chosen_targets()
    record = services.history_record_export(
        user=request.user,
        what="evidence-pack",
        filters={
            "since": since.isoformat(),
            "until": until.isoformat(),
            "targets": [t.slug for t in targets],
        },
    )
    pack = evidence.build(scope=scope, targets=targets, since=since, until=until, below=record.id)
    response = StreamingHttpResponse(evidence.stream(pack), content_type="application/zip")
    name = f"evidence-{since.isoformat()}-{until.isoformat()}.zip"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "no-store"
    return response
