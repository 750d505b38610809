"""Answers for what a view cannot show: a document version changed in the database."""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from frameworks.models import TamperedVersion

log = logging.getLogger(__name__)


class TamperedVersionMiddleware:
    """Every page that reads a document version reads it through ``as_document``, which
    refuses one whose document no longer matches its hash. Whatever page that was, the person
    is told so in words (409: the stored data conflicts with itself), not given a 500."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, TamperedVersion):
            return None
        log.error("refused to show %s: %s", request.path, exception.message)
        return render(
            request, "frameworks/tampered.html", {"message": exception.message}, status=409
        )
