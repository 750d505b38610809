"""Failed sign-ins counted per account and time window, so the history gets one row per
account and window however many attempts are made (``frameworks.services.signin``)."""

from __future__ import annotations

from django.db import models


class SignInFailures(models.Model):
    """The failed sign-ins of one account in one window; every name that is no account shares
    one row per window (``account`` empty), and is kept only as a keyed hash."""

    #: ``user:<id>`` for an account, ``unknown`` for names that are none.
    account = models.CharField(max_length=64)
    window_start = models.DateTimeField()
    failures = models.PositiveIntegerField(default=0)
    # At most MAX_KEPT of each, so that a flood cannot grow a row without bound.
    addresses = models.JSONField(default=list, blank=True)
    name_hashes = models.JSONField(default=list, blank=True)
    locked_out_addresses = models.JSONField(default=list, blank=True)
    last_failure_at = models.DateTimeField()

    MAX_KEPT = 20

    class Meta:
        verbose_name_plural = "sign-in failures"
        constraints = [
            # The recording service's get_or_create of this window's row.
            models.UniqueConstraint(
                fields=["account", "window_start"], name="signin_failures_window_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.failures} failed sign-ins of {self.account} from {self.window_start}"
