"""Helpers for the apply tests: frameworks in the emulator and approved changes to them, made
through the same services people use (draft, submit, approve)."""

from __future__ import annotations

from typing import Any

import boto3
from django.contrib.auth.models import User

from frameworks import services
from frameworks.models import ChangeRequest, HistoryEvent, Target
from frameworks.queries import APPLY_EVENTS
from tests import factories


def controls(days: int, tag: str = "team") -> list[dict[str, Any]]:
    """`factories.controls`, scoped to a tag of its own per `days`."""
    return factories.controls(days, **{tag: f"t{days}"})


def backup_client(target: Target) -> Any:
    """A plain boto3 client on the target's account, for setting the scene behind the console."""
    return boto3.Session(profile_name=target.profile, region_name=target.region).client(
        "backup", endpoint_url=target.endpoint_url
    )


def create_in_aws(target: Target, name: str, days: int) -> None:
    backup_client(target).create_framework(
        FrameworkName=name, FrameworkDescription=f"{name} v1", FrameworkControls=controls(days)
    )


def approve(change: ChangeRequest, editor: User, approver: User) -> ChangeRequest:
    """Submit and approve a draft. Approval enqueues the apply task when it commits (so, in a
    test with ``transaction=True``, a running worker starts on it at once)."""
    services.change_request_submit(user=editor, change_id=change.pk, reason="needed for audit")
    change.refresh_from_db()
    services.change_request_approve(
        user=approver, change_id=change.pk, content_hash=change.review_hash
    )
    change.refresh_from_db()
    assert change.state == "approved", change.state
    return change


def draft_update(
    target: Target, editor: User, name: str, days: int, *, synced: bool = False
) -> ChangeRequest:
    """`name` exists in AWS (retention `days`); a draft sets it to `days + 1000`."""
    if not synced:
        create_in_aws(target, name, days)
        services.target_sync(target_id=target.pk)
    return services.change_request_create_draft(
        user=editor,
        target_id=target.pk,
        kind="update",
        framework_name=name,
        document={
            "FrameworkName": name,
            "FrameworkDescription": f"{name} v2",
            "FrameworkControls": controls(days + 1000),
        },
    )


def draft_updates(target: Target, editor: User, count: int, *, first_days: int = 100):
    """`count` frameworks fw0, fw1, ... in AWS, synced once, each with a draft update."""
    for i in range(count):
        create_in_aws(target, f"fw{i}", first_days + i)
    services.target_sync(target_id=target.pk)
    return [
        draft_update(target, editor, f"fw{i}", first_days + i, synced=True) for i in range(count)
    ]


def draft_create(target: Target, editor: User, name: str, days: int) -> ChangeRequest:
    return services.change_request_create_draft(
        user=editor,
        target_id=target.pk,
        kind="create",
        framework_name=name,
        document={
            "FrameworkName": name,
            "FrameworkDescription": f"{name} new",
            "FrameworkControls": controls(days),
            "FrameworkTags": {"owner": "compliance"},
        },
    )


def draft_delete(target: Target, editor: User, name: str, days: int) -> ChangeRequest:
    create_in_aws(target, name, days)
    services.target_sync(target_id=target.pk)
    return services.change_request_create_draft(
        user=editor,
        target_id=target.pk,
        kind="delete",
        framework_name=name,
        reason="no longer needed",
    )


def approved_update(
    target: Target, editor: User, approver: User, name: str, days: int, *, synced: bool = False
) -> ChangeRequest:
    return approve(draft_update(target, editor, name, days, synced=synced), editor, approver)


def approved_create(
    target: Target, editor: User, approver: User, name: str, days: int
) -> ChangeRequest:
    return approve(draft_create(target, editor, name, days), editor, approver)


def approved_delete(
    target: Target, editor: User, approver: User, name: str, days: int
) -> ChangeRequest:
    return approve(draft_delete(target, editor, name, days), editor, approver)


def events(change: ChangeRequest) -> list[str]:
    return list(
        HistoryEvent.objects.filter(change_request_id=change.pk)
        .order_by("id")
        .values_list("event", flat=True)
    )


def apply_events(change: ChangeRequest) -> list[HistoryEvent]:
    """The change's rows the apply section of its page shows, oldest first."""
    return list(
        HistoryEvent.objects.filter(change_request_id=change.pk, event__in=APPLY_EVENTS).order_by(
            "id"
        )
    )


def calls(emulator: Any, *, name: str | None = None) -> list[tuple[str, str | None]]:
    """(operation, error code) of each API call the emulator saw, optionally for one framework."""
    return [
        (c["operation"], c["error_code"] or ("dropped" if c["dropped"] else None))
        for c in emulator.control.calls()
        if name is None or _name(c) == name
    ]


def _name(call: dict[str, Any]) -> str | None:
    # CreateFramework names the framework in its body, the others in the URI.
    return call["framework_name"] or (call["request"] or {}).get("FrameworkName")


def writes(emulator: Any, name: str | None = None) -> list[dict[str, Any]]:
    """The create, update and delete calls, with whether each changed anything."""
    return [
        c
        for c in emulator.control.calls()
        if c["operation"] in ("CreateFramework", "UpdateFramework", "DeleteFramework")
        and (name is None or _name(c) == name)
    ]
