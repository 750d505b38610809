"""Targets (an AWS account and Region), the local mirror of their frameworks, change requests,
document versions and the append-only change history."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone

from frameworks import document as document_core
from frameworks.immutable import ImmutableModel, ImmutableQuerySet
from frameworks.immutable import ImmutableRowError as ImmutableRowError  # re-exported


class Role(models.TextChoices):
    """The four roles. Each is a Django group (created by a migration); see access.py."""

    EDITOR = "editor", "Editor"
    APPROVER = "approver", "Approver"
    AUDITOR = "auditor", "Auditor"
    ADMIN = "admin", "Admin"


class Target(models.Model):
    """One AWS account and Region the console manages.

    Credentials are never stored: a target names where boto3 finds them (its default chain, or a
    named profile of the shared credentials files). The account id is what AWS reports (read from
    the framework ARNs it returns), not what someone typed.
    """

    slug = models.SlugField(
        max_length=64, unique=True, help_text="Short name used in addresses, e.g. prod-eu."
    )
    display_name = models.CharField(max_length=128)
    region = models.CharField(
        max_length=32,
        validators=[
            RegexValidator(r"^[a-z]{2}(-[a-z]+)+-\d+$", "Enter a Region code like eu-west-1.")
        ],
    )
    profile = models.CharField(
        max_length=128,
        blank=True,
        help_text=(
            "Named profile of the AWS shared credentials files; empty for boto3's default chain."
        ),
    )
    endpoint_url = models.URLField(
        blank=True, help_text="Only when pointing at an emulator; empty for real AWS."
    )
    account_id = models.CharField(max_length=12, blank=True, editable=False)
    max_frameworks = models.PositiveSmallIntegerField(
        default=15, help_text="AWS quota of frameworks in this account and Region."
    )
    max_controls = models.PositiveSmallIntegerField(
        default=50, help_text="AWS quota of controls in this account and Region, across frameworks."
    )
    required_approvals = models.PositiveSmallIntegerField(
        default=1,
        validators=[MinValueValidator(1)],
        help_text="How many approvers must approve a change before it is applied.",
    )

    # Sync bookkeeping. The lease keeps two syncs of one target from overlapping.
    sync_lease_until = models.DateTimeField(null=True, blank=True, editable=False)
    sync_lease_owner = models.CharField(max_length=64, blank=True, editable=False)
    last_synced_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_sync_error = models.TextField(blank=True, editable=False)
    last_sync_error_code = models.CharField(max_length=128, blank=True, editable=False)

    class Meta:
        ordering = ["display_name"]

    def __str__(self) -> str:
        return self.display_name

    @property
    def credentials_label(self) -> str:
        return f"profile {self.profile}" if self.profile else "default credential chain"


class FrameworkQuerySet(models.QuerySet["Framework"]):
    def present(self) -> FrameworkQuerySet:
        return self.filter(present=True)


class Framework(models.Model):
    """What the console last saw of one framework in AWS.

    The identity is the name within a target: AWS gives a framework a new ARN when it is deleted
    and created again, so the ARN is only an attribute. Frameworks gone from AWS stay, marked gone.
    """

    target = models.ForeignKey(Target, on_delete=models.PROTECT, related_name="frameworks")
    name = models.CharField(max_length=256)
    arn = models.CharField(max_length=512, blank=True)
    description = models.TextField(blank=True)
    # FrameworkControls exactly as DescribeFramework returned them (the API form).
    controls = models.JSONField(default=list)
    content_hash = models.CharField(max_length=64, blank=True)
    deployment_status = models.CharField(max_length=32, blank=True)
    framework_status = models.CharField(max_length=32, blank=True)
    idempotency_token = models.CharField(max_length=128, blank=True)
    creation_time = models.DateTimeField(null=True, blank=True)
    last_synced_at = models.DateTimeField(null=True, blank=True)
    present = models.BooleanField(default=True)
    gone_since = models.DateTimeField(null=True, blank=True)

    objects = FrameworkQuerySet.as_manager()

    class Meta:
        ordering = ["target__display_name", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["target", "name"], name="framework_unique_name_per_target"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.target})"

    def get_absolute_url(self) -> str:
        return reverse("frameworks:detail", args=[self.target.slug, self.name])

    @property
    def number_of_controls(self) -> int:
        return len(self.controls)

    def api_document(self) -> dict:
        """The framework in the API form that the document core parses."""
        # AWS answers "" for "no description", and refuses "" when it is sent back.
        doc = {"FrameworkName": self.name, "FrameworkControls": self.controls}
        if self.description:
            doc["FrameworkDescription"] = self.description
        return doc


class TargetRole(models.Model):
    """A role granted for one target only (an approver for production, say).

    Membership of the role's group grants it for every target.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="target_roles"
    )
    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="+")
    target = models.ForeignKey(Target, on_delete=models.CASCADE, related_name="roles")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "group", "target"], name="target_role_unique")
        ]

    def __str__(self) -> str:
        return f"{self.user} is {self.group} of {self.target}"


# --- Immutable rows: document versions and the change history ------------------------------


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
        return document_core.parse(self.document)

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
        cls.objects.bulk_create(
            [cls(content_hash=h, document=cls.api_form(doc)) for h, doc in rows.items()],
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
    STALE = "stale", "Stale"
    APPLIED = "applied", "Applied"
    FAILED = "failed", "Failed"
    REJECTED = "rejected", "Rejected"
    WITHDRAWN = "withdrawn", "Withdrawn"


#: A change in one of these states holds its framework: nobody else may submit another.
OPEN_STATES = (
    ChangeState.SUBMITTED,
    ChangeState.APPROVED,
    ChangeState.APPLYING,
    ChangeState.STALE,
)
#: States nothing leaves, except by "start a new change from this one".
FINAL_STATES = (
    ChangeState.APPLIED,
    ChangeState.FAILED,
    ChangeState.REJECTED,
    ChangeState.WITHDRAWN,
)


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
    # The apply worker's bookkeeping (issue 7).
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
        return self.proposed_version.content_hash if self.proposed_version_id else None

    @property
    def review_hash(self) -> str | None:
        """The content a reviewer decides on: the proposal, or for a delete the document that
        would be deleted."""
        if self.kind == ChangeKind.DELETE:
            return self.base_version.content_hash if self.base_version_id else None
        return self.proposed_hash

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


# --- The change history ---------------------------------------------------------------------
# Lives in models_history.py for size; re-exported so frameworks.models.HistoryEvent works and
# Django registers the models.
from frameworks.models_history import (  # noqa: E402, F401
    ActorKind,
    Event,
    HistoryEvent,
    HistoryHead,
    Outcome,
)
