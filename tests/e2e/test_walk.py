"""Every page each role can open, taken from the URL configuration (not a hand list), opened
in Chromium at a phone's width: axe-core finds no serious or critical violation (the ``page``
fixture), the console stays clean (no CSP violation), and nothing scrolls sideways.

Each pattern's parameters are filled with real objects: a target's slug, a framework's name,
and for a change every change of the fixtures (a draft of each editor's, a submitted one, an
applied one, a deletion draft), so a page that depends on the state is seen in each. Which of
those a role may open is the server's answer (a GET through Django's test client first): a
page answering 200 is walked, anything else (403, 404, 405, a redirect) is not a page of
this role.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from frameworks import document, history, services
from frameworks.models import ChangeKind, ChangeState, DocumentVersion, Event
from tests.e2e.conftest import log_in
from tests.factories import draft, live_framework, make_target, set_state, submitted, user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
ROLES = ("editor", "approver", "auditor", "admin")


def patterns(resolver: URLResolver | None = None, namespace: str = "") -> Iterator[tuple]:
    """(name to reverse, the pattern's converters) for every named pattern outside /admin/."""
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            if str(entry.pattern).startswith("admin/"):
                continue  # Django's admin is not the product's page
            inner = entry.namespace or ""
            yield from patterns(entry, f"{namespace}{inner}:" if inner else namespace)
        elif isinstance(entry, URLPattern) and entry.name:
            yield f"{namespace}{entry.name}", dict(entry.pattern.converters)


def fill(converters: dict, values: dict[str, list]) -> list[dict]:
    """Every combination of real values for a pattern's parameters."""
    missing = [name for name in converters if name not in values]
    assert not missing, f"the walk has no real value for {missing}: add one to the fixtures"
    names = list(converters)
    return [
        dict(zip(names, combo, strict=True))
        for combo in itertools.product(*(values[n] for n in names))
    ]


#: The innermost elements reaching past the window's right edge: what to fix.
WIDEST = """() => Array.from(document.querySelectorAll('body *'))
  .filter(e => e.getBoundingClientRect().left + e.scrollWidth > window.innerWidth + 1)
  .slice(-3).map(e => e.tagName.toLowerCase() + (e.className ? '.' + e.className : '')
    + ' ' + Math.round(e.getBoundingClientRect().left + e.scrollWidth) + 'px')"""


def wide(page: object) -> str:
    return ", ".join(page.evaluate(WIDEST))


@pytest.fixture
def world(db) -> dict:
    target = make_target("prod-eu", account_id="111111111111")
    framework = live_framework(target, "daily_backups")
    other = live_framework(target, "weekly_checks")
    people = {
        "editor": user("editor", "editor", password="password"),
        "approver": user("approver", "approver", password="password"),
        "auditor": user("auditor", "auditor", password="password"),
        "admin": user("admin", "admin", password="password"),
    }
    people["admin"].is_staff = True
    people["admin"].save(update_fields=["is_staff"])
    mine = draft(people["editor"], framework)
    waiting = submitted(user("writer", "editor"), other)
    applied = set_state(
        submitted(user("writer2", "editor"), live_framework(target, "m")), ChangeState.APPLIED
    )
    deletion = services.change_request_create_draft(
        user=people["editor"],
        target_id=target.pk,
        kind=ChangeKind.DELETE,
        framework_name="m",
        reason="Not needed",
    )
    # A version of the framework, as sync records one (its versions page lists it).
    seen = history.append(
        Event.SYNC_NEW,
        history.Actor.sync(),
        target=target,
        framework_name=framework.name,
        version_after=DocumentVersion.record(document.parse(framework.api_document())),
    )
    values = {
        "target": [target.slug],
        "slug": [target.slug],
        "name": [framework.name],
        "pk": [mine.pk, waiting.pk, applied.pk, deletion.pk],
        "row": [seen.pk],
    }
    return {"people": people, "values": values}


@pytest.mark.parametrize("role", ROLES)
def test_every_page_a_role_can_open_is_accessible_clean_and_fits_a_phone(page, world, role):
    person = world["people"][role]
    client = Client()
    client.force_login(person)
    # The password reset link a person gets by email, made for this person.
    values = {
        **world["values"],
        "uidb64": [urlsafe_base64_encode(force_bytes(person.pk))],
        "token": [default_token_generator.make_token(person)],
    }
    urls = []
    for name, converters in patterns():
        for kwargs in fill(converters, values):
            url = reverse(name, kwargs=kwargs)
            response = client.get(url)
            # Pages only: health answers, metrics, exports and packs are not read by a person
            # in the browser (a download, or text a machine reads).
            if response.status_code == 200 and response["Content-Type"].startswith("text/html"):
                urls.append(url)
    assert len(urls) >= 8, urls  # the walk really walked
    page.set_viewport_size(PHONE)
    log_in(page, person.username)
    too_wide = []
    for url in urls:
        page.goto(url)
        width = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
        if width[0] != width[1]:
            too_wide.append(f"{url}: {width[0]} px wide in a {width[1]} px window ({wide(page)})")
    assert too_wide == [], "\n".join(too_wide)
