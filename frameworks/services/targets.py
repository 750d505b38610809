"""Targets: add, change, retire, and test the connection to AWS.

Only administrators manage targets. Every service writes one history row naming the actor, the
target (its subject) and the target's settings before and after, so the history shows who pointed
the console at which account, with which role, and when. Testing the connection calls AWS
outside any transaction (a slow AWS must not hold the database), then records what it found: the
account id exactly as AWS reports it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from frameworks import aws, history
from frameworks.access import Action
from frameworks.models import ChangeRequest, ChangeState, Event, Outcome, Target
from frameworks.services.base import Call, require, service

if TYPE_CHECKING:
    from django.contrib.auth.models import User

#: What an administrator sets on a target, in the order pages show it. The slug is fixed once
#: the target exists: it is part of every address and bookmark of its frameworks.
EDITABLE_FIELDS = [
    "display_name",
    "region",
    "profile",
    "role_arn",
    "external_id",
    "endpoint_url",
    "required_approvals",
    "notify_emails",
    "max_frameworks",
    "max_controls",
]
SNAPSHOT_FIELDS = ["slug", *EDITABLE_FIELDS]

# How AWS is reached depends on these; changing one makes the recorded account id unproven.
_CONNECTION_FIELDS = {"region", "profile", "role_arn", "external_id", "endpoint_url"}

# Changes still on their way to AWS: a target cannot be retired under them.
_OPEN_STATES = [ChangeState.SUBMITTED, ChangeState.APPROVED, ChangeState.APPLYING]

_STEPS = {
    "Connect": "Setting up the connection",
    "AssumeRole": "Assuming the role",
    "GetCallerIdentity": "Asking AWS who the console is (GetCallerIdentity)",
    "ListFrameworks": "Listing the frameworks (ListFrameworks)",
}


def snapshot(target: Target) -> dict[str, Any]:
    return {name: getattr(target, name) for name in SNAPSHOT_FIELDS}


def _entry_details(before: dict[str, Any] | None, after: dict[str, Any] | None) -> dict[str, Any]:
    subject = (after or before or {}).get("slug", "")
    return {"subject": f"target {subject}", "before": before, "after": after}


def _clean(call: Call, target: Target) -> None:
    """The model's own rules, as a refusal naming the field (forms check the same first)."""
    try:
        target.full_clean(exclude=["account_id"])
    except ValidationError as exc:
        field, errors = next(iter(exc.message_dict.items()))
        label = (
            field
            if field == "__all__"
            else str(getattr(Target._meta.get_field(field), "verbose_name", field))
        )
        raise call.refuse(f"{str(label).capitalize()}: {' '.join(errors)}", "invalid") from None


def _manage(call: Call, what: str) -> None:
    require(call, Action.MANAGE, f"Only administrators may {what}.", "not_admin")


def _load(call: Call, target_id: int) -> Target:
    target = Target.objects.filter(pk=target_id).first()
    if target is None:
        raise call.refuse(f"There is no target #{target_id}.", "not_found")
    call.target = target
    return target


@service
def target_add(*, user: User, values: dict[str, Any]) -> Target:
    """An administrator (of every target) adds a target; its account id is unknown until the
    connection is tested or the first sync."""
    call = Call.for_user(user, "add target")
    _manage(call, "add targets")
    unknown = set(values) - set(SNAPSHOT_FIELDS)
    if unknown:
        raise call.refuse(f"Unknown target settings: {', '.join(sorted(unknown))}.", "invalid")
    target = Target(**values)
    _clean(call, target)
    target.save()
    call.target = target
    history.append(
        Event.TARGET_ADDED,
        call.actor,
        target=target,
        details=_entry_details(None, snapshot(target)),
    )
    return target


@service
def target_change(*, user: User, target_id: int, values: dict[str, Any]) -> Target:
    """An administrator of the target changes its settings. Nothing different: nothing written.
    A change to how AWS is reached forgets the account id until it is proven again."""
    call = Call.for_user(user, "change target")
    target = _load(call, target_id)
    _manage(call, "change targets")
    if target.retired:
        raise call.refuse(f"{target} is retired; it cannot be changed.", "retired")
    unknown = set(values) - set(EDITABLE_FIELDS)
    if unknown:
        names = ", ".join(sorted(unknown))
        raise call.refuse(f"These settings cannot be changed: {names}.", "invalid")
    before = snapshot(target)
    changed = [name for name, value in values.items() if before[name] != value]
    if not changed:
        return target
    for name in changed:
        setattr(target, name, values[name])
    _clean(call, target)
    fields = list(changed)
    if _CONNECTION_FIELDS & set(changed):
        target.account_id, target.account_checked_at = "", None
        fields += ["account_id", "account_checked_at"]
    target.save(update_fields=fields)
    history.append(
        Event.TARGET_CHANGED,
        call.actor,
        target=target,
        details=_entry_details(before, snapshot(target)),
    )
    return target


@service
def target_retire(*, user: User, target_id: int, reason: str) -> Target:
    """An administrator of the target retires it: no longer synced, offered or changed, its
    frameworks and history kept. Refused while changes to it are under way; a second call is a
    no-op."""
    call = Call.for_user(user, "retire target")
    target = _load(call, target_id)
    _manage(call, "retire targets")
    if target.retired:
        return target
    reason = (reason or "").strip()
    if not reason:
        raise call.refuse("Reason: give a reason to retire this target.", "reason_required")
    open_changes = list(
        ChangeRequest.objects.filter(target=target, state__in=_OPEN_STATES)
        .order_by("pk")
        .values_list("pk", flat=True)[:5]
    )
    if open_changes:
        numbers = ", ".join(f"#{pk}" for pk in open_changes)
        raise call.refuse(
            f"{target} has changes under review or being applied ({numbers}); withdraw or "
            "finish them before retiring it.",
            "open_changes",
        )
    before = snapshot(target)
    target.retired_at = timezone.now()
    target.save(update_fields=["retired_at"])
    details = _entry_details(before, snapshot(target))
    details["reason"] = reason
    history.append(Event.TARGET_RETIRED, call.actor, target=target, details=details)
    return target


# --- testing the connection ------------------------------------------------------------------


@dataclass
class ConnectionTest:
    """What a connection test found: the identity AWS reports, or the step that failed."""

    target: Target
    identity: aws.Identity | None = None
    frameworks: int | None = None
    error: aws.AwsError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def step(self) -> str:
        if self.error is None:
            return ""
        return _STEPS.get(self.error.operation, self.error.operation)

    def __str__(self) -> str:
        if self.error is not None:
            return (
                f"{self.step} failed: {self.error.words} "
                f"(AWS said {self.error.code}: {self.error.message})"
            )
        assert self.identity is not None
        count = "1 framework" if self.frameworks == 1 else f"{self.frameworks} frameworks"
        return (
            f"Connected to account {self.identity.account_id} as {self.identity.arn}; "
            f"{count} in {self.target.region}."
        )


@service
def _check_may_test(*, user: User, target_id: int) -> Target:
    call = Call.for_user(user, "test target connection")
    target = _load(call, target_id)
    _manage(call, "test the connection of targets")
    if target.retired:
        raise call.refuse(f"{target} is retired.", "retired")
    return target


def target_test_connection(*, user: User, target_id: int) -> ConnectionTest:
    """An administrator of the target checks that the console reaches it: GetCallerIdentity
    (after AssumeRole when the target names a role), then ListFrameworks. The account id AWS
    reports is recorded on the target; the outcome is a history row either way."""
    target = _check_may_test(user=user, target_id=target_id)
    result = ConnectionTest(target)
    try:
        result.identity = aws.caller_identity(target)
        result.frameworks = len(aws.list_frameworks(target, max_attempts=1))
    except aws.AwsError as exc:
        result.error = exc
    _record_test(user, target, result)
    return result


def _record_test(user: User, target: Target, result: ConnectionTest) -> None:
    actor = history.Actor.for_user(user)
    details: dict[str, Any] = {"subject": f"target {target.slug}", "result": str(result)}
    with history.correlation(), transaction.atomic():
        if result.identity is not None:
            details["account_id"] = result.identity.account_id
            details["arn"] = result.identity.arn
            now = timezone.now()
            Target.objects.filter(pk=target.pk).update(
                account_id=result.identity.account_id, account_checked_at=now
            )
            target.account_id, target.account_checked_at = result.identity.account_id, now
        if result.error is not None:
            details["error"] = result.error.as_dict()
        history.append(
            Event.TARGET_CONNECTION_TESTED,
            actor,
            outcome=Outcome.OK if result.ok else Outcome.ERROR,
            target=target,
            details=details,
        )
