"""Access changes (who may act where) and the seals of password hashes.

An ``AccessChange`` is one change to someone's standing: an account created, deactivated or
reactivated, a password reset, a role granted or removed, everywhere (``target`` empty) or on
one target. It is the record the four-eyes rule reads (``frameworks.segregation``): who set up
whose standing, and whether a second administrator confirmed it. Rows are written only by
``frameworks.services.access``; the history keeps the same facts in its own rows.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import models

from frameworks.models.targets import Target


class AccessKind(models.TextChoices):
    CREATE_USER = "create_user", "Create the account"
    DEACTIVATE = "deactivate", "Deactivate the account"
    REACTIVATE = "reactivate", "Reactivate the account"
    RESET_PASSWORD = "reset_password", "Reset the password"
    GRANT = "grant", "Grant a role"
    REMOVE = "remove", "Remove a role"


#: The kinds that give someone standing (an account they can sign in to, a role, a password
#: someone else knows): the ones the four-eyes rule looks at and that wait for a second admin.
SETS_UP = frozenset(
    {AccessKind.CREATE_USER, AccessKind.REACTIVATE, AccessKind.RESET_PASSWORD, AccessKind.GRANT}
)


class AccessState(models.TextChoices):
    PENDING = "pending", "Awaiting a second administrator"
    APPLIED = "applied", "In effect"
    DECLINED = "declined", "Declined by a second administrator"
    CANCELLED = "cancelled", "Cancelled"


class AccessChange(models.Model):
    kind = models.CharField(max_length=16, choices=AccessKind.choices)
    state = models.CharField(max_length=16, choices=AccessState.choices)
    # Empty for the command line and the identity provider (actor_name says which).
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    actor_name = models.CharField(max_length=150)
    subject = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="access_changes"
    )
    group = models.ForeignKey(Group, on_delete=models.PROTECT, null=True, related_name="+")
    # Empty: everywhere (the role's group, or the account itself).
    target = models.ForeignKey(
        Target, on_delete=models.PROTECT, null=True, blank=True, related_name="access_changes"
    )
    # A pending password reset's new hash, until it is applied or declined; never shown.
    password_hash = models.CharField(max_length=256, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    confirmed_by_name = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            # The four-eyes rule: the unconfirmed set-ups of the author and the approvers.
            models.Index(fields=["subject", "state"], name="access_subject_idx"),
            # The People page's pending list.
            models.Index(fields=["state", "-id"], name="access_state_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for {self.subject_id} by {self.actor_name}"

    @property
    def role_name(self) -> str:
        return self.group.name if self.group_id and self.group else ""

    @property
    def where(self) -> str:
        return str(self.target) if self.target_id else "every target"

    @property
    def words(self) -> str:
        """The change in a few words, for pages and history rows."""
        if self.kind == AccessKind.GRANT:
            return f"make {self.subject} {self.role_name} of {self.where}"
        if self.kind == AccessKind.REMOVE:
            return f"remove {self.subject}'s {self.role_name} role on {self.where}"
        return f"{self.get_kind_display().lower()} of {self.subject}"


class PasswordSeal(models.Model):
    """A keyed digest of a user's password hash (``frameworks.integrity``), written whenever the
    product sets a password. The key is not in the database, so a hash written straight into
    ``auth_user`` cannot be given a matching seal."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    digest = models.CharField(max_length=64)
    sealed_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"password seal of {self.user_id}"
