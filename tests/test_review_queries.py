"""Queries on the change page, the queue and the navigation's count do not grow with the data."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from frameworks import services, tasks
from tests.conftest import client_for
from tests.factories import live_framework, make_target, submitted, user

pytestmark = pytest.mark.django_db

# Session, user, the change (with its target, framework and both versions), the user's groups
# and target roles, the target's other frameworks (the account checks), the change's current
# decisions, comments and timeline, the navigation's count, the apply status's attempts
# (frameworks/_apply_status.html), the access changes behind the approvals (segregation; not
# asked while there is no approval, so the small change has one) and the target's admins.
CHANGE_PAGE_QUERIES = 13
# Session, user, groups, target roles, the queue itself, and the navigation's count.
QUEUE_QUERIES = 6
# The framework list's own six, and the navigation's count.
LIST_PAGE_QUERIES = 7


@pytest.fixture(autouse=True)
def _no_broker(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tasks.apply_change, "delay", lambda change_id: None)


@pytest.fixture
def target(db: None):
    return make_target("prod-eu", max_controls=500, required_approvals=20)


def busy_change(target, *, controls: int, reviewers: int, comments: int):
    """A submitted change with `controls` controls on each side, `reviewers` approvals and
    `comments` comments (each one a history row too)."""
    author = user(f"author{controls}", "editor")
    change = submitted(
        author, live_framework(target, f"fw{controls}", controls), new_controls=controls
    )
    for i in range(reviewers):
        services.change_request_approve(
            user=user(f"r{controls}-{i}", "approver"),
            change_id=change.pk,
            content_hash=change.proposed_hash,
        )
    for i in range(comments):
        services.change_request_comment(user=author, change_id=change.pk, body=f"note {i}")
    return change


@pytest.mark.parametrize(
    ("controls", "reviewers", "comments"), [(1, 1, 0), (20, 8, 15)], ids=["small", "large"]
)
def test_the_change_page_asks_the_same_number_of_queries_whatever_its_size(
    target, controls, reviewers, comments, django_assert_num_queries
):
    change = busy_change(target, controls=controls, reviewers=reviewers, comments=comments)
    client = client_for(user("viewer", "approver"))
    with django_assert_num_queries(CHANGE_PAGE_QUERIES):
        response = client.get(reverse("frameworks:change-detail", args=[change.pk]))
    assert response.status_code == 200
    assert f"{reviewers} of 20 approvals" in response.content.decode()


@pytest.mark.parametrize("waiting", [1, 12])
def test_the_queue_and_the_count_ask_the_same_number_of_queries_however_long(
    target, editor, approver, waiting, django_assert_num_queries
):
    author = editor
    for i in range(waiting):
        submitted(author, live_framework(target, f"fw{i}", 2))
    client = client_for(approver)
    with django_assert_num_queries(QUEUE_QUERIES):
        response = client.get(reverse("frameworks:review-queue"))
    html = response.content.decode()
    # Links to change pages (the navigation's "Changes" link is not one).
    assert len(re.findall(r'href="/frameworks/changes/\d+/"', html)) == waiting
    assert f'<span class="nav-count">{waiting}</span>' in html
    with django_assert_num_queries(LIST_PAGE_QUERIES):
        response = client.get(reverse("frameworks:list"))
    assert f'<span class="nav-count">{waiting}</span>' in response.content.decode()
