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
    TARGET_ADDED = "target_added", "Target added"
    TARGET_CHANGED = "target_changed", "Target changed"
    TARGET_RETIRED = "target_retired", "Target retired"
    TARGET_CONNECTION_TESTED = "target_connection_tested", "Target connection tested"
    ACCESS_DENIED = "access_denied", "Access denied"
    REFUSED = "refused", "Refused"
    EXPORTED = "exported", "Exported the history"
    EVIDENCE_PACK = "evidence_pack", "Made an evidence pack"
    USER_CREATED = "user_created", "Account created"
    USER_DEACTIVATED = "user_deactivated", "Account deactivated"
    USER_REACTIVATED = "user_reactivated", "Account reactivated"
    PASSWORD_RESET = "password_reset", "Password reset"
    ROLE_GRANTED = "role_granted", "Role granted"
    ROLE_REMOVED = "role_removed", "Role removed"
    ACCESS_PENDING = "access_pending", "Access change awaiting a second admin"
    ACCESS_CONFIRMED = "access_confirmed", "Access change confirmed"
    ACCESS_DECLINED = "access_declined", "Access change declined"
    PASSWORD_TAMPERED = "password_tampered", "Sign-in refused: password changed outside"
    NOT_APPROVED_REFUSED = "not_approved_refused", "Refused to send what was not approved"
    VERSION_TAMPERED = "version_tampered", "Found a document version changed in the database"
    SIGNED_IN = "signed_in", "Signed in"
    SIGNIN_FAILED = "signin_failed", "Sign-in failed"
    SIGNIN_LOCKED_OUT = "signin_locked_out", "Locked out of signing in"


class EventGroup(models.TextChoices):
    """The kinds an auditor filters by. Every event belongs to exactly one (EVENT_GROUPS)."""

    REVIEW = "review", "Review"
    APPLY = "apply", "Apply"
    SYNC = "sync", "Sync"
    ACCESS = "access", "Access"


#: Each event's group, for the audit page's "event kind" filter. A new event gets a line here
#: (tests/test_audit_groups.py fails until it has one); anything about who may see or do what,
#: sign-ins, role grants and exports is ACCESS.
EVENT_GROUPS: dict[str, EventGroup] = {
    Event.DRAFT_CREATED: EventGroup.REVIEW,
    Event.DRAFT_SAVED: EventGroup.REVIEW,
    Event.DRAFT_DISCARDED: EventGroup.REVIEW,
    Event.SUBMITTED: EventGroup.REVIEW,
    Event.APPROVED: EventGroup.REVIEW,
    Event.REJECTED: EventGroup.REVIEW,
    Event.REOPENED: EventGroup.REVIEW,
    Event.WITHDRAWN: EventGroup.REVIEW,
    Event.APPROVAL_DISMISSED: EventGroup.REVIEW,
    Event.REBASED: EventGroup.REVIEW,
    Event.COMMENTED: EventGroup.REVIEW,
    Event.REFUSED: EventGroup.REVIEW,
    Event.CLAIMED: EventGroup.APPLY,
    Event.LEASE_EXPIRED: EventGroup.APPLY,
    Event.ATTEMPT_STARTED: EventGroup.APPLY,
    Event.ATTEMPT_SUCCEEDED: EventGroup.APPLY,
    Event.ATTEMPT_FAILED: EventGroup.APPLY,
    Event.DEPLOYMENT_STATUS: EventGroup.APPLY,
    Event.UNCONFIRMED: EventGroup.APPLY,
    Event.APPLIED: EventGroup.APPLY,
    Event.FAILED: EventGroup.APPLY,
    Event.STALE: EventGroup.APPLY,
    Event.SYNC_NEW: EventGroup.SYNC,
    Event.SYNC_CHANGED: EventGroup.SYNC,
    Event.SYNC_GONE: EventGroup.SYNC,
    Event.ACCESS_DENIED: EventGroup.ACCESS,
    # Administrators' changes to where and how the console reaches AWS.
    Event.TARGET_ADDED: EventGroup.ACCESS,
    Event.TARGET_CHANGED: EventGroup.ACCESS,
    Event.TARGET_RETIRED: EventGroup.ACCESS,
    Event.TARGET_CONNECTION_TESTED: EventGroup.ACCESS,
    Event.EXPORTED: EventGroup.ACCESS,
    Event.EVIDENCE_PACK: EventGroup.ACCESS,
    # Who may act where: accounts, passwords and roles (frameworks.services.access).
    Event.USER_CREATED: EventGroup.ACCESS,
    Event.USER_DEACTIVATED: EventGroup.ACCESS,
    Event.USER_REACTIVATED: EventGroup.ACCESS,
    Event.PASSWORD_RESET: EventGroup.ACCESS,
    Event.ROLE_GRANTED: EventGroup.ACCESS,
    Event.ROLE_REMOVED: EventGroup.ACCESS,
    Event.ACCESS_PENDING: EventGroup.ACCESS,
    Event.ACCESS_CONFIRMED: EventGroup.ACCESS,
    Event.ACCESS_DECLINED: EventGroup.ACCESS,
    Event.PASSWORD_TAMPERED: EventGroup.ACCESS,
    # The worker refusing rows that were written around the product's services: security.
    Event.NOT_APPROVED_REFUSED: EventGroup.ACCESS,
    Event.VERSION_TAMPERED: EventGroup.ACCESS,
    # Signing in: successes, failures per account and window, lockouts (services/signin.py).
    Event.SIGNED_IN: EventGroup.ACCESS,
    Event.SIGNIN_FAILED: EventGroup.ACCESS,
    Event.SIGNIN_LOCKED_OUT: EventGroup.ACCESS,
}


def events_of(group: str) -> list[str]:
    """The events of one group, for ``event__in``."""
    return [event for event, in_group in EVENT_GROUPS.items() if in_group == group]


#: The events after which a row's version_after is what AWS held of its framework (None:
#: the framework was gone): a framework's versions, and its document at a date, are read from
#: these rows.
LIVE_EVENTS = (Event.SYNC_NEW, Event.SYNC_CHANGED, Event.SYNC_GONE, Event.APPLIED)


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
            # The audit page's outcome filter ("every error"), newest first.
            models.Index(fields=["outcome", "-id"], name="history_outcome_idx"),
            # The audit page's actor filter: a person by the name they had, or a kind of actor.
            models.Index(fields=["actor_name", "-id"], name="history_actor_name_idx"),
            models.Index(fields=["actor_kind", "-id"], name="history_actor_kind_idx"),
            # The audit page's "changed outside the console" filter: few rows, so a partial index.
            models.Index(
                fields=["-id"],
                condition=models.Q(details__outside_console=True),
                name="history_outside_idx",
            ),
            # An event's other rows: the same request or change (correlation id).
            models.Index(fields=["correlation_id", "id"], name="history_correlation_idx"),
            # The audit page's free-text search is a GIN index made by migration 0007 on
            # PostgreSQL (history_search_idx; see frameworks.queries.audit.SEARCH_TEXT).
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


class HistoryCheckpoint(ImmutableModel):
    """A copy of one signed checkpoint of the chain head, for the audit page and the evidence
    pack. The copies that count are the ones written outside the database
    (``HISTORY_CHECKPOINT_DESTINATIONS``); this one is trusted only as far as its signature,
    which nobody without the private key can make."""

    row_id = models.BigIntegerField()
    row_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField()
    key_id = models.CharField(max_length=64)
    # The exact signed record (one JSON line), as the destinations received it.
    record = models.TextField()

    objects = ImmutableQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The audit page's latest checkpoint; the pack's checkpoints around a period.
            models.Index(fields=["created_at"], name="checkpoint_time_idx"),
        ]

    def __str__(self) -> str:
        return f"checkpoint at row {self.row_id}"
