"""Two answers given before or instead of a view.

Requests whose text is not UTF-8 are answered 400 with a plain page, before any view reads
them; an address holding a NUL character is a 404, a query string holding one a 400 naming the
parameter (PostgreSQL cannot compare text with a NUL in it, so no view should meet one).

Django decodes a query string or a form body it cannot read as UTF-8 by replacing each bad
byte with U+FFFD, so a value nobody typed would be stored without a word. This middleware reads
the raw bytes instead: the path, the query string (after percent-decoding) and an
``application/x-www-form-urlencoded`` body. A form body declaring another charset is refused
too: the console's pages are UTF-8 and browsers post what the page was. A ``multipart/form-data``
body (the JSON file import) is not kept as raw bytes by Django once parsed, so there a U+FFFD in
a text field is taken as the sign of bytes that were not UTF-8; the file itself is checked by
the import form.

A document version changed in the database (``TamperedVersion``, raised wherever a version is
read) is answered with a page that says so in words (409), whatever page was asked for.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from urllib.parse import parse_qsl, unquote_to_bytes

from django.core.handlers.wsgi import get_bytes_from_wsgi
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseNotFound,
)
from django.shortcuts import render

from frameworks.models import TamperedVersion

log = logging.getLogger(__name__)

REPLACEMENT = "\ufffd"

_FORM = "application/x-www-form-urlencoded"
_MULTIPART = "multipart/form-data"


def _utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _percent_decoded(raw: bytes) -> bytes:
    return unquote_to_bytes(raw.replace(b"+", b" "))


def unreadable_part(request: HttpRequest) -> str:
    """Which part of the request is not UTF-8 text, in words; "" when all of it is."""
    environ = request.META
    if not _utf8(get_bytes_from_wsgi(environ, "PATH_INFO", "/")):
        return "address"
    if not _utf8(_percent_decoded(get_bytes_from_wsgi(environ, "QUERY_STRING", ""))):
        return "query string"
    if request.method not in ("POST", "PUT", "PATCH"):
        return ""
    content_type = request.content_type or ""
    if content_type == _FORM:
        charset = (request.content_params or {}).get("charset", "utf-8").lower()
        if charset.replace("-", "").replace("_", "") != "utf8":
            return "form (it declares the charset " + charset + ")"
        if not _utf8(_percent_decoded(request.body)):
            return "form"
    elif content_type == _MULTIPART:
        for _, values in request.POST.lists():
            if any(REPLACEMENT in value for value in values):
                return "form"
    return ""


def _plain(response_class: type[HttpResponse], text: str) -> HttpResponse:
    return response_class(text, content_type="text/plain; charset=utf-8")


def nul_parameter(request: HttpRequest) -> str | None:
    """The name of the first query parameter holding a NUL character (in its name or value)."""
    query = get_bytes_from_wsgi(request.META, "QUERY_STRING", "").decode("utf-8")
    for name, value in parse_qsl(query, keep_blank_values=True):
        if "\x00" in name or "\x00" in value:
            return name.replace("\x00", "\\0")
    return None


class Utf8OnlyMiddleware:
    """400, plain text, for a request whose text is not UTF-8 (see the module)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        part = unreadable_part(request)
        if part:
            return _plain(
                HttpResponseBadRequest,
                f"The {part} holds bytes that are not UTF-8 text, so nothing was read or "
                "saved. Send it again as UTF-8.",
            )
        if "\x00" in request.path_info:
            return _plain(HttpResponseNotFound, "There is no page at this address.")
        name = nul_parameter(request)
        if name is not None:
            return _plain(
                HttpResponseBadRequest,
                f"The query parameter {name!r} holds a NUL character (\\0), which no page "
                "reads. Nothing was done.",
            )
        return self.get_response(request)


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
