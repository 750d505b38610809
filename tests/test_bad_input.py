"""Every URL pattern, with every field its forms read, given a NUL, an overlong value, bytes
that are not UTF-8, and nothing: never a 500, and (but for the empty value, which is a fair
value of many fields) nothing written.

The URLs are taken from the URL conf (all of it but Django's admin site, whose forms are
Django's own), filled with objects a user with the right role may act on. The fields are taken
from the forms themselves: every form a view builds while answering a GET or a POST of the URL
is recorded, and each of its fields, under the name it is posted as, is sent wrong in turn, the
others keeping the values the pages of the object were drawn with. Keys a view reads from the
query dicts itself are recorded too, and walked as free text. The same runs on PostgreSQL,
where a NUL really fails a query.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
from django import forms
from django.contrib.auth.models import User
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils.datastructures import MultiValueDict

from frameworks import document, services
from frameworks.forms.text import limit_of
from frameworks.models import (
    AccessChange,
    Approval,
    ChangeKind,
    ChangeRequest,
    Comment,
    DocumentVersion,
    Framework,
    HistoryEvent,
    Outcome,
    Target,
    TargetRole,
)
from tests.factories import live_framework, make_target, set_state, submitted, user

pytestmark = pytest.mark.django_db


def _patterns(resolver: URLResolver, prefix: str = "", namespace: str = "") -> Iterator[tuple]:
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            if entry.namespace == "admin":
                continue  # Django's own admin site
            ns = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from _patterns(entry, prefix + str(entry.pattern), ns)
        elif isinstance(entry, URLPattern) and entry.name:
            yield namespace + entry.name, prefix + str(entry.pattern), entry


#: Every named URL pattern: (name as reversed, route, pattern).
PATTERNS = sorted(_patterns(get_resolver()), key=lambda p: p[0])

#: Review buttons only an approver (not the author) presses; everything else is the author's,
#: an editor and administrator of every target.
APPROVERS = {"frameworks:change-approve", "frameworks:change-reject"}
ON_SUBMITTED = {
    "frameworks:change-approve",
    "frameworks:change-reject",
    "frameworks:change-reopen",
    "frameworks:change-withdraw",
    "frameworks:change-comment",
    "frameworks:change-detail",
    "frameworks:change-apply-status",
    "frameworks:change-rebase",
}


@pytest.fixture
def scene(db: None) -> dict[str, Any]:
    target = make_target("prod-eu")
    author = user("erin", "editor", "admin")
    approver = user("alice", "approver")
    daily = live_framework(target, "daily", controls=1)
    weekly = live_framework(target, "weekly", controls=1)
    monthly = live_framework(target, "monthly", controls=1)
    yearly = live_framework(target, "yearly", controls=1)
    changes = {
        "draft": services.change_request_create_draft(
            user=author, target_id=target.pk, kind=ChangeKind.UPDATE, framework_name=daily.name
        ),
        "submitted": submitted(author, weekly),
        "ended": set_state(submitted(author, monthly), "withdrawn"),
        "deletion": services.change_request_create_draft(
            user=author,
            target_id=target.pk,
            kind=ChangeKind.DELETE,
            framework_name=yearly.name,
            reason="Not needed",
        ),
    }
    # An access change to confirm or decline, and a version of daily to start a change from.
    services.role_grant(user=author, person_id=approver.pk, role="auditor")
    return {
        "target": target,
        "author": author,
        "approver": approver,
        "changes": changes,
        "access_change": AccessChange.objects.latest("pk"),
        "daily_row": HistoryEvent.objects.filter(framework_name=daily.name).latest("pk"),
    }


def _change_for(name: str, scene: dict[str, Any]) -> ChangeRequest:
    changes = scene["changes"]
    if name == "frameworks:change-deletion":
        return changes["deletion"]
    if name == "frameworks:change-start-from":
        return changes["ended"]
    return changes["submitted" if name in ON_SUBMITTED else "draft"]


def url_of(name: str, pattern: URLPattern, scene: dict[str, Any]) -> str:
    """The URL `name` for objects of the scene the right user may act on."""
    kwargs: dict[str, Any] = {}
    for key in pattern.pattern.converters:
        if key in ("target", "slug"):
            kwargs[key] = scene["target"].slug
        elif key == "name":
            kwargs[key] = "daily"
        elif key == "pk" and name.startswith("audit:"):
            kwargs[key] = HistoryEvent.objects.order_by("id").first().pk  # type: ignore[union-attr]
        elif key == "pk" and name.startswith("frameworks:person-"):
            kwargs[key] = scene["approver"].pk
        elif key == "pk" and name.startswith("frameworks:access-"):
            kwargs[key] = scene["access_change"].pk
        elif key == "pk":
            kwargs[key] = _change_for(name, scene).pk
        elif key == "row":  # a version of the framework: the history row that saw it
            kwargs[key] = scene["daily_row"].pk
        else:
            kwargs[key] = "x"
    return reverse(name, kwargs=kwargs)


def writes() -> dict[str, Any]:
    """What a request could have written: every row of what people change, and the history
    rows recording something done (refusals are recorded; they are not writes)."""
    return {
        "changes": list(ChangeRequest.objects.order_by("pk").values()),
        "comments": Comment.objects.count(),
        "approvals": Approval.objects.count(),
        "versions": DocumentVersion.objects.count(),
        "frameworks": list(Framework.objects.order_by("pk").values()),
        "targets": list(Target.objects.order_by("pk").values()),
        "roles": TargetRole.objects.count(),
        "users": list(User.objects.order_by("pk").values("pk", "username", "password")),
        "done": HistoryEvent.objects.filter(outcome=Outcome.OK).count(),
    }


class FormSpy:
    """Records every Django form a view builds (management forms of formsets too), and every
    key read from a query dict (so a view reading ``request.POST`` itself is walked too)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.seen: list[forms.BaseForm] = []
        self.keys: list[tuple[MultiValueDict, str]] = []
        original = forms.BaseForm.__init__
        spy = self

        def recording(form: forms.BaseForm, *args: Any, **kwargs: Any) -> None:
            original(form, *args, **kwargs)
            spy.seen.append(form)

        monkeypatch.setattr(forms.BaseForm, "__init__", recording)
        for method in ("get", "getlist", "__getitem__"):
            monkeypatch.setattr(
                MultiValueDict, method, self._reading(getattr(MultiValueDict, method))
            )

    def _reading(self, read: Any) -> Any:
        spy = self

        def reading(data: MultiValueDict, key: Any, *args: Any) -> Any:
            if isinstance(key, str):
                spy.keys.append((data, key))
            return read(data, key, *args)

        return reading

    def take(self) -> list[forms.BaseForm]:
        seen, self.seen = self.seen, []
        return seen

    def read_from(self, data: object) -> set[str]:
        """The keys read from ``data`` since the last call; forgets all keys read."""
        keys, self.keys = self.keys, []
        return {key for read, key in keys if read is data and not key.startswith("csrf")}


def _values(form: forms.BaseForm, name: str) -> list[str]:
    field = form.fields[name]
    if isinstance(field, forms.FileField):
        return []
    value = form[name].value()
    if isinstance(field, forms.BooleanField):
        return ["on"] if value else []
    if isinstance(value, list | tuple):
        return [str(v) for v in value]
    return ["" if value is None else str(value)]


def fields_of(seen: list[forms.BaseForm]) -> tuple[dict[str, forms.Field], dict[str, list[str]]]:
    """(each field under its posted name, the values the page was drawn with)."""
    fields: dict[str, forms.Field] = {}
    base: dict[str, list[str]] = {}
    for form in seen:
        for name, field in form.fields.items():
            key = form.add_prefix(name)
            if isinstance(field, forms.FileField):
                continue
            fields.setdefault(key, field)
            base.setdefault(key, _values(form, name))
    return fields, base


def bad_values(field: forms.Field) -> dict[str, str]:
    longest = limit_of(field) or document.text_limit("text")
    return {"nul": "a\x00b", "overlong": "x" * (longest + 1)}


def _body(base: dict[str, list[str]], **changed: str) -> str:
    data = {**base, **{k: [v] for k, v in changed.items()}}
    return urlencode([(k, v) for k, values in data.items() for v in values])


FORM = "application/x-www-form-urlencoded"


class _Undo(Exception):
    pass


def _undone(client: Client, method: str, url: str, body: str | None = None) -> Any:
    """The response to a request whose writes are rolled back (a POST may do things)."""
    with contextlib.suppress(_Undo), transaction.atomic():
        if body is None:
            response = getattr(client, method)(url)
        else:
            response = client.post(url, body, content_type=FORM)
        raise _Undo
    return response


def _discover(client: Client, spy: FormSpy, url: str, pages: list[str]) -> tuple[dict, ...]:
    """The fields the forms of ``url`` read (a GET, and a POST of what the pages of its object
    were drawn with), those values, and the fields of forms bound to the query string."""
    base: dict[str, list[str]] = {}
    for page in [url, *pages]:
        _undone(client, "get", page)
        for key, value in fields_of(spy.take())[1].items():
            base.setdefault(key, value)
    fields: dict[str, forms.Field] = {}
    query_fields: dict[str, forms.Field] = {}
    spy.read_from(None)
    response = _undone(client, "get", url)
    seen = spy.take()
    fields.update(fields_of(seen)[0])
    request_get = response.wsgi_request.GET
    query_fields.update(
        fields_of([form for form in seen if form.is_bound and form.data is request_get])[0]
    )
    # What the view read from the query string itself: free text, as far as it knows.
    for key in spy.read_from(request_get):
        query_fields.setdefault(key, forms.CharField())
    response = _undone(client, "post", url, _body(base))
    found, values = fields_of(spy.take())
    for key, field in found.items():
        fields.setdefault(key, field)
    # Only a POST the view read (not one parsed now, after the answer, by asking for it).
    for key in spy.read_from(response.wsgi_request.__dict__.get("_post")):
        fields.setdefault(key, forms.CharField())
    for key, value in values.items():
        base.setdefault(key, value)
    # Checkboxes post "on" or nothing: their value is not text anyone keeps.
    fields = {k: f for k, f in fields.items() if not isinstance(f, forms.BooleanField)}
    query_fields = {k: f for k, f in query_fields.items() if not isinstance(f, forms.BooleanField)}
    return fields, base, query_fields


@pytest.mark.parametrize(("name", "route"), [(name, route) for name, route, _ in PATTERNS])
def test_every_field_of_every_url_takes_bad_input_without_a_500_or_a_write(
    name: str, route: str, scene: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    pattern = next(p for n, _, p in PATTERNS if n == name)
    actor = scene["approver" if name in APPROVERS else "author"]
    client = Client(raise_request_exception=True)  # any exception fails the test
    client.force_login(actor)
    url = url_of(name, pattern, scene)
    spy = FormSpy(monkeypatch)
    pages: list[str] = []
    if name.startswith("frameworks:change-") and "pk" in pattern.pattern.converters:
        change = _change_for(name, scene)
        pages += [reverse("frameworks:change-detail", args=[change.pk])]
        if change.state == "draft" and change.kind != ChangeKind.DELETE:
            pages += [reverse("frameworks:change-edit", args=[change.pk])]
    fields, base, query_fields = _discover(client, spy, url, pages)
    before = writes()

    def check(response: Any, what: str) -> None:
        assert response.status_code < 500, what
        assert writes() == before, f"{what} wrote something"

    for key, field in fields.items():
        for kind, value in bad_values(field).items():
            body = _body(base, **{key: value})
            check(client.post(url, body, content_type=FORM), f"POST {url} {key}={kind}")
        htmx = {"hx-request": "true"}
        body = _body(base, **{key: "a\x00b"})
        check(client.post(url, body, content_type=FORM, headers=htmx), f"htmx POST {url} {key}")
        raw = _body(base, **{key: "caf"}).replace(f"{key}=caf", f"{key}=caf%E9%FF").encode()
        response = client.post(url, raw, content_type=FORM)
        assert response.status_code == 400, f"POST {url} {key}=non-UTF-8"
        assert b"not UTF-8" in response.content
        check(response, f"POST {url} {key}=non-UTF-8")
    for key, field in {**query_fields, "q": forms.CharField()}.items():
        for kind, value in bad_values(field).items():
            check(client.get(url, {key: value}), f"GET {url}?{key}={kind}")
        response = client.get(f"{url}?{key}=caf%E9")
        assert response.status_code == 400, f"GET {url}?{key}=non-UTF-8"
        check(response, f"GET {url}?{key}=non-UTF-8")
    # Nothing at all, then each field empty: fair values of many fields, so only no 500.
    spy.take()
    assert client.post(url).status_code < 500
    for key in fields:
        response = client.post(url, _body(base, **{key: ""}), content_type=FORM)
        assert response.status_code < 500, f"POST {url} {key}=empty"


def test_the_walk_covers_the_forms_that_read_free_text(scene, monkeypatch):
    """The walk finds what it is meant to: the review buttons' fields and the editor's."""
    client = Client()
    client.force_login(scene["author"])
    spy = FormSpy(monkeypatch)
    change = scene["changes"]["draft"]
    fields, _, _ = _discover(client, spy, reverse("frameworks:change-edit", args=[change.pk]), [])
    assert {"description", "reason", "controls-0-name", "tags-0-key", "tags-0-value"} <= set(fields)
    submitted_change = scene["changes"]["submitted"]
    fields, _, _ = _discover(
        client, spy, reverse("frameworks:change-comment", args=[submitted_change.pk]), []
    )
    assert "body" in fields
    fields, _, query = _discover(client, spy, reverse("audit:page"), [])
    assert {"q", "actor", "framework"} <= set(query)
