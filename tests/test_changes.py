"""Change requests at the service level: every transition allowed, every one refused.

An allowed transition moves the state, bumps the version and writes its history row; a refused
one raises, changes nothing, and writes one "refused" or "access denied" row.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from frameworks import document, history, queries, services
from frameworks.models import (
    ActorKind,
    Approval,
    ChangeKind,
    ChangeRequest,
    ChangeState,
    Comment,
    Event,
    Framework,
    HistoryEvent,
    Outcome,
    TargetRole,
)
from frameworks.services import PermissionRefused, TransitionRefused
from frameworks.services.base import Call, move
from tests.factories import controls, make_live_framework, make_target, with_hash

pytestmark = pytest.mark.django_db


# --- helpers --------------------------------------------------------------------------------


def doc(days: int = 60, description: str = "daily framework") -> dict[str, Any]:
    return {"FrameworkDescription": description, "FrameworkControls": controls(days, team="ops")}


@pytest.fixture
def live():
    """A target with one framework AWS holds (as sync leaves the mirror)."""
    return make_live_framework(make_target(), "daily", controls=1)


def draft(user, framework: Framework, days: int = 60, **kwargs: Any) -> ChangeRequest:
    return services.change_request_create_draft(
        user=user,
        target_id=framework.target_id,
        kind=kwargs.pop("kind", ChangeKind.UPDATE),
        framework_name=framework.name,
        document=kwargs.pop("document", doc(days)),
        **kwargs,
    )


def submitted(user, framework: Framework, days: int = 60) -> ChangeRequest:
    change = draft(user, framework, days)
    return services.change_request_submit(user=user, change_id=change.pk, reason="tighten it")


def approved(author, approver, framework: Framework) -> ChangeRequest:
    change = submitted(author, framework)
    return services.change_request_approve(
        user=approver, change_id=change.pk, content_hash=change.proposed_hash
    )


def applying(author, approver, framework: Framework, worker: str = "w1") -> ChangeRequest:
    change = approved(author, approver, framework)
    return services.change_request_claim(
        change_id=change.pk, worker=worker, lease_seconds=60, max_attempts=3
    )


def last_row() -> HistoryEvent:
    return HistoryEvent.objects.order_by("-id").first()


def rows_of(change: ChangeRequest) -> list[str]:
    return list(
        HistoryEvent.objects.filter(change_request=change)
        .order_by("id")
        .values_list("event", flat=True)
    )


def snapshot(change: ChangeRequest | None) -> tuple | None:
    if change is None:
        return None
    fresh = ChangeRequest.objects.get(pk=change.pk)
    return (
        fresh.state,
        fresh.version,
        fresh.base_version_id,
        fresh.proposed_version_id,
        fresh.working_document,
        fresh.lease_owner,
        fresh.attempts,
        Approval.objects.filter(change_request=fresh, dismissed_at__isnull=True).count(),
    )


def refused(
    action: Callable[[], object],
    code: str,
    change: ChangeRequest | None = None,
    *,
    denied: bool = False,
) -> TransitionRefused:
    """`action` is refused with `code`, changes nothing, and writes exactly one row saying so."""
    before, count = snapshot(change), HistoryEvent.objects.count()
    with pytest.raises(TransitionRefused) as info:
        action()
    assert info.value.code == code, info.value.message
    assert isinstance(info.value, PermissionRefused) == denied
    assert snapshot(change) == before
    assert HistoryEvent.objects.count() == count + 1
    row = last_row()
    assert row.event == (Event.ACCESS_DENIED if denied else Event.REFUSED)
    assert row.outcome == (Outcome.DENIED if denied else Outcome.REFUSED)
    assert row.details["code"] == code and row.details["message"] == info.value.message
    if change is not None:
        assert row.change_request_id == change.pk
        assert row.framework_name == change.framework_name
    return info.value


# --- drafts ---------------------------------------------------------------------------------


def test_an_editor_opens_an_update_draft_based_on_the_live_document(editor, live):
    change = draft(editor, live, 60)
    assert (change.state, change.version, change.kind) == (ChangeState.DRAFT, 1, "update")
    assert change.base_version.content_hash == live.content_hash
    assert change.proposed_version.content_hash == document.content_hash(document.parse(doc(60)))
    assert change.author == editor and change.author_name == "erin"
    assert change.framework == live
    row = last_row()
    assert (row.event, row.outcome, row.actor_id, row.actor_name, row.actor_kind) == (
        Event.DRAFT_CREATED,
        Outcome.OK,
        editor.pk,
        "erin",
        ActorKind.USER,
    )
    assert (row.version_before, row.version_after) == (change.base_version, change.proposed_version)
    assert row.target_id == live.target_id and row.framework_name == "daily"


def test_a_draft_without_a_document_starts_as_the_live_one(editor, live):
    change = services.change_request_create_draft(
        user=editor, target_id=live.target_id, kind="update", framework_name="daily"
    )
    assert change.proposed_version == change.base_version
    assert change.working_document["FrameworkControls"] == live.controls


def test_a_create_draft_has_no_base_and_a_delete_draft_proposes_nothing(editor, live):
    create = services.change_request_create_draft(
        user=editor,
        target_id=live.target_id,
        kind=ChangeKind.CREATE,
        framework_name="weekly",
        document=doc(9),
    )
    assert create.base_version is None and create.framework is None
    assert create.working_document["FrameworkName"] == "weekly"
    delete = draft(editor, live, kind=ChangeKind.DELETE, reason="no longer needed")
    assert delete.base_version.content_hash == live.content_hash
    assert delete.proposed_version is None and delete.working_document == {}
    assert delete.reason == "no longer needed"


def test_opening_a_draft_is_refused_with_a_reason(editor, auditor, outsider, live):
    target_id = live.target_id

    def create(user, kind, name, **kwargs):
        return lambda: services.change_request_create_draft(
            user=user, target_id=target_id, kind=kind, framework_name=name, **kwargs
        )

    refused(create(auditor, "update", "daily"), "not_editor", denied=True)
    refused(create(outsider, "update", "daily"), "not_editor", denied=True)
    refused(create(editor, "update", "nope"), "no_framework")
    refused(create(editor, "create", "daily"), "exists")
    refused(create(editor, "create", "bad-name"), "bad_name")
    refused(create(editor, "rename", "daily"), "bad_kind")
    refused(create(editor, "delete", "daily"), "reason_required")
    refused(create(editor, "delete", "nope", reason="x"), "no_framework")
    refused(
        lambda: services.change_request_create_draft(
            user=editor, target_id=999999, kind="update", framework_name="daily"
        ),
        "not_found",
    )
    assert not ChangeRequest.objects.exists()


def test_saving_a_draft_keeps_the_document_as_written_and_bumps_the_version(editor, live):
    change = draft(editor, live, 60)
    written = doc(61)
    written["FrameworkControls"][0]["ControlScope"]["ComplianceResourceIds"] = []
    change = services.change_request_save_draft(
        user=editor, change_id=change.pk, expected_version=1, document=written, reason="why"
    )
    assert change.version == 2 and change.reason == "why"
    stored = ChangeRequest.objects.get(pk=change.pk)
    assert (
        stored.working_document["FrameworkControls"][0]["ControlScope"]["ComplianceResourceIds"]
        == []
    )
    assert stored.proposed_version.content_hash == document.content_hash(document.parse(written))
    row = last_row()
    assert row.event == Event.DRAFT_SAVED and row.details == {"version": 2, "readable": True}
    assert row.version_after == stored.proposed_version


def test_a_draft_that_does_not_parse_is_saved_without_a_proposal(editor, live):
    change = draft(editor, live)
    change = services.change_request_save_draft(
        user=editor,
        change_id=change.pk,
        expected_version=1,
        document={"FrameworkControls": "not a list"},
    )
    assert change.proposed_version is None
    assert last_row().details == {"version": 2, "readable": False}


@pytest.mark.parametrize(
    ("text", "words"), [("a\x00b", "a NUL character"), ("\ud800", "an unpaired surrogate")]
)
def test_text_the_database_cannot_keep_is_refused_by_the_services(editor, live, text, words):
    change = draft(editor, live)
    with pytest.raises(TransitionRefused) as refused:
        services.change_request_save_draft(
            user=editor,
            change_id=change.pk,
            expected_version=1,
            document={"FrameworkDescription": text, "FrameworkControls": []},
        )
    assert refused.value.code == "unstorable" and words in refused.value.message
    with pytest.raises(TransitionRefused, match=words):
        draft(editor, live, reason=f"why {text}", kind=ChangeKind.CREATE)
    assert ChangeRequest.objects.get(pk=change.pk).version == 1


def test_saving_a_draft_is_refused_to_others_and_on_a_stale_version(
    editor, other_editor, approver, live
):
    change = draft(editor, live)
    save = services.change_request_save_draft
    refused(
        lambda: save(user=editor, change_id=change.pk, expected_version=7, document=doc(1)),
        "version_conflict",
        change,
    )
    refused(
        lambda: save(user=other_editor, change_id=change.pk, expected_version=1, document=doc(1)),
        "not_author",
        change,
        denied=True,
    )
    refused(
        lambda: save(user=approver, change_id=change.pk, expected_version=1, document=doc(1)),
        "not_editor",
        change,
        denied=True,
    )
    error = refused(lambda: save(user=editor, change_id=424242, expected_version=1), "not_found")
    assert "#424242" in error.message
    assert last_row().details["change_request_id"] == 424242


def test_the_author_discards_a_draft(editor, other_editor, live):
    change = draft(editor, live)
    refused(
        lambda: services.change_request_discard(user=other_editor, change_id=change.pk),
        "not_author",
        change,
        denied=True,
    )
    change = services.change_request_discard(user=editor, change_id=change.pk)
    assert change.state == ChangeState.WITHDRAWN
    assert rows_of(change)[-1] == Event.DRAFT_DISCARDED
    refused(
        lambda: services.change_request_discard(user=editor, change_id=change.pk),
        "not_draft",
        change,
    )


# --- submit ---------------------------------------------------------------------------------


def test_submit_freezes_the_proposal_and_snapshots_the_required_approvals(editor, live):
    live.target.required_approvals = 2
    live.target.save()
    change = submitted(editor, live)
    assert change.state == ChangeState.SUBMITTED and change.version == 2
    assert change.required_approvals == 2 and change.submitted_at is not None
    assert change.reason == "tighten it"
    row = last_row()
    assert row.event == Event.SUBMITTED
    assert row.details["reason"] == "tighten it" and row.details["required_approvals"] == 2
    assert (row.version_before, row.version_after) == (change.base_version, change.proposed_version)
    diff = {c.kind: (c.old, c.new) for c in queries.changes_of(row)}
    assert diff["parameter_changed"] == ("1", "60") and "scope_changed" in diff
    refused(
        lambda: services.change_request_save_draft(
            user=editor, change_id=change.pk, expected_version=2, document=doc(5)
        ),
        "not_draft",
        change,
    )


def test_submit_needs_a_reason(editor, live):
    change = draft(editor, live)
    submit = services.change_request_submit
    refused(
        lambda: submit(user=editor, change_id=change.pk, reason="  "), "reason_required", change
    )


def test_submit_refuses_a_document_with_errors_and_names_them(editor, live):
    change = draft(editor, live, document={"FrameworkControls": []})
    error = refused(
        lambda: services.change_request_submit(user=editor, change_id=change.pk, reason="r"),
        "invalid",
        change,
    )
    assert any(f.path == "controls" for f in error.findings)
    assert last_row().details["findings"]


def test_submit_refuses_what_aws_would_refuse_as_already_existing(editor, live):
    twin = make_live_framework(live.target, "twin", controls=0)
    twin.controls = controls(60, team="ops")
    twin.save()
    change = draft(editor, live, 60)
    error = refused(
        lambda: services.change_request_submit(user=editor, change_id=change.pk, reason="r"),
        "invalid",
        change,
    )
    assert "account.same_controls" in {f.code for f in error.findings}


def test_submit_refuses_a_draft_that_changes_nothing(editor, live):
    change = services.change_request_create_draft(
        user=editor, target_id=live.target_id, kind="update", framework_name="daily"
    )
    refused(
        lambda: services.change_request_submit(user=editor, change_id=change.pk, reason="r"),
        "no_change",
        change,
    )


def test_submit_tells_the_author_to_rebase_when_aws_moved(editor, live):
    change = draft(editor, live)
    Framework.objects.filter(pk=live.pk).update(content_hash="f" * 64)
    error = refused(
        lambda: services.change_request_submit(user=editor, change_id=change.pk, reason="r"),
        "rebase_needed",
        change,
    )
    assert "Rebase" in error.message


def test_a_second_open_change_to_one_framework_is_refused(editor, other_editor, live):
    first = submitted(editor, live)
    second = draft(other_editor, live, 90)
    error = refused(
        lambda: services.change_request_submit(user=other_editor, change_id=second.pk, reason="r"),
        "already_open",
        second,
    )
    assert f"#{first.pk}" in error.message


def test_the_database_allows_one_open_change_per_framework(editor, live):
    first = submitted(editor, live)
    with pytest.raises(IntegrityError), transaction.atomic():
        ChangeRequest.objects.create(
            kind="update",
            target=first.target,
            framework_name=first.framework_name,
            base_version=first.base_version,
            author_name="x",
            state=ChangeState.APPROVED,
        )


def test_submit_is_refused_to_others(editor, other_editor, auditor, live):
    change = draft(editor, live)
    submit = services.change_request_submit
    refused(
        lambda: submit(user=other_editor, change_id=change.pk, reason="r"),
        "not_author",
        change,
        denied=True,
    )
    refused(
        lambda: submit(user=auditor, change_id=change.pk, reason="r"),
        "not_editor",
        change,
        denied=True,
    )


def test_someone_without_a_role_on_the_target_is_denied(editor, outsider, live):
    change = draft(editor, live)
    refused(
        lambda: services.change_request_submit(user=outsider, change_id=change.pk, reason="r"),
        "no_role",
        change,
        denied=True,
    )


def test_a_role_for_one_target_does_not_reach_another(editor, live):
    from django.contrib.auth.models import Group, User

    change = submitted(editor, live)
    elsewhere = make_target("elsewhere")
    local = User.objects.create_user("local")
    TargetRole.objects.create(
        user=local, group=Group.objects.get(name="approver"), target=elsewhere
    )
    refused(
        lambda: services.change_request_approve(
            user=local, change_id=change.pk, content_hash=change.proposed_hash
        ),
        "no_role",
        change,
        denied=True,
    )
    TargetRole.objects.create(
        user=local, group=Group.objects.get(name="approver"), target=live.target
    )
    local = User.objects.get(pk=local.pk)  # the roles are cached per user object
    services.change_request_approve(
        user=local, change_id=change.pk, content_hash=change.proposed_hash
    )


# --- review ---------------------------------------------------------------------------------


def test_one_approval_approves_by_default(editor, approver, live):
    change = submitted(editor, live)
    change = services.change_request_approve(
        user=approver, change_id=change.pk, content_hash=change.proposed_hash, reason="fine"
    )
    assert change.state == ChangeState.APPROVED and change.version == 3
    row = last_row()
    assert row.event == Event.APPROVED and row.actor_id == approver.pk
    assert row.details["approvals"] == 1 and row.details["state_after"] == "approved"
    assert row.details["content_hash"] == change.proposed_hash
    decision = Approval.objects.get(change_request=change)
    assert (decision.reviewer, decision.author, decision.decision) == (approver, editor, "approve")


def test_a_target_can_require_two_approvals_and_each_reviewer_counts_once(
    editor, approver, other_approver, live
):
    live.target.required_approvals = 2
    live.target.save()
    change = submitted(editor, live)
    approve = services.change_request_approve
    change = approve(user=approver, change_id=change.pk, content_hash=change.proposed_hash)
    assert change.state == ChangeState.SUBMITTED
    count = HistoryEvent.objects.count()
    again = approve(user=approver, change_id=change.pk, content_hash=change.proposed_hash)
    assert again.version == change.version and HistoryEvent.objects.count() == count
    change = approve(user=other_approver, change_id=change.pk, content_hash=change.proposed_hash)
    assert change.state == ChangeState.APPROVED
    assert last_row().details["approvals"] == 2


def test_nobody_approves_or_rejects_their_own_change(editor, approver, live):
    from django.contrib.auth.models import Group

    editor.groups.add(Group.objects.get(name="approver"))
    change = submitted(editor, live)
    for verb in (services.change_request_approve, services.change_request_reject):
        error = refused(
            lambda verb=verb: verb(
                user=editor, change_id=change.pk, content_hash=change.proposed_hash, reason="r"
            ),
            "four_eyes",
            change,
            denied=True,
        )
        assert "someone else" in error.message


def test_the_database_refuses_an_approval_by_the_author(editor, live):
    change = submitted(editor, live)
    with pytest.raises(IntegrityError), transaction.atomic():
        Approval.objects.create(
            change_request=change,
            reviewer=editor,
            reviewer_name="erin",
            author=editor,
            decision="approve",
            content_hash=change.proposed_hash,
        )


def test_only_approvers_review(editor, other_editor, admin_user, auditor, live):
    change = submitted(editor, live)
    for user in (other_editor, admin_user, auditor):
        refused(
            lambda user=user: services.change_request_approve(
                user=user, change_id=change.pk, content_hash=change.proposed_hash
            ),
            "not_approver",
            change,
            denied=True,
        )


def test_an_approval_is_bound_to_the_proposal_the_reviewer_saw(editor, approver, live):
    change = submitted(editor, live)
    error = refused(
        lambda: services.change_request_approve(
            user=approver, change_id=change.pk, content_hash="0" * 64
        ),
        "outdated",
        change,
    )
    assert "changed" in error.message


def test_only_a_submitted_change_is_reviewed(editor, approver, live):
    change = draft(editor, live)
    refused(
        lambda: services.change_request_approve(
            user=approver, change_id=change.pk, content_hash=change.proposed_hash
        ),
        "not_submitted",
        change,
    )


def test_a_stale_change_cannot_be_approved(editor, approver, live):
    change = submitted(editor, live)
    services.change_request_mark_stale(change_id=change.pk, live=None)
    change.refresh_from_db()
    error = refused(
        lambda: services.change_request_approve(
            user=approver, change_id=change.pk, content_hash=change.proposed_hash
        ),
        "not_submitted",
        change,
    )
    assert "rebase" in error.message


def test_a_rejection_needs_a_reason_and_vetoes(editor, approver, live):
    change = submitted(editor, live)
    reject = services.change_request_reject
    refused(
        lambda: reject(
            user=approver, change_id=change.pk, content_hash=change.proposed_hash, reason=""
        ),
        "reason_required",
        change,
    )
    change = reject(
        user=approver, change_id=change.pk, content_hash=change.proposed_hash, reason="too long"
    )
    assert change.state == ChangeState.REJECTED
    row = last_row()
    assert row.event == Event.REJECTED and row.details["reason"] == "too long"
    assert Approval.objects.get(change_request=change).decision == "reject"


# --- reopen and withdraw --------------------------------------------------------------------


def test_reopening_dismisses_every_approval_with_a_row_each(editor, approver, other_approver, live):
    live.target.required_approvals = 3
    live.target.save()
    change = submitted(editor, live)
    for user in (approver, other_approver):
        change = services.change_request_approve(
            user=user, change_id=change.pk, content_hash=change.proposed_hash
        )
    change = services.change_request_reopen(user=editor, change_id=change.pk, reason="typo")
    assert change.state == ChangeState.DRAFT
    assert not Approval.objects.filter(change_request=change, dismissed_at__isnull=True).exists()
    assert set(Approval.objects.values_list("dismissed_reason", flat=True)) == {"typo"}
    rows = list(HistoryEvent.objects.filter(change_request=change).order_by("-id")[:3])
    assert [r.event for r in reversed(rows)] == [
        Event.REOPENED,
        Event.APPROVAL_DISMISSED,
        Event.APPROVAL_DISMISSED,
    ]
    assert {r.details["reviewer"] for r in rows[:2]} == {"alice", "abe"}
    assert len({r.correlation_id for r in rows}) == 1
    assert change.current_approvals() == []


def test_reopen_is_for_the_author_of_a_submitted_change(editor, other_editor, approver, live):
    change = draft(editor, live)
    refused(
        lambda: services.change_request_reopen(user=editor, change_id=change.pk),
        "not_submitted",
        change,
    )
    change = services.change_request_submit(user=editor, change_id=change.pk, reason="r")
    refused(
        lambda: services.change_request_reopen(user=other_editor, change_id=change.pk),
        "not_author",
        change,
        denied=True,
    )


def test_the_author_withdraws_a_submitted_or_approved_change(editor, approver, live):
    change = submitted(editor, live)
    change = services.change_request_withdraw(user=editor, change_id=change.pk, reason="later")
    assert change.state == ChangeState.WITHDRAWN
    row = last_row()
    assert row.event == Event.WITHDRAWN
    assert row.details == {"reason": "later", "state_before": "submitted", "by_author": True}
    change = approved(editor, approver, live)
    change = services.change_request_withdraw(user=editor, change_id=change.pk)
    assert change.state == ChangeState.WITHDRAWN


def test_an_admin_withdraws_an_approved_change_but_not_one_under_review(
    editor, approver, admin_user, live
):
    change = submitted(editor, live)
    refused(
        lambda: services.change_request_withdraw(user=admin_user, change_id=change.pk),
        "not_author",
        change,
        denied=True,
    )
    change = services.change_request_approve(
        user=approver, change_id=change.pk, content_hash=change.proposed_hash
    )
    change = services.change_request_withdraw(user=admin_user, change_id=change.pk)
    assert change.state == ChangeState.WITHDRAWN
    assert last_row().details["by_author"] is False


def test_withdraw_is_refused_to_others_and_once_claimed(editor, other_editor, approver, live):
    change = approved(editor, approver, live)
    refused(
        lambda: services.change_request_withdraw(user=other_editor, change_id=change.pk),
        "not_author",
        change,
        denied=True,
    )
    services.change_request_claim(change_id=change.pk, worker="w", lease_seconds=60, max_attempts=3)
    refused(
        lambda: services.change_request_withdraw(user=editor, change_id=change.pk),
        "not_submitted_or_approved",
        change,
    )
    other = draft(other_editor, make_live_framework(live.target, "other", controls=1))
    refused(
        lambda: services.change_request_withdraw(user=other_editor, change_id=other.pk),
        "not_submitted_or_approved",
        other,
    )


# --- stale, rebase, start again -------------------------------------------------------------


def test_mark_stale_needs_the_live_document_to_have_moved(editor, live):
    change = submitted(editor, live)
    answer = live.api_document()
    refused(
        lambda: services.change_request_mark_stale(change_id=change.pk, live=answer),
        "not_stale",
        change,
    )
    answer["FrameworkDescription"] = "edited in the console"
    change = services.change_request_mark_stale(change_id=change.pk, live=answer)
    assert change.state == ChangeState.STALE
    row = last_row()
    assert (row.event, row.actor_kind) == (Event.STALE, ActorKind.SYSTEM)
    assert row.details["live_hash"] == document.content_hash(document.parse(answer))
    refused(
        lambda: services.change_request_mark_stale(change_id=change.pk, live=None),
        "not_open",
        change,
    )


def test_the_author_rebases_a_stale_change_onto_the_live_document(editor, other_editor, live):
    change = submitted(editor, live, 60)
    old_base = change.base_version
    live.description = "edited in AWS"
    live.save()
    with_hash(live)
    services.change_request_mark_stale(change_id=change.pk, live=live.api_document())
    change.refresh_from_db()
    refused(
        lambda: services.change_request_rebase(user=other_editor, change_id=change.pk),
        "not_author",
        change,
        denied=True,
    )
    change = services.change_request_rebase(user=editor, change_id=change.pk)
    assert change.state == ChangeState.DRAFT
    assert change.base_version.content_hash == live.content_hash != old_base.content_hash
    row = last_row()
    assert row.event == Event.REBASED
    assert (row.version_before, row.version_after) == (old_base, change.base_version)
    services.change_request_submit(user=editor, change_id=change.pk, reason="again")


def test_rebase_refreshes_a_draft_whose_base_moved(editor, live):
    change = draft(editor, live)
    live.controls = controls(2, team="ops")
    live.save()
    with_hash(live)
    change = services.change_request_rebase(user=editor, change_id=change.pk)
    assert change.base_version.content_hash == live.content_hash and change.version == 2


def test_a_stale_create_rebases_into_an_update_of_the_framework_that_appeared(editor):
    target = make_target()
    change = services.change_request_create_draft(
        user=editor, target_id=target.pk, kind="create", framework_name="fresh", document=doc(3)
    )
    change = services.change_request_submit(user=editor, change_id=change.pk, reason="r")
    appeared = make_live_framework(target, "fresh", controls=1)
    services.change_request_mark_stale(change_id=change.pk, live=appeared.api_document())
    change = services.change_request_rebase(user=editor, change_id=change.pk)
    assert change.kind == ChangeKind.UPDATE and change.framework == appeared
    assert last_row().details["kind_before"] == "create"


def test_only_a_stale_change_or_a_draft_is_rebased(editor, approver, live):
    change = approved(editor, approver, live)
    refused(
        lambda: services.change_request_rebase(user=editor, change_id=change.pk),
        "not_stale_or_draft",
        change,
    )


def test_a_new_change_starts_from_one_that_ended(editor, other_editor, approver, auditor, live):
    change = submitted(editor, live, 70)
    refused(
        lambda: services.change_request_start_from(user=other_editor, change_id=change.pk),
        "not_final",
        change,
    )
    change = services.change_request_reject(
        user=approver, change_id=change.pk, content_hash=change.proposed_hash, reason="no"
    )
    refused(
        lambda: services.change_request_start_from(user=auditor, change_id=change.pk),
        "not_editor",
        change,
        denied=True,
    )
    new = services.change_request_start_from(user=other_editor, change_id=change.pk)
    assert (new.state, new.parent, new.author) == (ChangeState.DRAFT, change, other_editor)
    assert new.working_document == change.working_document
    assert new.base_version.content_hash == live.content_hash
    row = last_row()
    assert row.event == Event.DRAFT_CREATED and row.details["parent"] == change.pk


def test_comments_are_for_the_people_working_on_the_target(editor, approver, auditor, live):
    change = draft(editor, live)
    comment = services.change_request_comment(user=approver, change_id=change.pk, body=" Why? ")
    assert Comment.objects.get().body == "Why?" and comment.author_name == "alice"
    assert last_row().event == Event.COMMENTED
    refused(
        lambda: services.change_request_comment(user=auditor, change_id=change.pk, body="hi"),
        "no_comment",
        change,
        denied=True,
    )
    refused(
        lambda: services.change_request_comment(user=editor, change_id=change.pk, body=" "),
        "empty_comment",
        change,
    )


# --- the worker's transitions ---------------------------------------------------------------


def test_a_worker_claims_an_approved_change_under_a_lease(editor, approver, live):
    change = applying(editor, approver, live, worker="host:1")
    assert change.state == ChangeState.APPLYING and change.attempts == 1
    assert change.lease_owner == "host:1" and change.lease_until > timezone.now()
    row = last_row()
    assert (row.event, row.actor_kind, row.actor_name) == (
        Event.CLAIMED,
        ActorKind.WORKER,
        "host:1",
    )
    assert row.details["attempt"] == 1
    refused(
        lambda: services.change_request_claim(
            change_id=change.pk, worker="host:2", lease_seconds=60, max_attempts=3
        ),
        "not_approved",
        change,
    )


def test_an_expired_lease_returns_the_change_to_approved(editor, approver, live):
    change = applying(editor, approver, live)
    assert services.change_request_release_expired() == []
    later = timezone.now() + timedelta(minutes=5)
    assert services.change_request_release_expired(now=later) == [change.pk]
    change.refresh_from_db()
    assert change.state == ChangeState.APPROVED and change.lease_owner == ""
    row = last_row()
    assert (row.event, row.actor_kind, row.details["lease_owner"]) == (
        Event.LEASE_EXPIRED,
        ActorKind.SYSTEM,
        "w1",
    )
    refused(
        lambda: services.change_request_record_attempt(
            change_id=change.pk, worker="w1", stage="started"
        ),
        "lease_lost",
        change,
    )


def test_a_change_claimed_too_often_ends_failed(editor, approver, live):
    change = approved(editor, approver, live)
    ChangeRequest.objects.filter(pk=change.pk).update(attempts=3)
    change = services.change_request_claim(
        change_id=change.pk, worker="w", lease_seconds=60, max_attempts=3
    )
    assert change.state == ChangeState.FAILED
    assert change.last_error["code"] == "AttemptsExhausted"
    assert (last_row().event, last_row().outcome) == (Event.FAILED, Outcome.ERROR)


def test_each_attempt_is_recorded_without_credentials(editor, approver, live):
    change = applying(editor, approver, live)
    request = {
        "FrameworkName": "daily",
        "IdempotencyToken": "tok",
        "headers": {"Authorization": "AWS4-HMAC-SHA256 Credential=AKIA/…", "X-Amz-Date": "x"},
    }
    record = services.change_request_record_attempt
    record(change_id=change.pk, worker="w1", stage="started", request=request)
    record(
        change_id=change.pk,
        worker="w1",
        stage="failed",
        request=request,
        error={"code": "ThrottlingException", "message": "slow down"},
        request_id="req-1",
        duration_ms=12,
    )
    record(
        change_id=change.pk,
        worker="w1",
        stage="succeeded",
        request=request,
        response={"FrameworkArn": "arn"},
        request_id="req-2",
        duration_ms=30,
    )
    started, failed, succeeded = HistoryEvent.objects.filter(change_request=change).order_by("id")[
        4:
    ]
    assert [started.event, failed.event, succeeded.event] == [
        Event.ATTEMPT_STARTED,
        Event.ATTEMPT_FAILED,
        Event.ATTEMPT_SUCCEEDED,
    ]
    assert failed.outcome == Outcome.ERROR and failed.details["request_id"] == "req-1"
    assert failed.details["request"]["headers"]["Authorization"] == "[removed]"
    assert failed.details["request"]["IdempotencyToken"] == "tok"
    assert succeeded.details["response"] == {"FrameworkArn": "arn"}
    assert succeeded.details["duration_ms"] == 30 and succeeded.details["attempt"] == 1
    change.refresh_from_db()
    assert change.last_error == {"code": "ThrottlingException", "message": "slow down"}
    services.change_request_record_deployment_status(
        change_id=change.pk, worker="w1", status="UPDATE_IN_PROGRESS", poll=1
    )
    assert last_row().details["deployment_status"] == "UPDATE_IN_PROGRESS"
    refused(lambda: record(change_id=change.pk, worker="w2", stage="started"), "lease_lost", change)
    refused(lambda: record(change_id=change.pk, worker="w1", stage="halfway"), "bad_stage", change)


def test_an_applied_update_records_the_mirror_and_the_version_aws_reports(editor, approver, live):
    change = applying(editor, approver, live)
    described = {
        "FrameworkName": "daily",
        "FrameworkArn": live.arn,
        **doc(60),
        "DeploymentStatus": "COMPLETED",
        "FrameworkStatus": "ACTIVE",
    }
    change = services.change_request_mark_applied(
        change_id=change.pk, worker="w1", described=described
    )
    assert change.state == ChangeState.APPLIED and change.applied_at is not None
    assert change.lease_owner == ""
    mirror = Framework.objects.get(pk=live.pk)
    assert mirror.content_hash == change.proposed_hash
    row = last_row()
    assert row.event == Event.APPLIED and row.details["matches_approved"] is True
    assert row.version_after == change.proposed_version
    assert queries.changes_of(row) == document.diff(
        change.base_version.as_document(), change.proposed_version.as_document()
    )


def test_an_applied_create_and_delete_update_the_mirror(editor, approver, live):
    target = live.target
    create = services.change_request_create_draft(
        user=editor, target_id=target.pk, kind="create", framework_name="fresh", document=doc(5)
    )
    create = services.change_request_submit(user=editor, change_id=create.pk, reason="r")
    create = services.change_request_approve(
        user=approver, change_id=create.pk, content_hash=create.proposed_hash
    )
    services.change_request_claim(change_id=create.pk, worker="w", lease_seconds=9, max_attempts=1)
    described = {"FrameworkName": "fresh", "FrameworkArn": "arn:fresh", **doc(5)}
    create = services.change_request_mark_applied(
        change_id=create.pk, worker="w", described=described
    )
    assert create.framework.name == "fresh" and create.framework.present

    delete = draft(editor, live, kind=ChangeKind.DELETE, reason="retire", document=None)
    delete = services.change_request_submit(user=editor, change_id=delete.pk, reason="retire")
    delete = services.change_request_approve(
        user=approver, change_id=delete.pk, content_hash=delete.review_hash
    )
    services.change_request_claim(change_id=delete.pk, worker="w", lease_seconds=9, max_attempts=1)
    refused(
        lambda: services.change_request_mark_applied(
            change_id=create.pk, worker="w", described=None
        ),
        "lease_lost",
        create,
    )
    services.change_request_mark_applied(change_id=delete.pk, worker="w")
    assert not Framework.objects.get(pk=live.pk).present
    assert queries.changes_of(last_row())[0].kind == "framework_deleted"


def test_a_failed_change_keeps_the_error(editor, approver, live):
    change = applying(editor, approver, live)
    error = {"code": "InvalidParameterValueException", "message": "bad", "words": "AWS refused"}
    change = services.change_request_mark_failed(change_id=change.pk, worker="w1", error=error)
    assert change.state == ChangeState.FAILED and change.last_error == error
    assert (last_row().event, last_row().details["error"]) == (Event.FAILED, error)
    refused(
        lambda: services.change_request_mark_failed(change_id=change.pk, worker="w1", error={}),
        "lease_lost",
        change,
    )


def test_a_worker_that_sees_drift_marks_its_change_stale(editor, approver, live):
    change = applying(editor, approver, live)
    drifted = {**live.api_document(), "FrameworkDescription": "drift"}
    refused(
        lambda: services.change_request_mark_stale(
            change_id=change.pk, live=drifted, worker="other"
        ),
        "lease_lost",
        change,
    )
    change = services.change_request_mark_stale(change_id=change.pk, live=drifted, worker="w1")
    assert change.state == ChangeState.STALE and change.lease_owner == ""
    assert last_row().actor_kind == ActorKind.WORKER


def test_the_whole_life_of_a_change_is_in_its_history(editor, approver, live):
    change = applying(editor, approver, live)
    services.change_request_mark_applied(
        change_id=change.pk, worker="w1", described={"FrameworkName": "daily", **doc(60)}
    )
    assert rows_of(change) == [
        Event.DRAFT_CREATED,
        Event.SUBMITTED,
        Event.APPROVED,
        Event.CLAIMED,
        Event.APPLIED,
    ]
    assert history.verify() == (5, None)


# --- optimistic locking ---------------------------------------------------------------------


def test_a_transition_on_an_out_of_date_row_is_refused(editor, live):
    change = draft(editor, live)
    ChangeRequest.objects.filter(pk=change.pk).update(version=5)  # someone else moved it
    call = Call.for_user(editor, "test", change=change)
    with pytest.raises(TransitionRefused) as info:
        move(call, change, to=ChangeState.SUBMITTED)
    assert info.value.code == "conflict"
    assert ChangeRequest.objects.get(pk=change.pk).state == ChangeState.DRAFT


@pytest.mark.django_db(transaction=True)
def test_a_refusal_is_recorded_in_its_own_transaction(editor, other_editor):
    """Outside any test transaction: the refused attempt is rolled back, its row committed."""
    live = make_live_framework(make_target(), "daily", controls=1)
    change = draft(editor, live)
    with pytest.raises(PermissionRefused):
        services.change_request_submit(user=other_editor, change_id=change.pk, reason="r")
    assert ChangeRequest.objects.get(pk=change.pk).state == ChangeState.DRAFT
    assert last_row().event == Event.ACCESS_DENIED
    assert history.verify()[1] is None


# --- races on PostgreSQL --------------------------------------------------------------------


def race(*actions: Callable[[], object]) -> list[object]:
    """Run the actions in threads released together; each result or the exception raised."""
    barrier = threading.Barrier(len(actions))
    results: list[object] = [None] * len(actions)

    def run(index: int) -> None:
        barrier.wait()
        try:
            results[index] = actions[index]()
        except Exception as exc:
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(actions))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("attempt", range(3))
def test_two_submits_for_one_framework_at_once_leave_exactly_one_open(
    editor, other_editor, attempt
):
    live = make_live_framework(make_target(), "daily", controls=1)
    first, second = draft(editor, live, 60), draft(other_editor, live, 90)
    results = race(
        lambda: services.change_request_submit(user=editor, change_id=first.pk, reason="a"),
        lambda: services.change_request_submit(user=other_editor, change_id=second.pk, reason="b"),
    )
    refusals = [r for r in results if isinstance(r, TransitionRefused)]
    assert len(refusals) == 1 and refusals[0].code == "already_open", results
    assert ChangeRequest.objects.filter(state=ChangeState.SUBMITTED).count() == 1
    events = list(HistoryEvent.objects.order_by("id").values_list("event", flat=True))
    assert events.count(Event.SUBMITTED) == 1 and events.count(Event.REFUSED) == 1
    assert history.verify()[1] is None


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_approvers_at_once_on_a_change_needing_one_approve_it_once(
    editor, approver, other_approver
):
    live = make_live_framework(make_target(), "daily", controls=1)
    change = submitted(editor, live)
    results = race(
        *[
            lambda user=user: services.change_request_approve(
                user=user, change_id=change.pk, content_hash=change.proposed_hash
            )
            for user in (approver, other_approver)
        ]
    )
    assert sum(isinstance(r, TransitionRefused) for r in results) == 1, results
    assert ChangeRequest.objects.get(pk=change.pk).state == ChangeState.APPROVED
    assert Approval.objects.filter(change_request=change).count() == 1
    assert HistoryEvent.objects.filter(event=Event.APPROVED).count() == 1
    assert history.verify()[1] is None
