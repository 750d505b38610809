"""Input the console refuses, as people meet it in Chromium: the comment box stops at the
length the server keeps, a comment the browser could not have sent is refused in words with
nothing kept, and someone with no role on a target finds nothing there."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from frameworks import document
from frameworks.models import Comment
from tests.e2e.conftest import log_in
from tests.factories import grant, live_framework, make_target, submitted

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_comment_too_long_or_with_a_nul_is_refused_in_words(page, editor, approver):
    change = submitted(editor, live_framework(make_target("prod-eu"), "daily_backups"))
    log_in(page, approver.username)
    page.goto(f"/frameworks/changes/{change.pk}/")
    box = page.get_by_label("Add a comment")
    limit = document.text_limit("comment")
    expect(box).to_have_attribute("maxlength", str(limit))

    token = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    for body, words in [
        ("x" * (limit + 1), f"This text is {limit + 1:,} characters long"),
        ("before\x00after", "This text holds a NUL character"),
    ]:
        answer = page.request.post(
            f"/frameworks/changes/{change.pk}/comment/",
            form={"body": body},
            headers={"X-CSRFToken": token},
        )
        assert answer.status == 200  # the change page, after the redirect
        assert f"Comment: {words}" in answer.text()
    assert Comment.objects.count() == 0
    page.reload()
    expect(page.locator(".comment-list")).to_contain_text("No comments yet.")


def test_someone_with_no_role_finds_nothing_at_a_frameworks_address(page, outsider):
    framework = live_framework(make_target("prod-eu"), "daily_backups")
    grant(outsider, "approver", make_target("dev-eu"))  # a role elsewhere only
    log_in(page, outsider.username)
    expect(page.get_by_role("heading", name="Frameworks")).to_be_visible()
    expect(page.get_by_text("daily_backups")).to_have_count(0)
    there = page.request.get(f"/frameworks/prod-eu/{framework.name}/")
    missing = page.request.get("/frameworks/prod-eu/no_such_framework/")
    assert (there.status, missing.status) == (404, 404)
    assert there.text() == missing.text()
    assert "daily_backups" not in there.text()
