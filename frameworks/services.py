"""Every state change of the console goes through a function here: guard, mutate, record."""

from __future__ import annotations

import logging
import socket
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from frameworks import aws, document
from frameworks.models import Framework, Target

log = logging.getLogger(__name__)

MIRROR_FIELDS = [
    "arn",
    "description",
    "controls",
    "content_hash",
    "deployment_status",
    "framework_status",
    "idempotency_token",
    "creation_time",
    "last_synced_at",
    "present",
    "gone_since",
]


@dataclass
class SyncResult:
    target: str
    created: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    gone: list[str] = field(default_factory=list)
    unchanged: int = 0
    skipped: bool = False
    error: aws.AwsError | None = None

    def __str__(self) -> str:
        if self.skipped:
            return f"{self.target}: skipped, another sync of this target is running"
        if self.error:
            return f"{self.target}: failed: {self.error.words} ({self.error.code}: {self.error.message})"
        return (
            f"{self.target}: {len(self.created)} new, {len(self.changed)} changed, "
            f"{len(self.gone)} gone, {self.unchanged} unchanged"
        )


def _lease_owner() -> str:
    return f"{socket.gethostname()}:{uuid.uuid4().hex[:12]}"


def _content_hash(described: dict[str, Any]) -> str:
    try:
        return document.content_hash(document.parse(described))
    except document.DocumentError:
        # What AWS holds is what it holds: a mirror row is still worth having without a hash.
        log.warning("DescribeFramework answer for %s did not parse", described.get("FrameworkName"))
        return ""


def _account_from_arn(arn: str) -> str:
    parts = arn.split(":")
    return parts[4] if len(parts) > 5 else ""


def _fetch(target: Target) -> list[dict[str, Any]]:
    """List, then one DescribeFramework per framework (ListFrameworks lacks controls)."""
    attempts = settings.AWS_SYNC_MAX_ATTEMPTS
    described = []
    for summary in aws.list_frameworks(target, max_attempts=attempts):
        try:
            described.append(
                aws.describe_framework(target, summary["FrameworkName"], max_attempts=attempts)
            )
        except aws.AwsError as exc:
            if exc.code != "ResourceNotFoundException":
                raise
            # Deleted between the list and the describe: it is simply gone.
    return described


def target_sync(*, target_id: int) -> SyncResult:
    """Bring the mirror of one target up to date with AWS.

    A lease on the target (a conditional UPDATE) keeps two syncs of it from overlapping; the
    second one is skipped, not queued. AWS is read outside any transaction; the mirror is then
    written in one. Frameworks AWS no longer lists are marked gone, never deleted. A failure is
    kept on the target for people to see, and never stops other targets from syncing.
    """
    now = timezone.now()
    owner = _lease_owner()
    acquired = (
        Target.objects.filter(pk=target_id)
        .filter(Q(sync_lease_until__isnull=True) | Q(sync_lease_until__lt=now))
        .update(
            sync_lease_until=now + timedelta(seconds=settings.SYNC_LEASE_SECONDS),
            sync_lease_owner=owner,
        )
    )
    target = Target.objects.get(pk=target_id)
    result = SyncResult(target=target.slug)
    if not acquired:
        result.skipped = True
        return result
    try:
        try:
            described = _fetch(target)
        except aws.AwsError as exc:
            result.error = exc
            Target.objects.filter(pk=target.pk).update(
                last_sync_error=f"{exc.words} {exc.message}".strip(),
                last_sync_error_code=exc.code,
            )
            return result
        _write_mirror(target, described, result)
    finally:
        Target.objects.filter(pk=target.pk, sync_lease_owner=owner).update(
            sync_lease_until=None, sync_lease_owner=""
        )
    return result


@transaction.atomic
def _write_mirror(target: Target, described: list[dict[str, Any]], result: SyncResult) -> None:
    now = timezone.now()
    existing = {f.name: f for f in Framework.objects.filter(target=target)}
    seen: set[str] = set()
    to_create: list[Framework] = []
    to_update: list[Framework] = []
    account_id = target.account_id
    for answer in described:
        name = answer["FrameworkName"]
        seen.add(name)
        values = {
            "arn": answer.get("FrameworkArn", ""),
            "description": answer.get("FrameworkDescription") or "",
            "controls": answer.get("FrameworkControls") or [],
            "content_hash": _content_hash(answer),
            "deployment_status": answer.get("DeploymentStatus", ""),
            "framework_status": answer.get("FrameworkStatus", ""),
            "idempotency_token": answer.get("IdempotencyToken") or "",
            "creation_time": answer.get("CreationTime"),
            "last_synced_at": now,
            "present": True,
            "gone_since": None,
        }
        account_id = _account_from_arn(values["arn"]) or account_id
        framework = existing.get(name)
        if framework is None:
            to_create.append(Framework(target=target, name=name, **values))
            result.created.append(name)
            continue
        if framework.content_hash != values["content_hash"] or not framework.present:
            result.changed.append(name)
        else:
            result.unchanged += 1
        for key, value in values.items():
            setattr(framework, key, value)
        to_update.append(framework)
    Framework.objects.bulk_create(to_create)
    if to_update:
        Framework.objects.bulk_update(to_update, fields=MIRROR_FIELDS)
    vanished = [name for name, f in existing.items() if f.present and name not in seen]
    if vanished:
        Framework.objects.filter(target=target, name__in=vanished).update(
            present=False, gone_since=now, last_synced_at=now
        )
        result.gone.extend(sorted(vanished))
    Target.objects.filter(pk=target.pk).update(
        last_synced_at=now, last_sync_error="", last_sync_error_code="", account_id=account_id
    )


def sync_all(*, target_slugs: list[str] | None = None) -> list[SyncResult]:
    """Sync every target (or the named ones); one failing target does not stop the others."""
    targets = Target.objects.order_by("slug")
    if target_slugs:
        targets = targets.filter(slug__in=target_slugs)
    return [target_sync(target_id=pk) for pk in targets.values_list("pk", flat=True)]
