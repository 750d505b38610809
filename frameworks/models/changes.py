"""Change requests, their approvals and comments, and the write-once document versions they
point at."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from frameworks import document as document_core
from frameworks.models.immutable import ImmutableModel, ImmutableQuerySet
from frameworks.models.immutable import ImmutableRowError as ImmutableRowError  # re-exported
from frameworks.models.targets import Framework, Target


class TamperedVersion(Exception):
    """A stored document version whose document no longer gives its stored hash: it was changed
    in the database after it was written, so it is neither shown, reviewed nor applied."""

    def __init__(self, version: DocumentVersion) -> None:
        self.version_id = version.pk
        self.content_hash = version.content_hash
        self.message = (
            f"Document version {version.pk} was changed in the database after it was stored: "
            f"its document no longer matches its hash ({version.content_hash[:12]}). It is "
            "not shown, reviewed or applied; tell an administrator."
        )
        super().__init__(self.message)


class DocumentVersion(ImmutableModel):
    """One framework document the product has seen, stored once and never changed.

    ``document`` is the normalised API form of what the content hash covers: the description and
    the controls. The name is the framework's identity, not content, and FrameworkTags are left
    out like in the hash (UpdateFramework cannot change them), so that one hash always means one
    stored document. A create's tags stay in its change request's working document.
    """

    content_hash = models.CharField(max_length=64, unique=True)
    document = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now)

    objects = ImmutableQuerySet.as_manager()

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.content_hash[:12]

    def as_document(self) -> document_core.Document:
        """The stored document, parsed once per instance and checked against its stored hash.

        Every reader (the review page, the diff, the worker) goes through here, so a version
        edited in the database is refused (``TamperedVersion``) rather than shown or sent. A
        page checks a draft against its base and diffs it against the same base, so the parse
        is kept: each caller gets a Document of its own to name or tag; the controls are
        shared, and nothing changes a parsed control."""
        kept = self.__dict__.get("_parsed")
        if kept is None or kept[0] is not self.document:
            try:
                doc = document_core.parse(self.document)
            except document_core.DocumentError:
                raise TamperedVersion(self) from None
            if document_core.content_hash(doc) != self.content_hash:
                raise TamperedVersion(self)
            kept = (self.document, doc)
            self.__dict__["_parsed"] = kept
        return copy.copy(kept[1])

    @staticmethod
    def api_form(doc: document_core.Document) -> dict[str, Any]:
        """What a version stores for `doc`: its normalised API form without name and tags."""
        api = document_core.to_api(document_core.normalise(doc))
        api.pop("FrameworkName", None)
        api.pop("FrameworkTags", None)
        return api

    @classmethod
    def record(cls, doc: document_core.Document) -> DocumentVersion:
        """The version of `doc`, created if the product has not seen this content before."""
        version, _ = cls.objects.get_or_create(
            content_hash=document_core.content_hash(doc),
            defaults={"document": cls.api_form(doc)},
        )
        return version

    @classmethod
    def record_many(cls, docs: list[document_core.Document]) -> dict[str, DocumentVersion]:
        """Versions of several documents in two queries, keyed by content hash."""
        rows = {document_core.content_hash(doc): doc for doc in docs}
        if not rows:
            return {}
        DocumentVersion.objects.bulk_create(
            [
                DocumentVersion(content_hash=h, document=cls.api_form(doc))
                for h, doc in rows.items()
            ],
            ignore_conflicts=True,
        )
        return {v.content_hash: v for v in cls.objects.filter(content_hash__in=list(rows))}


# --- Change requests ------------------------------------------------------------------------


class ChangeKind(models.TextChoices):
    UPDATE = "update", "Update"
    CREATE = "create", "Create"
    DELETE = "delete", "Delete"


class ChangeState(models.TextChoices):
    DRAFT = "draft", "Draft"
    SUBMITTED = "submitted", "Submitted"
    APPROVED = "approved", "Approved"
    APPLYING = "applying", "Applying"
    UNCONFIRMED = "unconfirmed", "Unconfirmed"
    STALE = "stale", "Stale"
    APPLIED = "applied", "Applied"
    FAILED = "failed", "Failed"
    REJECTED = "rejected", "Rejected"
    WITHDRAWN = "withdrawn", "Withdrawn"


@dataclass(frozen=True)
class StateRules:
    """What a state means for the rest of the product: whether it holds its framework (the
    one-open-change constraint), whether nothing leaves it (final), and whether the apply
    worker or the reconciler still has work on it (the change page keeps polling)."""

    holds: bool = False
    final: bool = False
    in_flight: bool = False


#: The one table every list of states is derived from (the constraint, the filters, the page).
STATE_RULES: dict[str, StateRules] = {
    ChangeState.DRAFT: StateRules(),
    ChangeState.SUBMITTED: StateRules(holds=True),
    ChangeState.APPROVED: StateRules(holds=True, in_flight=True),
    ChangeState.APPLYING: StateRules(holds=True, in_flight=True),
    # AWS accepted the change but its deployment could not be confirmed: sync or the
    # reconciler settles it to applied or failed from what AWS holds.
    ChangeState.UNCONFIRMED: StateRules(holds=True, in_flight=True),
    ChangeState.STALE: StateRules(holds=True),
    ChangeState.APPLIED: StateRules(final=True),
    ChangeState.FAILED: StateRules(final=True),
    ChangeState.REJECTED: StateRules(final=True),
    ChangeState.WITHDRAWN: StateRules(final=True),
}
#: A change in one of these states holds its framework: nobody else may submit another.
OPEN_STATES = tuple(ChangeState(s) for s, rules in STATE_RULES.items() if rules.holds)
#: States nothing leaves, except by "start a new change from this one".
FINAL_STATES = tuple(ChangeState(s) for s, rules in STATE_RULES.items() if rules.final)
#: Approved and not yet settled: the worker, sync or the reconciler still acts on these.
IN_FLIGHT_STATES = tuple(ChangeState(s) for s, rules in STATE_RULES.items() if rules.in_flight)


class ChangeRequest(models.Model):
    """A proposed change to one framework of one target, from draft to applied (or not).

    Every state change goes through a function in services.py, which moves ``state`` with a
    conditional UPDATE on ``version`` (optimistic locking) and writes a history row.
    """

    kind = models.CharField(max_length=16, choices=ChangeKind.choices)
    target = models.ForeignKey(Target, on_delete=models.PROTECT, related_name="changes")
    framework_name = models.CharField(max_length=256)
    # Null for a create until it is applied.
    framework = models.ForeignKey(
        Framework, on_delete=models.PROTECT, null=True, blank=True, related_name="changes"
    )
    # What the change started from (none for a create) and what it proposes (none for a delete).
    base_version = models.ForeignKey(
        DocumentVersion, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    proposed_version = models.ForeignKey(
        DocumentVersion, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # The document as the author wrote it, kept while editing so validation still sees an empty
    # list or an empty value that normalising would fold away.
    working_document = models.JSONField(default=dict, blank=True)
    # Framework tags: what AWS held when the draft started (null: not known, or a create) and
    # what the change proposes (null: it leaves them alone). Tags are not in document versions
    # (UpdateFramework cannot change them); the review hash binds them (see review_hash).
    base_tags = models.JSONField(null=True, blank=True)
    proposed_tags = models.JSONField(null=True, blank=True)
    # review_hash stored for the review queue's SQL when the change proposes tags, else "".
    review_digest = models.CharField(max_length=64, blank=True, default="")
    # People leave; their changes stay, with the name they had.
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="change_requests",
    )
    author_name = models.CharField(max_length=150)
    reason = models.TextField(blank=True)
    version = models.PositiveIntegerField(default=1)
    state = models.CharField(max_length=16, choices=ChangeState.choices, default=ChangeState.DRAFT)
    required_approvals = models.PositiveSmallIntegerField(default=1)
    # The apply worker's bookkeeping.
    attempts = models.PositiveSmallIntegerField(default=0)
    lease_owner = models.CharField(max_length=128, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    last_error = models.JSONField(null=True, blank=True)
    enqueued_at = models.DateTimeField(null=True, blank=True)
    applied_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    submitted_at = models.DateTimeField(null=True, blank=True)
    parent = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="children"
    )

    class Meta:
        ordering = ["-id"]
        constraints = [
            # Two open changes to one framework would each be reviewed against a base the other
            # replaces. Submit refuses the second politely; this is the guarantee under races.
            models.UniqueConstraint(
                fields=["target", "framework_name"],
                condition=Q(state__in=OPEN_STATES),
                name="change_one_open_per_framework",
            ),
            models.CheckConstraint(
                condition=Q(state__in=ChangeState.values), name="change_state_valid"
            ),
            models.CheckConstraint(
                condition=Q(kind__in=ChangeKind.values), name="change_kind_valid"
            ),
            # A create starts from nothing; an update or delete from the live document.
            models.CheckConstraint(
                condition=Q(kind=ChangeKind.CREATE, base_version__isnull=True)
                | (~Q(kind=ChangeKind.CREATE) & Q(base_version__isnull=False)),
                name="change_base_matches_kind",
            ),
            models.CheckConstraint(
                condition=~Q(kind=ChangeKind.DELETE) | Q(proposed_version__isnull=True),
                name="change_delete_proposes_nothing",
            ),
            models.CheckConstraint(
                condition=Q(required_approvals__gte=1), name="change_needs_an_approval"
            ),
        ]
        indexes = [
            # The reconciler: approved changes with no task, applying ones whose lease expired.
            models.Index(fields=["state", "lease_until"], name="change_state_lease_idx"),
            # The review queue: submitted changes of the targets a user approves.
            models.Index(fields=["state", "target"], name="change_state_target_idx"),
            # A framework's changes, newest first.
            models.Index(fields=["target", "framework_name", "-id"], name="change_framework_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.get_kind_display().lower()} {self.framework_name} ({self.state})"

    @property
    def is_final(self) -> bool:
        return self.state in FINAL_STATES

    @property
    def proposed_hash(self) -> str | None:
        return self.proposed_version.content_hash if self.proposed_version is not None else None

    @property
    def base_hash(self) -> str | None:
        """The content this change started from; a create starts from nothing."""
        return self.base_version.content_hash if self.base_version is not None else None

    @property
    def review_hash(self) -> str | None:
        """The content a reviewer decides on: the proposal, or for a delete the document that
        would be deleted. A change that proposes tags is bound to them too,
        H(content hash, tags hash); one that leaves them alone to its content hash alone, so
        approvals given before tags could be edited keep counting."""
        if self.kind == ChangeKind.DELETE:
            return self.base_hash
        if self.proposed_hash is None:
            return None
        return document_core.review_hash(self.proposed_hash, self.proposed_tags)

    @property
    def changes_tags(self) -> bool:
        return self.kind != ChangeKind.DELETE and self.proposed_tags is not None

    @property
    def tags_only(self) -> bool:
        """An update whose document is the live one: only its tags change (no UpdateFramework)."""
        return (
            self.kind == ChangeKind.UPDATE
            and self.changes_tags
            and self.proposed_version_id is not None
            and self.proposed_version_id == self.base_version_id
        )

    def proposal_fields(self) -> dict[str, Any]:
        """proposed_tags and review_digest for the working document as it stands: tags are
        proposed when the working document has them and they differ from the base's (a create
        proposes any it has)."""
        working = self.working_document or {}
        tags = working.get("FrameworkTags") if self.kind != ChangeKind.DELETE else None
        if isinstance(tags, list | dict):
            try:
                tags = document_core.parse({"FrameworkTags": tags}).tags
            except document_core.DocumentError:
                tags = None
        else:
            tags = None
        if tags is not None and self.kind == ChangeKind.UPDATE and tags == self.base_tags:
            tags = None
        if self.kind == ChangeKind.CREATE and not tags:
            tags = None
        self.proposed_tags = tags
        digest = self.review_hash if tags is not None else ""
        self.review_digest = digest or ""
        return {"proposed_tags": self.proposed_tags, "review_digest": self.review_digest}

    def current_decisions(self) -> list[Approval]:
        """Each reviewer's newest decision that was not dismissed, newest first."""
        newest: dict[object, Approval] = {}
        for decision in self.approvals.filter(dismissed_at__isnull=True).order_by("-id"):
            # A deleted reviewer's decision still counts, once, as theirs alone.
            newest.setdefault(decision.reviewer_id or f"gone-{decision.pk}", decision)
        return list(newest.values())

    def current_approvals(self) -> list[Approval]:
        """The decisions that approve the current proposal."""
        return [
            a
            for a in self.current_decisions()
            if a.decision == Decision.APPROVE and a.content_hash == self.review_hash
        ]


class Decision(models.TextChoices):
    APPROVE = "approve", "Approve"
    REJECT = "reject", "Reject"


class Approval(models.Model):
    """A reviewer's decision on one proposed version of a change.

    Bound to content: ``content_hash`` is the proposal the reviewer saw. Reopening a change
    dismisses its decisions (``dismissed_at``). Only each reviewer's newest decision that is not
    dismissed counts.
    """

    change_request = models.ForeignKey(
        ChangeRequest, on_delete=models.PROTECT, related_name="approvals"
    )
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    reviewer_name = models.CharField(max_length=150)
    # The change's author, copied so the database itself can refuse self-approval.
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    decision = models.CharField(max_length=16, choices=Decision.choices)
    content_hash = models.CharField(max_length=64)
    reason = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    # Who decided, as the MAC covers it: the reviewer's user id, kept when the user is deleted
    # (``reviewer`` then goes NULL), so a copied row cannot pass for someone else.
    reviewer_key = models.BigIntegerField(null=True, blank=True)
    # frameworks.approvals.sign: an HMAC over change, hash, decision, reviewer and time, keyed
    # by a secret that is not in the database. Empty: the approval does not count for the worker.
    mac = models.CharField(max_length=64, blank=True, default="")
    dismissed_at = models.DateTimeField(null=True, blank=True)
    dismissed_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            # Four eyes, in the database: nobody decides on their own change. (A deleted user
            # leaves NULL, which a CHECK lets through: there is no one left to be both.)
            models.CheckConstraint(
                condition=~Q(reviewer=F("author")), name="approval_not_by_author"
            ),
            models.CheckConstraint(
                condition=Q(decision__in=Decision.values), name="approval_decision_valid"
            ),
        ]
        indexes = [
            # Counting a change's current decisions: newest per reviewer, not dismissed.
            models.Index(
                fields=["change_request", "dismissed_at", "reviewer"], name="approval_current_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reviewer_name}: {self.decision} {self.change_request_id}"


class Comment(models.Model):
    """One message in a change request's discussion."""

    change_request = models.ForeignKey(
        ChangeRequest, on_delete=models.PROTECT, related_name="comments"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    author_name = models.CharField(max_length=150)
    body = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.author_name} on #{self.change_request_id}"
