"""Playwright in Debian's Chromium against pytest-django's live server."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator

import pytest

from tests.conftest import AXE_SOURCE, chromium_path

# Playwright's sync API runs an event loop in this thread; the ORM calls of the test itself are
# still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM_FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


#: axe-core's impacts that fail a test; "minor" and "moderate" are reported by axe but not gated.
AXE_FAILING = ("serious", "critical")


def axe_violations(page: object) -> list[str]:
    """Run axe-core on the page as it is now: one line per serious or critical violation.

    axe is injected by an init script (Playwright's, through the DevTools protocol, so the
    page's Content Security Policy neither blocks it nor has to allow it).
    """
    if "/admin/" in page.url or page.url == "about:blank":
        return []  # Django's admin is not the product's page
    result = page.evaluate(
        # One run at a time: a load's check and the journey's own may overlap, and axe refuses
        # a second run while one is going.
        "async () => { const run = () => axe.run(document, {resultTypes: ['violations']});"
        " window.__axeRun = (window.__axeRun || Promise.resolve()).catch(() => null).then(run);"
        " const r = await window.__axeRun;"
        " return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,"
        " nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 3)})); }"
    )
    return [
        f"{page.url}: {v['impact']} {v['id']} ({v['help']}) at {json.dumps(v['nodes'])}"
        for v in result
        if v["impact"] in AXE_FAILING
    ]


def axe_check(page: object) -> None:
    """Fail now if the current page (after an htmx swap, say) has an accessibility violation."""
    assert axe_violations(page) == []


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    path = chromium_path()
    if not path:
        pytest.skip("needs Chromium")  # pytest_runtest_setup turns this into a failure in CI
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=path, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


# Chromium reports every document answered with an error status on the console. The only one a
# journey meets on purpose: the sign-in lockout page, 429 Too Many Requests (tests/e2e/
# test_signin.py), which is a page people read, not a failure of the page.
ANSWERED_429 = "Failed to load resource: the server responded with a status of 429"


@pytest.fixture
def page(browser: object, live_server: object) -> Iterator[object]:
    context = browser.new_context(base_url=live_server.url)
    context.set_default_timeout(10_000)
    context.add_init_script(path=str(AXE_SOURCE))
    page = context.new_page()
    errors: list[str] = []
    violations: list[str] = []
    page.on(
        "console",
        lambda m: (
            errors.append(f"{page.url}: {m.text}")
            if m.type == "error" and not m.text.startswith(ANSWERED_429)
            else None
        ),
    )
    page.on("load", lambda loaded: violations.extend(_violations_unless_gone(loaded)))
    yield page
    violations.extend(_violations_unless_gone(page))
    context.close()
    # A CSP violation or a script error shows up on the console: a page must have none.
    assert errors == [], "\n".join(errors)
    # Every page the journey loaded, and the last state it left, passed axe-core.
    assert sorted(set(violations)) == [], "\n".join(sorted(set(violations)))


def _violations_unless_gone(page: object) -> list[str]:
    from playwright.sync_api import Error

    for _ in range(50):
        try:
            return axe_violations(page)
        except Error as error:
            # The journey navigated on before axe finished: the next load is checked instead.
            if "context was destroyed" in str(error) or "closed" in str(error):
                return []
            # The run started by the last load is still going: wait for it, then check again.
            if "already running" not in str(error):
                raise
            page.wait_for_timeout(100)
    raise AssertionError(f"axe-core never finished on {page.url}")


def log_in(page: object, username: str, password: str = "password") -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def swapped(page: object, url_part: str, act: object) -> None:
    """Do `act`, wait for the htmx request it makes to `url_part`, then for htmx to finish
    swapping and processing the new content: the next step acts on the page as the server
    left it, not on content htmx has not wired up yet."""
    with page.expect_response(lambda response: url_part in response.url):
        act()
    busy = ".htmx-request, .htmx-swapping, .htmx-settling, .htmx-added"
    page.wait_for_function(f"() => !document.querySelector('{busy}')")
