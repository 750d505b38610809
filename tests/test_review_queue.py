"""'Awaiting my review': only targets where the user approves, never their own changes, only
what still waits for their decision; and the count in the navigation."""

from __future__ import annotations

import pytest
from django.urls import reverse

from frameworks import services, tasks
from frameworks.models import ChangeKind
from frameworks.queries import awaiting_review
from tests.conftest import client_for
from tests.factories import draft, grant, live_framework, make_target, submitted, user

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_broker(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tasks.apply_change, "delay", lambda change_id: None)


@pytest.fixture
def world(editor) -> dict:
    prod, dev = make_target("prod-eu"), make_target("dev-eu")
    author = editor
    return {
        "prod": prod,
        "dev": dev,
        "author": author,
        "prod_change": submitted(author, live_framework(prod, "daily")),
        "dev_change": submitted(author, live_framework(dev, "daily")),
    }


def queue_of(person) -> list[int]:
    return sorted(c.pk for c in awaiting_review(person))


def test_an_approver_everywhere_sees_every_target(world, approver):
    assert queue_of(approver) == sorted([world["prod_change"].pk, world["dev_change"].pk])


def test_an_approver_of_one_target_sees_only_that_target(world):
    assert queue_of(grant(user("pat"), "approver", world["prod"])) == [world["prod_change"].pk]


@pytest.mark.parametrize("roles", [("editor",), ("auditor",), ("admin",), ()])
def test_people_who_do_not_approve_have_no_queue(world, roles):
    person = user("someone", *roles)
    assert queue_of(person) == []
    client = client_for(person)
    assert client.get(reverse("frameworks:review-queue")).status_code == 403
    assert "Awaiting my review" not in client.get(reverse("frameworks:list")).content.decode()


def test_an_approver_never_sees_their_own_change(world):
    both = user("both", "editor", "approver")
    own = submitted(both, live_framework(world["prod"], "weekly"))
    assert own.pk not in queue_of(both)
    assert len(queue_of(both)) == 2


def test_drafts_and_decided_changes_leave_the_queue(world, approver):
    world["prod"].required_approvals = 2
    world["prod"].save(update_fields=["required_approvals"])
    alice, pat = approver, user("pat", "approver")
    draft(world["author"], live_framework(world["prod"], "weekly"))
    change = world["prod_change"]
    # Submitted before required_approvals was raised: approving it once approves it.
    services.change_request_approve(
        user=alice, change_id=world["dev_change"].pk, content_hash=world["dev_change"].review_hash
    )
    assert queue_of(alice) == [change.pk]
    assert queue_of(pat) == [change.pk]


def test_a_change_reopened_and_resubmitted_comes_back_to_its_reviewer(world, approver):
    world["prod"].required_approvals = 2
    world["prod"].save(update_fields=["required_approvals"])
    alice = approver
    change = submitted(world["author"], live_framework(world["prod"], "weekly"))
    services.change_request_approve(
        user=alice, change_id=change.pk, content_hash=change.review_hash
    )
    assert change.pk not in queue_of(alice)
    services.change_request_reopen(user=world["author"], change_id=change.pk)
    services.change_request_submit(user=world["author"], change_id=change.pk, reason="again")
    assert change.pk in queue_of(alice)


def test_a_delete_waits_in_the_queue_until_decided(world, approver):
    framework = live_framework(world["prod"], "old")
    change = services.change_request_create_draft(
        user=world["author"],
        target_id=world["prod"].pk,
        kind=ChangeKind.DELETE,
        framework_name="old",
        reason="retired",
    )
    services.change_request_submit(user=world["author"], change_id=change.pk, reason="retired")
    alice = approver
    assert change.pk in queue_of(alice)
    change.refresh_from_db()
    assert change.review_hash == framework.content_hash
    page = client_for(alice).get(reverse("frameworks:change-detail", args=[change.pk]))
    assert "Delete the framework old" in page.content.decode()
    client_for(alice).post(
        reverse("frameworks:change-approve", args=[change.pk]),
        {"content_hash": change.review_hash},
    )
    assert change.pk not in queue_of(alice)


def test_the_queue_page_lists_what_waits_with_its_reason_and_a_summary(world):
    client = client_for(grant(user("pat"), "approver", world["prod"]))
    html = client.get(reverse("frameworks:review-queue")).content.decode()
    assert f"/frameworks/changes/{world['prod_change'].pk}/" in html
    assert f"/frameworks/changes/{world['dev_change'].pk}/" not in html
    assert "Auditors want 35 days" in html and "erin" in html
    assert "2 changes" in html  # a new description and a control added
    assert '<span class="nav-count">1</span>' in html
