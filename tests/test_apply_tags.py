"""Framework tags through a reviewed change, applied by the worker (one run at a time, in this
process, against the emulator over HTTP), and AWS Config recording explaining a FAILED
deployment."""

from __future__ import annotations

from typing import Any

import pytest

from frameworks import apply, services
from frameworks.models import ChangeRequest, Event, Framework, HistoryEvent
from tests.applying import approve, backup_client, controls

pytestmark = pytest.mark.django_db

ACCOUNT = "111111111111"
TAG_CALLS = ("TagResource", "UntagResource")


@pytest.fixture(autouse=True)
def _fast(settings):
    settings.APPLY_POLL_INTERVAL_SECONDS = 0.01
    settings.APPLY_DEPLOYMENT_WAIT_SECONDS = 2
    settings.APPLY_RETRY_BASE_SECONDS = 0.01
    settings.APPLY_RETRY_MAX_DELAY_SECONDS = 0.05
    settings.APPLY_LEASE_SECONDS = 30
    settings.APPLY_MAX_ATTEMPTS = 4
    settings.APPLY_MAX_SECONDS = 600
    settings.APPLY_STAGE_HOOK_DIR = ""


def tagged_framework(target, name: str = "tagged", days: int = 7) -> str:
    client = backup_client(target)
    arn = client.create_framework(
        FrameworkName=name,
        FrameworkDescription="Retention",
        FrameworkControls=controls(days),
        FrameworkTags={"Owner": "backup-team", "Old": "x"},
    )["FrameworkArn"]
    services.target_sync(target_id=target.pk)
    return arn


def tag_draft(target, editor, name: str, tags: dict[str, str], **changes: Any) -> ChangeRequest:
    framework = Framework.objects.get(target=target, name=name)
    working = {**framework.api_document(), "FrameworkTags": tags, **changes}
    return services.change_request_create_draft(
        user=editor, target_id=target.pk, kind="update", framework_name=name, document=working
    )


def run(change: ChangeRequest, retries: int = 0) -> apply.ApplyResult:
    result = apply.change_request_apply(change_id=change.pk, task_id="t", retries=retries)
    change.refresh_from_db()
    return result


def operations(emulator) -> list[str]:
    return [c["operation"] for c in emulator.control.calls()]


def effective(emulator, operation: str) -> int:
    return sum(
        1 for c in emulator.control.calls() if c["operation"] == operation and c["effective"]
    )


def aws_tags(target, arn: str) -> dict[str, str]:
    return backup_client(target).list_tags(ResourceArn=arn)["Tags"]


def test_sync_mirrors_each_frameworks_tags(target, emulator):
    tagged_framework(target)
    framework = Framework.objects.get(target=target, name="tagged")
    assert framework.tags == {"Owner": "backup-team", "Old": "x"}
    backup_client(target).tag_resource(ResourceArn=framework.arn, Tags={"Owner": "someone"})
    services.target_sync(target_id=target.pk)
    framework.refresh_from_db()
    assert framework.tags == {"Owner": "someone", "Old": "x"}
    row = HistoryEvent.objects.filter(event=Event.SYNC_CHANGED, framework_name="tagged").get()
    assert row.details["tags_after"] == {"Owner": "someone", "Old": "x"}


def test_a_tags_only_change_sends_no_update_framework(target, editor, approver, emulator):
    arn = tagged_framework(target)
    change = approve(
        tag_draft(target, editor, "tagged", {"Owner": "compliance", "DataClass": "PII"}),
        editor,
        approver,
    )
    assert change.tags_only
    assert change.review_hash != change.proposed_hash
    emulator.control.clear_calls()
    assert run(change).outcome == "applied"
    ops = operations(emulator)
    assert "UpdateFramework" not in ops
    assert [op for op in ops if op in TAG_CALLS] == ["TagResource", "UntagResource"]
    assert ops[-1] == "ListTags"  # checked against what AWS reports after the calls
    assert aws_tags(target, arn) == {"Owner": "compliance", "DataClass": "PII"}
    assert Framework.objects.get(name="tagged").tags == {"Owner": "compliance", "DataClass": "PII"}
    started = HistoryEvent.objects.filter(
        change_request=change, event=Event.ATTEMPT_STARTED
    ).order_by("id")
    succeeded = HistoryEvent.objects.filter(
        change_request=change, event=Event.ATTEMPT_SUCCEEDED
    ).order_by("id")
    assert [e.details["request"]["operation"] for e in started] == list(TAG_CALLS)
    assert [e.details["request"]["operation"] for e in succeeded] == list(TAG_CALLS)
    tag_row = started.first()
    assert tag_row.details["request"]["Tags"] == {"DataClass": "PII", "Owner": "compliance"}


def test_a_document_and_tags_change_updates_then_tags(target, editor, approver, emulator):
    arn = tagged_framework(target)
    change = approve(
        tag_draft(target, editor, "tagged", {"Owner": "backup-team"}, FrameworkDescription="v2"),
        editor,
        approver,
    )
    emulator.control.clear_calls()
    assert run(change).outcome == "applied"
    ops = [op for op in operations(emulator) if op in ("UpdateFramework", *TAG_CALLS)]
    assert ops == ["UpdateFramework", "UntagResource"]
    assert aws_tags(target, arn) == {"Owner": "backup-team"}


def test_a_create_sends_its_bound_tags_in_create_framework(target, editor, approver, emulator):
    draft = services.change_request_create_draft(
        user=editor,
        target_id=target.pk,
        kind="create",
        framework_name="fresh",
        document={
            "FrameworkName": "fresh",
            "FrameworkControls": controls(9),
            "FrameworkTags": {"Owner": "a"},
        },
    )
    change = approve(draft, editor, approver)
    assert change.proposed_tags == {"Owner": "a"}
    emulator.control.clear_calls()
    assert run(change).outcome == "applied"
    assert not [op for op in operations(emulator) if op in TAG_CALLS]
    framework = Framework.objects.get(name="fresh")
    assert framework.tags == {"Owner": "a"}
    assert aws_tags(target, framework.arn) == {"Owner": "a"}


def test_a_transient_error_on_tag_resource_is_retried(target, editor, approver, emulator):
    arn = tagged_framework(target)
    change = approve(
        tag_draft(target, editor, "tagged", {"Owner": "b", "Old": "x"}), editor, approver
    )
    emulator.control.clear_calls()
    emulator.control.fail_next("ThrottlingException", operation="TagResource")
    result = run(change)
    assert result.outcome == "retry"
    assert change.state == "applying"
    failed = HistoryEvent.objects.filter(change_request=change, event=Event.ATTEMPT_FAILED).get()
    assert failed.details["request"]["operation"] == "TagResource"
    assert run(change, retries=1).outcome == "applied"
    assert effective(emulator, "TagResource") == 1
    assert aws_tags(target, arn) == {"Owner": "b", "Old": "x"}


def test_a_lost_answer_after_tag_resource_landed_is_not_a_second_write(
    target, editor, approver, emulator
):
    arn = tagged_framework(target)
    change = approve(tag_draft(target, editor, "tagged", {"Owner": "b"}), editor, approver)
    emulator.control.clear_calls()
    # AWS carries out TagResource, the connection drops before the answer.
    emulator.control.drop_next(operation="TagResource", after_action=True)
    assert run(change).outcome == "retry"
    assert run(change, retries=1).outcome == "applied"
    assert effective(emulator, "TagResource") == 1
    assert [op for op in operations(emulator) if op in TAG_CALLS] == [
        "TagResource",
        "UntagResource",
    ]
    assert aws_tags(target, arn) == {"Owner": "b"}


def test_a_permanent_error_fails_the_change_in_words(target, editor, approver, emulator):
    tagged_framework(target)
    change = approve(
        tag_draft(target, editor, "tagged", {"Owner": "b", "Old": "x"}), editor, approver
    )
    emulator.control.fail_next("AccessDeniedException", operation="TagResource")
    assert run(change).outcome == "failed"
    assert change.state == "failed"
    assert change.last_error["code"] == "AccessDeniedException"
    assert "not allowed" in change.last_error["words"]


def test_tags_changed_in_aws_after_approval_make_the_change_stale(
    target, editor, approver, emulator
):
    arn = tagged_framework(target)
    change = approve(
        tag_draft(target, editor, "tagged", {"Owner": "b"}, FrameworkDescription="v2"),
        editor,
        approver,
    )
    backup_client(target).tag_resource(ResourceArn=arn, Tags={"Owner": "someone else"})
    emulator.control.clear_calls()
    assert run(change).outcome == "stale"
    assert change.state == "stale"
    assert not [op for op in operations(emulator) if op in ("UpdateFramework", *TAG_CALLS)]


def test_tags_swapped_after_approval_are_not_sent(target, editor, approver, emulator):
    arn = tagged_framework(target)
    change = approve(tag_draft(target, editor, "tagged", {"Owner": "b"}), editor, approver)
    # Someone with database access swaps the approved tags.
    ChangeRequest.objects.filter(pk=change.pk).update(proposed_tags={"Owner": "mallory"})
    emulator.control.clear_calls()
    assert run(change).outcome == "failed"
    assert change.last_error["code"] == "ApprovalNotBound"
    assert not [op for op in operations(emulator) if op in TAG_CALLS]
    assert aws_tags(target, arn) == {"Owner": "backup-team", "Old": "x"}


def test_an_approval_binds_the_tags(target, editor, approver, emulator):
    tagged_framework(target)
    change = tag_draft(target, editor, "tagged", {"Owner": "b"})
    services.change_request_submit(user=editor, change_id=change.pk, reason="audit")
    change.refresh_from_db()
    content_only = change.proposed_hash
    with pytest.raises(services.TransitionRefused):
        services.change_request_approve(
            user=approver, change_id=change.pk, content_hash=content_only
        )
    services.change_request_approve(
        user=approver, change_id=change.pk, content_hash=change.review_hash
    )
    change.refresh_from_db()
    assert change.state == "approved"


def test_a_change_leaving_tags_alone_keeps_its_content_hash_as_review_hash(
    target, editor, approver, emulator
):
    tagged_framework(target)
    change = tag_draft(
        target, editor, "tagged", {"Owner": "backup-team", "Old": "x"}, FrameworkDescription="v2"
    )
    assert change.proposed_tags is None
    assert change.review_hash == change.proposed_hash


def test_a_failed_deployment_is_explained_by_config_recording(target, editor, approver, emulator):
    emulator.control.set_recording(ACCOUNT, "eu-west-1", mode="none")
    services.target_sync(target_id=target.pk)
    draft = services.change_request_create_draft(
        user=editor,
        target_id=target.pk,
        kind="create",
        framework_name="blind",
        document={"FrameworkName": "blind", "FrameworkControls": controls(11)},
    )
    change = approve(draft, editor, approver)
    assert run(change).outcome == "failed"
    error = change.last_error
    assert error["code"] == "DeploymentFailed"
    assert error["cause"] == "ConfigNotRecording"
    assert "AWS Config is not recording anything in eu-west-1" in error["words"]
    assert "none of its controls can evaluate anything" in error["words"]
    assert "AWS Config records none of the resource types" in error["words"]  # INACTIVE


def test_the_editor_warns_when_a_control_needs_an_unrecorded_type(target, editor, emulator):
    emulator.control.set_recording(
        ACCOUNT, "eu-west-1", mode="exclude", resource_types=["AWS::EC2::Volume"]
    )
    services.target_sync(target_id=target.pk)
    target.refresh_from_db()
    assert target.recording is not None and not target.recording.records("AWS::EC2::Volume")
    draft = services.change_request_create_draft(
        user=editor,
        target_id=target.pk,
        kind="create",
        framework_name="ebs",
        document={
            "FrameworkName": "ebs",
            "FrameworkControls": [
                {
                    "ControlName": "BACKUP_RESOURCES_PROTECTED_BY_BACKUP_PLAN",
                    "ControlScope": {"ComplianceResourceTypes": ["EBS", "S3"]},
                }
            ],
        },
    )
    findings = services.change_request_findings(draft, draft.proposed_version.as_document())
    [warning] = [f for f in findings if f.code == "control.not_recorded"]
    assert warning.path == "controls[0]"
    assert warning.message.startswith("AWS Config is not recording EBS in eu-west-1")


def test_removing_a_description_is_refused_at_submit(target, editor, emulator):
    tagged_framework(target)
    framework = Framework.objects.get(name="tagged")
    working = framework.api_document()
    del working["FrameworkDescription"]
    draft = services.change_request_create_draft(
        user=editor, target_id=target.pk, kind="update", framework_name="tagged", document=working
    )
    with pytest.raises(services.TransitionRefused) as refused:
        services.change_request_submit(user=editor, change_id=draft.pk, reason="tidy")
    assert "cannot remove a framework's description" in str(refused.value)
