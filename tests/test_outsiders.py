"""To someone without a role on a target, its frameworks, changes, events and the target
itself do not exist: every URL naming one answers exactly what it answers for one that does
not exist, GET or POST, whatever the body. An auditor, who may look but not act, is told 403
in words, never shown a form.

The URLs are every pattern of the URL conf that names an object (a target, a framework, a
change or an event), each filled once with an existing object of the target and once with a
missing one.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from frameworks.models import ChangeRequest, HistoryEvent
from tests.factories import grant, live_framework, make_target, submitted, user
from tests.test_bad_input import PATTERNS

pytestmark = pytest.mark.django_db

#: The URL keywords that name an object of a target.
NAMING = {"target", "slug", "name", "pk"}
NAMED = [
    (name, pattern) for name, _, pattern in PATTERNS if NAMING & set(pattern.pattern.converters)
]

BODIES: list[dict[str, str]] = [
    {},
    {"reason": "", "body": "", "note": "", "name": "x"},
    {"reason": "Because", "body": "Hello", "note": "Fine", "content_hash": "0" * 64},
    {"reason": "a\x00b", "body": "x" * 20_000, "version": "1", "name": "new_one"},
]


@pytest.fixture
def scene(db: None) -> dict[str, Any]:
    target = make_target("prod-eu")
    other = make_target("dev-eu")
    author = user("erin", "editor")
    framework = live_framework(target, "daily", controls=1)
    change = submitted(author, framework)
    return {
        "change": change,
        "event": HistoryEvent.objects.filter(change_request=change).order_by("id").first(),
        "version_row": HistoryEvent.objects.filter(framework_name="daily").order_by("id").first(),
        # A role on another target only, and no role at all.
        "strangers": [grant(user("fred"), "approver", other), user("olive")],
        "auditor": user("aud", "auditor"),
    }


def _urls(name: str, pattern: Any, scene: dict[str, Any]) -> tuple[str, list[str]]:
    """(the URL naming an existing object, URLs naming missing ones)."""
    keys = set(pattern.pattern.converters)
    if "pk" in keys:
        pk = scene["event"].pk if name.startswith("audit:") else scene["change"].pk
        return reverse(name, kwargs={"pk": pk}), [reverse(name, kwargs={"pk": 987654})]
    slug = "target" if "target" in keys else "slug"
    if "name" in keys:
        # A version of the framework is named by the history row that saw it.
        row = {"row": scene["version_row"].pk} if "row" in keys else {}
        existing = reverse(name, kwargs={slug: "prod-eu", "name": "daily", **row})
        missing = [
            reverse(name, kwargs={slug: "prod-eu", "name": "nope", **row}),
            reverse(name, kwargs={slug: "nowhere", "name": "daily", **row}),
        ]
        if row:
            missing.append(reverse(name, kwargs={slug: "prod-eu", "name": "daily", "row": 987654}))
        return existing, missing
    return reverse(name, kwargs={slug: "prod-eu"}), [reverse(name, kwargs={slug: "nowhere"})]


#: People and access changes belong to no one target: to anyone who administers none, every
#: People URL is the same 403, whichever person or change it names.
PEOPLE = ("frameworks:person-", "frameworks:access-")

_TOKEN = re.compile(rb'("x-csrftoken": "|name="csrfmiddlewaretoken" value=")[^"]+')


def _answer(client: Client, method: str, url: str, body: dict[str, str]) -> tuple[int, bytes]:
    response = client.get(url) if method == "get" else client.post(url, body)
    content = b"".join(response) if response.streaming else response.content
    # Each page masks the CSRF token afresh; it says nothing about the object.
    return response.status_code, _TOKEN.sub(rb"\1-", content)


def test_every_url_naming_an_object_is_covered():
    names = {name for name, _ in NAMED}
    assert {
        "frameworks:detail",
        "frameworks:change-propose",
        "frameworks:change-propose-deletion",
        "frameworks:change-detail",
        "frameworks:change-approve",
        "frameworks:change-edit",
        "frameworks:change-new",
        "frameworks:target-sync",
        "frameworks:target-detail",
        "audit:event",
    } <= names


@pytest.mark.parametrize("name", [name for name, _ in NAMED])
def test_a_stranger_gets_the_same_answer_for_an_object_that_exists_and_one_that_does_not(
    name, scene
):
    pattern = next(p for n, p in NAMED if n == name)
    existing, missing = _urls(name, pattern, scene)
    changes_before = list(ChangeRequest.objects.values())
    for stranger in scene["strangers"]:
        client = Client(raise_request_exception=True)
        client.force_login(stranger)
        for method in ("get", "post"):
            for body in BODIES if method == "post" else [{}]:
                there = _answer(client, method, existing, body)
                for url in missing:
                    assert _answer(client, method, url, body) == there, (
                        f"{stranger} {method} {existing} vs {url} with {body!r}"
                    )
                expected = 403 if name.startswith(PEOPLE) else 404
                if there[0] != 405 and not name.startswith("audit:"):
                    assert there[0] == expected, f"{stranger} {method} {existing}: {there[0]}"
    assert list(ChangeRequest.objects.values()) == changes_before


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("frameworks:change-propose", ["prod-eu", "daily"]),
        ("frameworks:change-propose-deletion", ["prod-eu", "daily"]),
        ("frameworks:change-new", ["prod-eu"]),
    ],
)
@pytest.mark.parametrize("body", BODIES)
def test_an_auditor_is_refused_in_words_not_shown_the_form(name, args, body, scene):
    client = Client()
    client.force_login(scene["auditor"])
    response = client.post(reverse(name, args=args), body)
    assert response.status_code == 403
    page = response.content.decode()
    assert "You may not propose changes to this target." in page
    assert "<form" not in page.split("<main", 1)[-1]
    assert ChangeRequest.objects.count() == 1
