"""Targets (an AWS account and Region), who holds which role on them, and the local mirror of
their frameworks."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.urls import reverse

from frameworks import document as document_core
from frameworks.document.limits import MAX_CONTROLS, MAX_FRAMEWORKS
from frameworks.models.immutable import ImmutableRowError as ImmutableRowError  # re-exported


class Role(models.TextChoices):
    """The four roles. Each is a Django group (created by a migration); see access.py."""

    EDITOR = "editor", "Editor"
    APPROVER = "approver", "Approver"
    AUDITOR = "auditor", "Auditor"
    ADMIN = "admin", "Admin"


class Target(models.Model):
    """One AWS account and Region the console manages.

    Credentials are never stored: a target names where boto3 finds them (its default chain, or a
    named profile of the shared credentials files) and, optionally, an IAM role in the target's
    account to assume with them (STS AssumeRole; the temporary keys live in memory only). The
    account id is what AWS reports (GetCallerIdentity, or the framework ARNs it returns), not
    what someone typed. A retired target is kept for its history but no longer synced or shown.
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
    role_arn = models.CharField(
        "role to assume",
        max_length=2048,
        blank=True,
        validators=[
            RegexValidator(
                r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$",
                "Enter a role ARN like arn:aws:iam::123456789012:role/backup-frameworks-console.",
            )
        ],
        help_text="IAM role in the target's account to assume; empty to use the credentials as"
        " they are.",
    )
    external_id = models.CharField(
        "external id",
        max_length=1224,
        blank=True,
        validators=[
            RegexValidator(
                r"^[\w+=,.@:/-]{2,1224}$",
                "Enter 2 to 1224 letters, digits or any of + = , . @ : / - _ (AWS's rule).",
            )
        ],
        help_text="The external id the role's trust policy requires (sts:ExternalId).",
    )
    notify_emails = models.JSONField(
        "notification addresses",
        default=list,
        blank=True,
        help_text="Addresses told of every change submitted for this target, beside its approvers.",
    )
    endpoint_url = models.URLField(
        blank=True, help_text="Only when pointing at an emulator; empty for real AWS."
    )
    account_id = models.CharField(max_length=12, blank=True, editable=False)
    max_frameworks = models.PositiveSmallIntegerField(
        default=MAX_FRAMEWORKS, help_text="AWS quota of frameworks in this account and Region."
    )
    max_controls = models.PositiveSmallIntegerField(
        default=MAX_CONTROLS,
        help_text="AWS quota of controls in this account and Region, across frameworks.",
    )
    required_approvals = models.PositiveSmallIntegerField(
        default=1,
        validators=[MinValueValidator(1)],
        help_text="How many approvers must approve a change before it is applied.",
    )

    retired_at = models.DateTimeField(null=True, blank=True, editable=False)
    account_checked_at = models.DateTimeField(null=True, blank=True, editable=False)

    # Sync bookkeeping. The lease keeps two syncs of one target from overlapping.
    sync_lease_until = models.DateTimeField(null=True, blank=True, editable=False)
    sync_lease_owner = models.CharField(max_length=64, blank=True, editable=False)
    last_synced_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_sync_error = models.TextField(blank=True, editable=False)
    last_sync_error_code = models.CharField(max_length=128, blank=True, editable=False)
    # What AWS Config records here (document.Recording.as_json), as sync last read it; null
    # while it could not be read (config_recording_error says why).
    config_recording = models.JSONField(null=True, blank=True, editable=False)
    config_recording_error = models.CharField(max_length=256, blank=True, editable=False)

    class Meta:
        ordering = ["display_name"]

    def __str__(self) -> str:
        return self.display_name

    @property
    def name_and_region(self) -> str:
        """The name with the Region after it, where lists of targets need both, unless the
        name already says it ("Production (eu-west-1)" is not shown twice)."""
        if self.region and self.region in self.display_name:
            return self.display_name
        return f"{self.display_name} ({self.region})"

    @property
    def credentials_label(self) -> str:
        source = f"profile {self.profile}" if self.profile else "default credential chain"
        return f"role {self.role_arn} through the {source}" if self.role_arn else source

    @property
    def retired(self) -> bool:
        return self.retired_at is not None

    @property
    def recording(self) -> document_core.Recording | None:
        """What AWS Config records in this account and Region, or None if not known."""
        if self.config_recording is None:
            return None
        return document_core.Recording.from_json(self.config_recording)


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
    # The framework's tags as ListTags last answered; null while they could not be read.
    tags = models.JSONField(null=True, blank=True)
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
        if self.tags is not None:
            doc["FrameworkTags"] = dict(self.tags)
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
