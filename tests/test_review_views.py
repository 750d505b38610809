"""The review views, tried by every role in every state: allowed, refused with a message, 403.

The expected answer of each (action, role, state) is written down once, in ``expected``, from
the review's state table (``frameworks/services``); the page's buttons are checked against the same
table, so the page offers exactly what the services would allow.
"""

from __future__ import annotations

import re

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from frameworks.models import (
    Approval,
    ChangeRequest,
    ChangeState,
    Comment,
    Event,
    HistoryEvent,
    Outcome,
)
from tests.conftest import client_for
from tests.factories import change_in, live_framework, submitted, user

pytestmark = pytest.mark.django_db

OK, REFUSED, DENIED, HIDDEN = "ok", "refused", "403", "404"

ACTIONS = ["submit", "approve", "reject", "reopen", "withdraw", "rebase", "comment", "start-from"]
STATES = ["draft", "submitted", "approved", "stale", "rejected", "withdrawn", "applied"]
ROLES = ["author", "other_editor", "approver", "auditor", "admin", "outsider", "foreign_approver"]
# No role on the change's target: to them the change does not exist.
STRANGERS = {"outsider", "foreign_approver"}

# Who may, and from which states: the review's state table (frameworks/services/__init__.py).
WHO = {
    "submit": {"author"},
    "approve": {"approver"},
    "reject": {"approver"},
    "reopen": {"author"},
    "withdraw": {"author", "admin"},
    "rebase": {"author"},
    "comment": {"author", "other_editor", "approver", "admin"},
    "start-from": {"author", "other_editor", "admin"},
}
FROM = {
    "submit": {"draft"},
    "approve": {"submitted"},
    "reject": {"submitted"},
    "reopen": {"submitted"},
    "withdraw": {"submitted", "approved"},
    "rebase": {"stale", "draft"},
    "comment": set(STATES),
    "start-from": {"rejected", "withdrawn", "applied"},
}
TO = {
    "submit": "submitted",
    "approve": "approved",
    "reject": "rejected",
    "reopen": "draft",
    "withdraw": "withdrawn",
    "rebase": "draft",
}


def expected(action: str, role: str, state: str) -> str:
    if role in STRANGERS:
        return HIDDEN
    if role not in WHO[action]:
        return DENIED
    if state not in FROM[action]:
        return REFUSED
    if action == "withdraw" and role == "admin" and state != "approved":
        # An admin withdraws only approved changes: one under review is its author's.
        return DENIED
    return OK


def post_data(action: str, change: ChangeRequest) -> dict:
    return {
        "submit": {"reason": "Auditors want 35 days"},
        "approve": {"content_hash": change.proposed_hash or ""},
        "reject": {"content_hash": change.proposed_hash or "", "reason": "Too strict"},
        "reopen": {"reason": "One more control"},
        "withdraw": {"reason": "Not needed"},
        "rebase": {},
        "comment": {"body": "Looks right to me"},
        "start-from": {},
    }[action]


def rows(change: ChangeRequest, event: str) -> list[HistoryEvent]:
    return list(HistoryEvent.objects.filter(change_request_id=change.pk, event=event))


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("action", ACTIONS)
def test_every_action_by_every_role_in_every_state(action, role, state, people):
    change = change_in(state, people)
    actor = people[role]
    before = HistoryEvent.objects.count()
    comments_before = Comment.objects.count()
    url = reverse(f"frameworks:change-{action}", args=[change.pk])

    response = client_for(actor).post(url, post_data(action, change))

    after = ChangeRequest.objects.get(pk=change.pk)
    outcome = expected(action, role, state)
    if outcome == HIDDEN:
        missing = reverse(f"frameworks:change-{action}", args=[change.pk + 1000])
        nothing = client_for(actor).post(missing, post_data(action, change))
        assert (response.status_code, nothing.status_code) == (404, 404)
        assert response.content == nothing.content
        assert after.state == state and after.version == change.version
        assert not HistoryEvent.objects.filter(id__gt=before, outcome=Outcome.OK).exists()
        return
    if outcome == DENIED:
        assert response.status_code == 403
        assert "Not allowed" in response.content.decode()
        assert after.state == state and after.version == change.version
        denied = HistoryEvent.objects.get(id=before + 1)
        assert (denied.event, denied.outcome) == (Event.ACCESS_DENIED, Outcome.DENIED)
        assert denied.actor_id == actor.pk and denied.change_request_id == change.pk
        return
    assert response.status_code == 302
    shown = [str(m) for m in get_messages(response.wsgi_request)]
    if outcome == OK and action == "start-from":
        new = ChangeRequest.objects.get(parent=change)
        assert (new.state, new.author_id, after.state) == (ChangeState.DRAFT, actor.pk, state)
        assert response.headers["Location"] == reverse("frameworks:change-edit", args=[new.pk])
        return
    assert response.headers["Location"] == reverse("frameworks:change-detail", args=[change.pk])
    if outcome == REFUSED:
        assert after.state == state and after.version == change.version
        refused = HistoryEvent.objects.get(id=before + 1)
        assert (refused.event, refused.outcome) == (Event.REFUSED, Outcome.REFUSED)
        assert refused.details["message"] in shown
        return
    if action == "comment":
        assert Comment.objects.count() == comments_before + 1
        assert rows(change, Event.COMMENTED)[0].actor_id == actor.pk
    else:
        assert after.state == TO[action]
    if (action, state) == ("rebase", "draft"):
        return  # a draft already on the live document: nothing to do, nothing recorded
    assert HistoryEvent.objects.filter(id__gt=before, outcome=Outcome.OK).exists()
    assert not HistoryEvent.objects.filter(id__gt=before).exclude(outcome=Outcome.OK).exists()


def offered(html: str) -> set[str]:
    return set(re.findall(r'action="/frameworks/changes/\d+/([\w-]+)/"', html))


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("role", ROLES)
def test_the_page_offers_exactly_the_actions_this_viewer_may_take(role, state, people):
    change = change_in(state, people)
    response = client_for(people[role]).get(reverse("frameworks:change-detail", args=[change.pk]))
    if role in ("outsider", "foreign_approver"):
        # The same answer as for a change that does not exist: nothing says this one does.
        missing = reverse("frameworks:change-detail", args=[change.pk + 1000])
        nothing = client_for(people[role]).get(missing)
        assert (response.status_code, nothing.status_code) == (404, 404)
        assert response.content == nothing.content
        return
    assert response.status_code == 200
    allowed = {action for action in ACTIONS if expected(action, role, state) == OK}
    # Rebasing a draft whose base is still live changes nothing, so it is not offered.
    allowed.discard("rebase") if state == "draft" else None
    assert offered(response.content.decode()) == allowed


# --- four eyes --------------------------------------------------------------------------------


@pytest.fixture
def editor_and_approver(people: dict):
    return user("both", "editor", "approver")


def test_an_author_who_also_approves_is_never_offered_approval_of_their_own_change(
    people, editor_and_approver
):
    change = submitted(editor_and_approver, live_framework(people["target"]))
    page = client_for(editor_and_approver).get(
        reverse("frameworks:change-detail", args=[change.pk])
    )
    assert offered(page.content.decode()) == {"reopen", "withdraw", "comment"}


def test_a_crafted_self_approval_is_refused_with_403_and_recorded(people, editor_and_approver):
    change = submitted(editor_and_approver, live_framework(people["target"]))
    response = client_for(editor_and_approver).post(
        reverse("frameworks:change-approve", args=[change.pk]),
        {"content_hash": change.proposed_hash},
    )
    assert response.status_code == 403
    assert "someone else must approve it" in response.content.decode()
    assert ChangeRequest.objects.get(pk=change.pk).state == ChangeState.SUBMITTED
    assert not Approval.objects.exists()
    denied = rows(change, Event.ACCESS_DENIED)
    assert [(r.actor_id, r.details["code"]) for r in denied] == [
        (editor_and_approver.pk, "four_eyes")
    ]


def test_the_database_refuses_an_approval_by_the_author(people):
    from django.db import IntegrityError, transaction

    change = submitted(people["author"], live_framework(people["target"]))
    with pytest.raises(IntegrityError), transaction.atomic():
        Approval.objects.create(
            change_request=change,
            reviewer=people["author"],
            reviewer_name="erin",
            author=people["author"],
            decision="approve",
            content_hash=change.proposed_hash,
        )


# --- bad input --------------------------------------------------------------------------------


def message_after(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_approving_a_change_that_is_not_submitted_says_so_and_changes_nothing(people):
    change = change_in("draft", people)
    response = client_for(people["approver"]).post(
        reverse("frameworks:change-approve", args=[change.pk]),
        {"content_hash": change.proposed_hash},
    )
    assert response.status_code == 302
    assert message_after(response) == ["This change is draft; it cannot be approved."]
    assert ChangeRequest.objects.get(pk=change.pk).state == ChangeState.DRAFT


def test_rejecting_without_a_reason_is_refused(people):
    change = change_in("submitted", people)
    response = client_for(people["approver"]).post(
        reverse("frameworks:change-reject", args=[change.pk]),
        {"content_hash": change.proposed_hash, "reason": "   "},
    )
    assert message_after(response) == ["Give a reason to reject this change."]
    assert ChangeRequest.objects.get(pk=change.pk).state == ChangeState.SUBMITTED
    assert not Approval.objects.exists()


def test_submitting_without_a_reason_is_refused(people):
    change = change_in("draft", people)
    response = client_for(people["author"]).post(
        reverse("frameworks:change-submit", args=[change.pk]), {"reason": ""}
    )
    assert message_after(response) == ["Give a reason to submit this change."]
    assert ChangeRequest.objects.get(pk=change.pk).state == ChangeState.DRAFT


def test_submitting_a_document_with_errors_is_refused_and_the_page_shows_them(people):
    from frameworks import services

    change = change_in("draft", people)
    doc = dict(change.working_document)
    doc["FrameworkControls"] = doc["FrameworkControls"] + [{"ControlName": ""}]
    services.change_request_save_draft(
        user=people["author"], change_id=change.pk, expected_version=change.version, document=doc
    )
    client = client_for(people["author"])
    response = client.post(
        reverse("frameworks:change-submit", args=[change.pk]), {"reason": "Because"}
    )
    assert "error" in message_after(response)[0]
    assert ChangeRequest.objects.get(pk=change.pk).state == ChangeState.DRAFT
    page = client.get(reverse("frameworks:change-detail", args=[change.pk])).content.decode()
    assert 'class="finding-error"' in page


def test_submitting_on_a_base_that_moved_tells_the_author_to_rebase(people):
    change = change_in("draft", people)
    change.framework.content_hash = "0" * 64
    change.framework.save(update_fields=["content_hash"])
    client = client_for(people["author"])
    response = client.post(
        reverse("frameworks:change-submit", args=[change.pk]), {"reason": "Because"}
    )
    assert "Rebase" in message_after(response)[0]
    assert ChangeRequest.objects.get(pk=change.pk).state == ChangeState.DRAFT
    page = client.get(reverse("frameworks:change-detail", args=[change.pk])).content.decode()
    assert "rebase" in offered(page)


def test_approving_a_proposal_other_than_the_one_shown_is_refused(people):
    change = change_in("submitted", people)
    response = client_for(people["approver"]).post(
        reverse("frameworks:change-approve", args=[change.pk]), {"content_hash": "f" * 64}
    )
    assert "changed after you opened it" in message_after(response)[0]
    assert ChangeRequest.objects.get(pk=change.pk).state == ChangeState.SUBMITTED
    assert not Approval.objects.exists()


def test_a_stale_change_cannot_be_approved(people):
    change = change_in("stale", people)
    response = client_for(people["approver"]).post(
        reverse("frameworks:change-approve", args=[change.pk]),
        {"content_hash": change.proposed_hash},
    )
    assert "stale" in message_after(response)[0]
    assert ChangeRequest.objects.get(pk=change.pk).state == ChangeState.STALE


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("pk", [987654, 2**63 + 5])
def test_an_unknown_change_id_is_404_never_a_500(action, pk, people):
    client = client_for(people["approver"])
    response = client.post(f"/frameworks/changes/{pk}/{action}/", {"content_hash": "x"})
    assert response.status_code == 404
    assert client.get(f"/frameworks/changes/{pk}/").status_code == 404


def test_a_forged_change_id_is_404(people):
    client = client_for(people["approver"])
    assert client.get("/frameworks/changes/abc/").status_code == 404
    assert client.post("/frameworks/changes/-1/approve/").status_code == 404
    assert client.post("/frameworks/changes/1e3/approve/").status_code == 404


@pytest.mark.parametrize("action", ACTIONS)
def test_transitions_answer_only_post(action, people):
    change = change_in("submitted", people)
    url = reverse(f"frameworks:change-{action}", args=[change.pk])
    assert client_for(people["author"]).get(url).status_code == 405


def test_the_page_and_the_queue_need_a_login(people):
    from django.test import Client

    change = change_in("submitted", people)
    for url in (reverse("frameworks:change-detail", args=[change.pk]), "/frameworks/review/"):
        response = Client().get(url)
        assert response.status_code == 302 and "/accounts/login/" in response.headers["Location"]


def test_a_reject_reason_reaches_the_history_and_the_page(people):
    change = change_in("submitted", people)
    client = client_for(people["approver"])
    client.post(
        reverse("frameworks:change-reject", args=[change.pk]),
        {"content_hash": change.proposed_hash, "reason": "Retention of 35 days is too short"},
    )
    (rejected,) = rows(change, Event.REJECTED)
    assert rejected.details["reason"] == "Retention of 35 days is too short"
    page = client.get(reverse("frameworks:change-detail", args=[change.pk])).content.decode()
    assert "Retention of 35 days is too short" in page


def test_reopening_dismisses_approvals_and_the_timeline_says_why(people):
    target = people["target"]
    target.required_approvals = 2
    target.save(update_fields=["required_approvals"])
    change = change_in("submitted", people)
    client_for(people["approver"]).post(
        reverse("frameworks:change-approve", args=[change.pk]),
        {"content_hash": change.proposed_hash},
    )
    assert ChangeRequest.objects.get(pk=change.pk).state == ChangeState.SUBMITTED
    client = client_for(people["author"])
    client.post(reverse("frameworks:change-reopen", args=[change.pk]), {"reason": "Typo"})
    assert Approval.objects.get().dismissed_reason == "Typo"
    assert [r.details["reason"] for r in rows(change, Event.APPROVAL_DISMISSED)] == ["Typo"]
    page = client.get(reverse("frameworks:change-detail", args=[change.pk])).content.decode()
    assert "Approval dismissed" in page


# --- the page ---------------------------------------------------------------------------------


def test_the_page_shows_base_and_proposal_the_diff_warnings_reason_and_timeline(people):
    change = change_in("submitted", people)
    page = (
        client_for(people["approver"])
        .get(reverse("frameworks:change-detail", args=[change.pk]))
        .content.decode()
    )
    assert "Base: what AWS held" in page and "Proposal" in page
    assert 'class="control mark-added"' in page
    assert "Keep recovery points longer" in page  # the new description, highlighted
    assert 'class="mark-changed"' in page
    assert "Add the control" in page  # the semantic diff in words
    assert "Auditors want 35 days" in page  # the reason
    assert 'class="finding-warning"' in page  # the validator's warnings
    assert "Draft created" in page and "Submitted" in page  # the timeline
    assert "0 of 1 approval" in page


def test_a_comment_posted_with_htmx_returns_the_thread_only(people):
    change = change_in("submitted", people)
    response = client_for(people["approver"]).post(
        reverse("frameworks:change-comment", args=[change.pk]),
        {"body": "Why 35 days?"},
        headers={"HX-Request": "true"},
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html and 'id="comment-thread"' in html and "Why 35 days?" in html


def test_an_empty_htmx_comment_sends_the_browser_to_the_page_with_the_message(people):
    change = change_in("submitted", people)
    response = client_for(people["approver"]).post(
        reverse("frameworks:change-comment", args=[change.pk]),
        {"body": " "},
        headers={"HX-Request": "true"},
    )
    assert response.headers["HX-Redirect"] == reverse("frameworks:change-detail", args=[change.pk])
    assert message_after(response) == ["Write something to comment."]


# --- decisions: newest per reviewer, bound to content, dismissed on the way back to draft ------


def approve_as(person, change):
    return client_for(person).post(
        reverse("frameworks:change-approve", args=[change.pk]),
        {"content_hash": change.review_hash},
    )


def test_only_each_reviewers_newest_decision_counts(people):
    people["target"].required_approvals = 2
    people["target"].save(update_fields=["required_approvals"])
    change = change_in("submitted", people)
    approve_as(people["approver"], change)
    approve_as(people["approver"], change)  # the same reviewer twice is one approval
    assert ChangeRequest.objects.get(pk=change.pk).state == ChangeState.SUBMITTED
    approve_as(user("abe", "approver"), change)
    assert ChangeRequest.objects.get(pk=change.pk).state == ChangeState.APPROVED


def test_one_rejection_vetoes_whatever_the_approvals(people):
    people["target"].required_approvals = 2
    people["target"].save(update_fields=["required_approvals"])
    change = change_in("submitted", people)
    approve_as(people["approver"], change)
    client_for(user("abe", "approver")).post(
        reverse("frameworks:change-reject", args=[change.pk]),
        {"content_hash": change.review_hash, "reason": "No"},
    )
    assert ChangeRequest.objects.get(pk=change.pk).state == ChangeState.REJECTED
    assert offered(
        client_for(people["approver"])
        .get(reverse("frameworks:change-detail", args=[change.pk]))
        .content.decode()
    ) == {"comment"}


def test_rebasing_a_stale_change_dismisses_its_approvals_and_recomputes_the_diff(people):
    from frameworks import services
    from tests.factories import with_hash

    people["target"].required_approvals = 2
    people["target"].save(update_fields=["required_approvals"])
    change = change_in("submitted", people)
    approve_as(people["approver"], change)
    framework = change.framework
    # Someone changed it in AWS.
    framework.controls = [*framework.controls, {"ControlName": "BACKUP_RECOVERY_POINT_ENCRYPTED"}]
    framework.save(update_fields=["controls"])
    with_hash(framework)
    services.change_request_mark_stale(change_id=change.pk, live=framework.api_document())
    client = client_for(people["author"])
    page = client.get(reverse("frameworks:change-detail", args=[change.pk])).content.decode()
    assert "can no longer be approved" in page and offered(page) == {"rebase", "comment"}

    client.post(reverse("frameworks:change-rebase", args=[change.pk]))

    change.refresh_from_db()
    assert change.state == ChangeState.DRAFT
    assert change.base_version.content_hash == framework.content_hash
    assert Approval.objects.get().dismissed_at is not None
    (dismissed,) = rows(change, Event.APPROVAL_DISMISSED)
    assert "rebased" in dismissed.details["reason"]
    page = client.get(reverse("frameworks:change-detail", args=[change.pk])).content.decode()
    # The control added in AWS is not in the proposal: against the new base, it is removed.
    assert "Remove the control" in page
