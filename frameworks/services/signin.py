"""Signing in, in the history: each success, each lockout, and failures in aggregate.

Unauthenticated requests must not be able to flood the chain, so a failed password writes a
history row only for the first failure of its account in each window
(``SIGNIN_FAILURE_WINDOW_SECONDS``); the failures after it are counted in that window's
``SignInFailures`` row, and the lockout row (at most one per account, address and window)
carries the count. Every name that is no account shares one row per window, and is recorded
only as a keyed hash (HMAC with the secret key), never as typed: people type passwords into the
user name field. Throttling itself is django-axes' (settings: ``AXES_*``); these services only
record.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac

from frameworks import history
from frameworks.history import Actor
from frameworks.models import Event, HistoryEvent, Outcome, SignInFailures

if TYPE_CHECKING:
    from django.contrib.auth.models import User

UNKNOWN = "unknown"


def name_hash(name: str) -> str:
    """A user name that is no account, as the history keeps it: the same name gives the same
    hash (so repeats can be seen), and nobody without the secret key can test guesses."""
    return salted_hmac("frameworks.signin.name", name, algorithm="sha256").hexdigest()[:32]


def _window_start(now: datetime) -> datetime:
    seconds = settings.SIGNIN_FAILURE_WINDOW_SECONDS
    return datetime.fromtimestamp(now.timestamp() // seconds * seconds, tz=now.tzinfo)


def _account(username: str) -> tuple[str, User | None]:
    user = get_user_model().objects.filter(username=username).first()
    return (f"user:{user.pk}", user) if user is not None else (UNKNOWN, None)


def _subject(username: str, user: User | None) -> dict[str, Any]:
    if user is not None:
        return {"subject": f"account {user.get_username()}", "account": user.get_username()}
    return {"subject": "a name that is no account", "name_hash": name_hash(username)}


def _add(values: list[str], value: str) -> list[str]:
    if value in values or len(values) >= SignInFailures.MAX_KEPT:
        return values
    return [*values, value]


def _window(account: str, now: datetime) -> tuple[SignInFailures, bool]:
    return SignInFailures.objects.select_for_update().get_or_create(
        account=account,
        window_start=_window_start(now),
        defaults={"last_failure_at": now},
    )


def signin_record_success(*, user: User, address: str | None) -> HistoryEvent:
    """A person signed in (with a password or through the identity provider)."""
    with history.correlation(), transaction.atomic():
        return history.append(
            Event.SIGNED_IN,
            Actor.for_user(user),
            details={"address": address or "", "method": _method(user)},
        )


def _method(user: User) -> str:
    backend = str(getattr(user, "backend", ""))
    return "identity provider" if backend.endswith("RoleMappingBackend") else "password"


def signin_record_failure(*, username: str, address: str | None) -> HistoryEvent | None:
    """A wrong password (or a name that is no account). Counted in its account's window; the
    history row is written for the window's first failure only, and returned then."""
    now = timezone.now()
    account, user = _account(username)
    with history.correlation(), transaction.atomic():
        window, created = _window(account, now)
        window.failures += 1
        window.last_failure_at = now
        window.addresses = _add(window.addresses, address or "")
        if user is None:
            window.name_hashes = _add(window.name_hashes, name_hash(username))
        window.save(update_fields=["failures", "last_failure_at", "addresses", "name_hashes"])
        if not created:
            return None
        return history.append(
            Event.SIGNIN_FAILED,
            Actor.system("sign-in"),
            outcome=Outcome.DENIED,
            details={
                **_subject(username, user),
                "address": address or "",
                "window_start": window.window_start,
                "window_seconds": settings.SIGNIN_FAILURE_WINDOW_SECONDS,
                "note": "the first failure of this window; later ones are counted, not recorded "
                "one by one (the lockout row carries the count)",
            },
        )


def signin_record_lockout(*, username: str, address: str | None) -> HistoryEvent | None:
    """django-axes locked the account out for this address (after SIGNIN_FAILURE_LIMIT
    failures). Recorded once per account, address and window however often it is tried while
    locked; returns the row when one was written."""
    now = timezone.now()
    account, user = _account(username)
    with history.correlation(), transaction.atomic():
        window, _ = _window(account, now)
        if (address or "") in window.locked_out_addresses or len(
            window.locked_out_addresses
        ) >= SignInFailures.MAX_KEPT:
            return None
        window.locked_out_addresses = [*window.locked_out_addresses, address or ""]
        window.save(update_fields=["locked_out_addresses"])
        return history.append(
            Event.SIGNIN_LOCKED_OUT,
            Actor.system("sign-in"),
            outcome=Outcome.DENIED,
            details={
                **_subject(username, user),
                "address": address or "",
                "failures_in_window": window.failures,
                "window_start": window.window_start,
                "cool_off_seconds": int(
                    timedelta(minutes=settings.SIGNIN_COOLOFF_MINUTES).total_seconds()
                ),
            },
        )
