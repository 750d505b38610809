"""Sync: bring the local mirror of each target up to date with what AWS holds, and record what
changed in the history.

AWS is read outside any transaction; the mirror, the document versions, the history rows and
the change requests made stale by what sync saw are then written in one, in a number of queries
that does not grow with the number of frameworks.
"""

from __future__ import annotations

import logging
import socket
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from frameworks import aws, document, history, notifications
from frameworks.history import Actor, Entry
from frameworks.models import (
    ChangeKind,
    ChangeRequest,
    ChangeState,
    DocumentVersion,
    Event,
    Framework,
    HistoryEvent,
    TamperedVersion,
    Target,
)
from frameworks.services import live as aws_live
from frameworks.services import worker
from frameworks.services.live import is_stale, mirror_document, mirror_values, parse_answer

log = logging.getLogger(__name__)

MIRROR_FIELDS = [
    "arn",
    "description",
    "controls",
    "content_hash",
    "deployment_status",
    "framework_status",
    "idempotency_token",
    "tags",
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
    # Frameworks left alone because a change to them is being applied.
    held: list[str] = field(default_factory=list)
    stale: list[int] = field(default_factory=list)
    # Approved or unconfirmed changes whose landed write sync found, and settled.
    settled: list[int] = field(default_factory=list)
    skipped: bool = False
    error: aws.AwsError | None = None

    def __str__(self) -> str:
        if self.skipped:
            return f"{self.target}: skipped, another sync of this target is running"
        if self.error:
            error = self.error
            return f"{self.target}: failed: {error.words} ({error.code}: {error.message})"
        text = (
            f"{self.target}: {len(self.created)} new, {len(self.changed)} changed, "
            f"{len(self.gone)} gone, {self.unchanged} unchanged"
        )
        if self.held:
            text += f", {len(self.held)} left alone while a change to them is applied"
        return text


def _lease_owner() -> str:
    return f"{socket.gethostname()}:{uuid.uuid4().hex[:12]}"


def _account_from_arn(arn: str) -> str:
    parts = arn.split(":")
    return parts[4] if len(parts) > 5 else ""


def _fetch(target: Target) -> list[dict[str, Any]]:
    """List, then one DescribeFramework and one ListTags per framework (ListFrameworks lacks
    controls, DescribeFramework tags)."""
    attempts = settings.AWS_SYNC_MAX_ATTEMPTS
    described = []
    for summary in aws.list_frameworks(target, max_attempts=attempts):
        try:
            answer = aws.describe_framework(target, summary["FrameworkName"], max_attempts=attempts)
        except aws.AwsError as exc:
            if exc.code != "ResourceNotFoundException":
                raise
            # Deleted between the list and the describe: it is simply gone.
            continue
        answer["FrameworkTags"] = _tags_of(target, answer.get("FrameworkArn", ""), attempts)
        described.append(answer)
    return described


def _tags_of(target: Target, arn: str, attempts: int) -> dict[str, str] | None:
    """The framework's tags, or None when they cannot be read for a reason that will not pass
    by itself (no backup:ListTags permission, say): the mirror then shows them as unknown
    rather than failing the whole sync."""
    if not arn:
        return None
    try:
        return aws.list_tags(target, arn, max_attempts=attempts)
    except aws.AwsError as exc:
        if exc.transient:
            raise
        log.warning("ListTags on %s failed: %s", arn, exc)
        return None


def _recording_of(target: Target) -> tuple[dict[str, Any] | None, str]:
    """What AWS Config records in the target (Recording as JSON), or None and why not."""
    try:
        recorders, statuses = aws.describe_config_recording(
            target, max_attempts=settings.AWS_SYNC_MAX_ATTEMPTS
        )
    except aws.AwsError as exc:
        return None, f"{exc.words} ({exc.code}: {exc.message})"[:256]
    return document.recording_from_config(recorders, statuses).as_json(), ""


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
        recording = _recording_of(target)
        with history.correlation():
            _write_mirror(target, described, result, recording=recording)
    finally:
        Target.objects.filter(pk=target.pk, sync_lease_owner=owner).update(
            sync_lease_until=None, sync_lease_owner=""
        )
    return result


@dataclass
class _Seen:
    """One framework that appeared, changed or went: the history row it needs."""

    event: str
    name: str
    before: document.Document | None
    after: document.Document | None
    details: dict[str, Any]


class _Mirror:
    """The in-memory work of one sync: what to insert, update and record."""

    def __init__(self, target: Target, held: set[str], now: datetime) -> None:
        self.target, self.held, self.now = target, held, now
        self.existing = {f.name: f for f in Framework.objects.filter(target=target)}
        self.to_create: list[Framework] = []
        self.to_update: list[Framework] = []
        self.vanished: list[str] = []
        self.seen: list[_Seen] = []
        self.live: dict[str, document.Document | None] = {
            name: mirror_document(f) for name, f in self.existing.items()
        }
        # What AWS answered this time, per framework (absent: gone, or not looked at).
        self.answers: dict[str, tuple[dict[str, Any], str]] = {}

    def observe(self, answer: dict[str, Any], result: SyncResult) -> None:
        name = answer["FrameworkName"]
        parsed = parse_answer(answer)
        values = mirror_values(answer, parsed, self.now)
        details = {
            "arn": values["arn"],
            "content_hash": values["content_hash"] or None,
            "deployment_status": values["deployment_status"],
            "idempotency_token": values["idempotency_token"],
        }
        framework = self.existing.get(name)
        old_tags = framework.tags if framework is not None else None
        new_tags = values.get("tags")
        # Tags read for the first time (or no longer readable) are news for the mirror only.
        tags_moved = (
            framework is not None
            and framework.present
            and None not in (old_tags, new_tags)
            and new_tags != old_tags
        )
        if tags_moved:
            details["tags_before"], details["tags_after"] = old_tags, new_tags
        if framework is None:
            self.to_create.append(Framework(target=self.target, name=name, **values))
            result.created.append(name)
            self.seen.append(_Seen(Event.SYNC_NEW, name, None, parsed, details))
        elif (
            framework.content_hash != values["content_hash"] or not framework.present or tags_moved
        ):
            result.changed.append(name)
            # A framework that comes back after it was gone is new in AWS (it has a new ARN).
            event = Event.SYNC_CHANGED if framework.present else Event.SYNC_NEW
            self.seen.append(_Seen(event, name, self.live[name], parsed, details))
        else:
            result.unchanged += 1
        if framework is not None:
            for key, value in values.items():
                setattr(framework, key, value)
            self.to_update.append(framework)
        self.live[name] = parsed
        self.answers[name] = (answer, values["content_hash"])

    def described(self, name: str) -> aws_live.Live:
        """The framework as AWS described it in this sync (parsed and hashed once)."""
        answer, digest = self.answers.get(name, (None, ""))
        return aws_live.Live.parsed(answer, self.live.get(name), digest or None)

    def vanish(self, names: set[str], result: SyncResult) -> None:
        for name, framework in self.existing.items():
            if framework.present and name not in names and name not in self.held:
                self.vanished.append(name)
                details = {"arn": framework.arn, "content_hash": None}
                self.seen.append(_Seen(Event.SYNC_GONE, name, self.live[name], None, details))
                self.live[name] = None
        result.gone.extend(sorted(self.vanished))

    def save(self) -> None:
        Framework.objects.bulk_create(self.to_create)
        if self.to_update:
            Framework.objects.bulk_update(self.to_update, fields=MIRROR_FIELDS)
        if self.vanished:
            Framework.objects.filter(target=self.target, name__in=self.vanished).update(
                present=False, gone_since=self.now, last_synced_at=self.now
            )


#: The changes sync looks at: every open one a person or the worker may still move.
_WATCHED = [
    ChangeState.SUBMITTED,
    ChangeState.APPROVED,
    ChangeState.APPLYING,
    ChangeState.UNCONFIRMED,
]


def _lock_changes(target: Target) -> list[ChangeRequest]:
    """The target's submitted, approved, applying and unconfirmed changes, locked until sync
    commits: a worker cannot claim one halfway through, and the states read here stay true."""
    return list(
        ChangeRequest.objects.select_for_update(of=("self",))
        # target and author: the e-mail to the author of a change going stale; the proposed
        # version: whether AWS holds it (a write of ours that landed).
        .select_related("base_version", "proposed_version", "target", "author")
        .filter(target=target, state__in=_WATCHED)
    )


def _judge(
    changes: list[ChangeRequest], mirror: _Mirror
) -> tuple[list[ChangeRequest], list[tuple[ChangeRequest, aws_live.Live]]]:
    """The changes the live documents make stale, and those they settle: a write of an
    approved or unconfirmed change that landed, whose deployment ended (or, for an unconfirmed
    one, that AWS does not hold after all). An applying change is its worker's to judge."""
    # A delete is ours only with a "request sent" row: one query, and only when one is gone.
    sent = aws_live.delete_sent(
        c.pk
        for c in changes
        if c.state in (ChangeState.APPROVED, ChangeState.UNCONFIRMED)
        and c.kind == ChangeKind.DELETE
        and aws_live.landed(c, mirror.described(c.framework_name), sent=True)
    )
    stale, settle = [], []
    for change in changes:
        if change.state == ChangeState.APPLYING:
            continue
        live = mirror.described(change.framework_name)
        if change.state == ChangeState.SUBMITTED:
            if is_stale(change, live.document):
                stale.append(change)
            continue
        try:
            verdict = aws_live.verdict(change, live, sent=change.pk in sent)
        except TamperedVersion as tampered:
            # The worker refuses it, with a security row; sync just leaves it alone.
            log.error("change %s not judged by sync: %s", change.pk, tampered.message)
            continue
        if verdict == aws_live.STALE:
            stale.append(change)
        elif verdict in (aws_live.APPLIED, aws_live.FAILED) or (
            verdict == aws_live.SEND and change.state == ChangeState.UNCONFIRMED
        ):
            settle.append((change, live))
    return stale, settle


def _hash(doc: document.Document | None) -> str | None:
    return document.content_hash(doc) if doc is not None else None


@transaction.atomic
def _write_mirror(
    target: Target,
    described: list[dict[str, Any]],
    result: SyncResult,
    *,
    recording: tuple[dict[str, Any] | None, str] = (None, ""),
) -> None:
    now = timezone.now()
    changes = _lock_changes(target)
    held = {c.framework_name for c in changes if c.state == ChangeState.APPLYING}
    mirror = _Mirror(target, held, now)
    account_id = target.account_id
    for answer in described:
        account_id = _account_from_arn(answer.get("FrameworkArn", "")) or account_id
        if answer["FrameworkName"] in held:
            result.held.append(answer["FrameworkName"])
            continue
        mirror.observe(answer, result)
    mirror.vanish({answer["FrameworkName"] for answer in described}, result)
    stale, settle = _judge(changes, mirror)
    docs = [d for seen in mirror.seen for d in (seen.before, seen.after) if d is not None]
    docs += [live for c in stale if (live := mirror.live.get(c.framework_name)) is not None]
    versions = DocumentVersion.record_many(docs)
    outside = _mark_outside(target, mirror.seen)
    mirror.save()
    if stale:
        ChangeRequest.objects.filter(pk__in=[c.pk for c in stale]).update(
            state=ChangeState.STALE, version=F("version") + 1, updated_at=now
        )
        result.stale.extend(c.pk for c in stale)
    actor = Actor.sync()
    entries = [
        Entry(
            seen.event,
            actor,
            target=target,
            framework_name=seen.name,
            version_before=versions.get(_hash(seen.before) or ""),
            version_after=versions.get(_hash(seen.after) or ""),
            details=seen.details,
        )
        for seen in mirror.seen
    ]
    entries += [_stale_entry(c, mirror.live.get(c.framework_name), versions, actor) for c in stale]
    history.append_many(entries)
    for change in stale:
        notifications.author_news(change, "stale")  # on commit
    notifications.changed_outside(target, outside)
    for change, found in settle:
        worker.change_request_settle(change_id=change.pk, described=found.answer, by="sync")
        result.settled.append(change.pk)
    Target.objects.filter(pk=target.pk).update(
        last_synced_at=now,
        last_sync_error="",
        last_sync_error_code="",
        account_id=account_id,
        config_recording=recording[0],
        config_recording_error=recording[1],
    )


def _ours(tokens: dict[str, str], target: Target) -> set[str]:
    """The tokens among `tokens` (name -> token) that this console sent: ``change-<id>-...``
    where change <id> is of this framework and its worker recorded sending exactly that token
    (the history's attempt rows hold every request, token included)."""
    ids: dict[int, str] = {}
    for name, token in tokens.items():
        parts = token.split("-")
        if len(parts) == 3 and parts[0] == "change" and parts[1].isdigit():
            ids[int(parts[1])] = name
    if not ids:
        return set()
    sent = HistoryEvent.objects.filter(
        change_request_id__in=list(ids),
        change_request__target=target,
        event=Event.ATTEMPT_STARTED,
    ).values_list("change_request_id", "framework_name", "details__request__IdempotencyToken")
    return {token for change_id, name, token in sent if ids.get(change_id) == name and token}


def _mark_outside(target: Target, seen: list[_Seen]) -> list[str]:
    """Flag the frameworks AWS holds that someone other than this console changed: a changed
    one, or a new one in a target synced before, whose token is not one of ours. Their rows say
    so (details.outside_console) for the audit page's filter; the names go to the admins."""
    candidates = {
        s.name: s.details.get("idempotency_token") or ""
        for s in seen
        if s.event == Event.SYNC_CHANGED
        or (s.event == Event.SYNC_NEW and target.last_synced_at is not None)
    }
    if not candidates:
        return []
    ours = _ours(candidates, target)
    outside = [name for name, token in candidates.items() if token not in ours]
    for s in seen:
        if s.name in outside and s.event in (Event.SYNC_CHANGED, Event.SYNC_NEW):
            s.details["outside_console"] = True
    return sorted(outside)


def _stale_entry(
    change: ChangeRequest,
    live: document.Document | None,
    versions: dict[str, DocumentVersion],
    actor: Actor,
) -> Entry:
    live_hash = _hash(live)
    return Entry(
        Event.STALE,
        actor,
        change_request=change,
        version_before=change.base_version,
        version_after=versions.get(live_hash or ""),
        details={
            "state_before": change.state,
            "base_hash": change.base_version.content_hash if change.base_version else None,
            "live_hash": live_hash,
        },
    )


def sync_all(*, target_slugs: list[str] | None = None) -> list[SyncResult]:
    """Sync every target in service (or the named ones); one failing target does not stop the
    others. Retired targets are left alone."""
    targets = Target.objects.filter(retired_at__isnull=True).order_by("slug")
    if target_slugs:
        targets = targets.filter(slug__in=target_slugs)
    return [target_sync(target_id=pk) for pk in targets.values_list("pk", flat=True)]
