"""The append-only change history: its events, outcomes and actor kinds, the hash-chained
rows and the head that serialises appends. Split from ``models.py`` for size; ``frameworks.models``
re-exports them."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models

from frameworks.models.immutable import ImmutableModel, ImmutableQuerySet


class Event(models.TextChoices):
    DRAFT_CREATED = "draft_created", "Draft created"
    DRAFT_SAVED = "draft_saved", "Draft saved"
    DRAFT_DISCARDED = "draft_discarded", "Draft discarded"
    SUBMITTED = "submitted", "Submitted"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    REOPENED = "reopened", "Reopened"
    WITHDRAWN = "withdrawn", "Withdrawn"
    APPROVAL_DISMISSED = "approval_dismissed", "Approval dismissed"
    STALE = "stale", "Became stale"
    REBASED = "rebased", "Rebased"
    COMMENTED = "commented", "Commented"
    CLAIMED = "claimed", "Claimed by a worker"
    LEASE_EXPIRED = "lease_expired", "Worker lease expired"
    ATTEMPT_STARTED = "attempt_started", "Attempt started"
    ATTEMPT_SUCCEEDED = "attempt_succeeded", "Attempt succeeded"
    ATTEMPT_FAILED = "attempt_failed", "Attempt failed"
    DEPLOYMENT_STATUS = "deployment_status", "Deployment status seen"
    UNCONFIRMED = "unconfirmed", "Deployment not confirmed"
    APPLIED = "applied", "Applied"
    FAILED = "failed", "Failed"
    SYNC_NEW = "sync_new", "Sync found a new framework"
    SYNC_CHANGED = "sync_changed", "Sync found a change"
    SYNC_GONE = "sync_gone", "Sync found the framework gone"
    ACCESS_DENIED = "access_denied", "Access denied"
    REFUSED = "refused", "Refused"


class Outcome(models.TextChoices):
    OK = "ok", "Done"
    DENIED = "denied", "Denied"
    REFUSED = "refused", "Refused"
    ERROR = "error", "Error"


class ActorKind(models.TextChoices):
    USER = "user", "Person"
    WORKER = "worker", "Apply worker"
    SYNC = "sync", "Sync"
    SYSTEM = "system", "System"


def _snapshot_fk(to: str | type[models.Model], **kwargs: Any) -> models.ForeignKey:
    """A reference a history row keeps forever: no cascade, no database constraint, so
    deleting what it points at never touches (or is blocked by) the history."""
    return models.ForeignKey(
        to,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        # The indexes an auditor's filters need are named in HistoryEvent.Meta.
        db_index=False,
        null=True,
        blank=True,
        related_name="+",
        **kwargs,
    )


class HistoryEvent(ImmutableModel):
    """One event, appended once and never changed: the audit trail of the whole product.

    ``id`` is the row's place in a hash chain (1, 2, 3, ... with no gaps): each row stores the
    previous row's hash and a hash over its own content plus that one, so an edited, removed or
    inserted row shows (``manage.py verify_history``). Rows are written only by
    ``frameworks.history.append``, which serialises appends on ``HistoryHead``.
    """

    SCHEMA_VERSION = 1

    id = models.BigIntegerField(primary_key=True)
    created_at = models.DateTimeField()
    actor = _snapshot_fk(settings.AUTH_USER_MODEL)
    actor_name = models.CharField(max_length=150, blank=True)
    actor_kind = models.CharField(max_length=16, choices=ActorKind.choices)
    actor_host = models.CharField(max_length=255, blank=True)
    target = _snapshot_fk("frameworks.Target")
    framework_name = models.CharField(max_length=256, blank=True)
    change_request = _snapshot_fk("frameworks.ChangeRequest")
    event = models.CharField(max_length=32, choices=Event.choices)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, default=Outcome.OK)
    version_before = _snapshot_fk("frameworks.DocumentVersion")
    version_after = _snapshot_fk("frameworks.DocumentVersion")
    details = models.JSONField(default=dict, blank=True)
    correlation_id = models.CharField(max_length=64, blank=True)
    schema_version = models.PositiveSmallIntegerField(default=SCHEMA_VERSION)
    prev_hash = models.CharField(max_length=64)
    row_hash = models.CharField(max_length=64, unique=True)

    objects = ImmutableQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        indexes = [
            # An auditor's filter by target, newest first.
            models.Index(fields=["target", "-id"], name="history_target_idx"),
            # The framework page: one framework's rows newest first, paged by id.
            models.Index(fields=["target", "framework_name", "-id"], name="history_framework_idx"),
            # "What did this person (or worker) do?"
            models.Index(fields=["actor", "-id"], name="history_actor_idx"),
            # One kind of event, e.g. every access denied.
            models.Index(fields=["event", "-id"], name="history_event_idx"),
            # A time window.
            models.Index(fields=["created_at"], name="history_time_idx"),
            # A change request's timeline on its review page.
            models.Index(fields=["change_request", "id"], name="history_change_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.id} {self.event} by {self.actor_name or self.actor_kind}"


class HistoryHead(models.Model):
    """The last row of the history chain: one row, locked by every append.

    Locking it (SELECT ... FOR UPDATE) makes concurrent appends take turns, so the chain never
    forks; it also lets verify_history notice rows removed from, or added after, the end.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    last_id = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64)

    def __str__(self) -> str:
        return f"history head at {self.last_id}"
