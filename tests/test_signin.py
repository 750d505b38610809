"""Signing in: lockout after repeated failures (keyed by account and address together), the
history rows of successes, failures (in aggregate) and lockouts, the idle sign-out, and
Django's password validators."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone

from frameworks import signin
from frameworks.models import Event, HistoryEvent, SignInFailures
from frameworks.services import signin as signin_services
from tests.conftest import client_for

LIMIT = 5


def attempt(username: str, password: str, address: str = "10.0.0.1", client: Client | None = None):
    return (client or Client()).post(
        reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=address
    )


def rows(event: str) -> list[HistoryEvent]:
    return list(HistoryEvent.objects.filter(event=event).order_by("id"))


@pytest.fixture(autouse=True)
def _limits(settings):
    settings.SIGNIN_FAILURE_LIMIT = settings.AXES_FAILURE_LIMIT = LIMIT


def test_a_right_password_signs_in_and_is_recorded(approver):
    response = attempt("alice", "password")
    assert response.status_code == 302
    [row] = rows(Event.SIGNED_IN)
    assert (row.actor_id, row.actor_name) == (approver.pk, "alice")
    assert row.details == {"address": "10.0.0.1", "method": "password"}


def test_repeated_wrong_passwords_lock_the_account_out_for_that_address(approver):
    for _ in range(LIMIT - 1):
        assert attempt("alice", "wrong").status_code == 200
    locked = attempt("alice", "wrong")
    assert locked.status_code == 429
    assert b"Signing in is paused" in locked.content
    assert b"for 15 minutes" in locked.content
    assert "default-src 'none'" in locked["Content-Security-Policy"]
    # Even the right password is refused now, and nobody is signed in.
    again = attempt("alice", "password")
    assert again.status_code == 429
    assert "_auth_user_id" not in again.client.session
    assert rows(Event.SIGNED_IN) == []
    # One failure row for the window, one lockout row however often it is tried while locked.
    [failed] = rows(Event.SIGNIN_FAILED)
    assert failed.details["account"] == "alice"
    assert failed.details["address"] == "10.0.0.1"
    [lockout] = rows(Event.SIGNIN_LOCKED_OUT)
    assert lockout.outcome == "denied"
    assert lockout.details["account"] == "alice"
    assert lockout.details["failures_in_window"] == LIMIT
    assert lockout.details["address"] == "10.0.0.1"
    assert SignInFailures.objects.get(account=f"user:{approver.pk}").failures == LIMIT + 1


def test_a_lockout_from_one_address_does_not_lock_out_another(approver):
    for _ in range(LIMIT):
        attempt("alice", "wrong", address="203.0.113.9")
    assert attempt("alice", "password", address="203.0.113.9").status_code == 429
    response = attempt("alice", "password", address="10.0.0.2")
    assert response.status_code == 302
    [row] = rows(Event.SIGNED_IN)
    assert row.details["address"] == "10.0.0.2"


def test_failures_are_one_row_per_account_and_window(approver, editor, monkeypatch):
    for _ in range(3):
        attempt("alice", "wrong")
    attempt("erin", "wrong")
    assert [r.details["account"] for r in rows(Event.SIGNIN_FAILED)] == ["alice", "erin"]
    later = timezone.now() + timedelta(seconds=3600)
    monkeypatch.setattr(signin_services.timezone, "now", lambda: later)
    attempt("alice", "wrong")
    assert [r.details["account"] for r in rows(Event.SIGNIN_FAILED)] == ["alice", "erin", "alice"]
    windows = SignInFailures.objects.filter(account=f"user:{approver.pk}").order_by("window_start")
    assert [w.failures for w in windows] == [3, 1]


def test_names_that_are_no_account_share_a_row_and_appear_only_as_a_keyed_hash(db):
    typed = ["hunter2-oops", "mallory", "Correct-Horse-Battery"]
    for name in typed:
        attempt(name, "wrong")
    [row] = rows(Event.SIGNIN_FAILED)
    assert row.details["name_hash"] == signin_services.name_hash("hunter2-oops")
    assert "account" not in row.details
    recorded = json.dumps([r.details for r in HistoryEvent.objects.all()])
    assert not any(name in recorded for name in typed)
    window = SignInFailures.objects.get(account="unknown")
    assert window.failures == 3
    assert window.name_hashes == [signin_services.name_hash(name) for name in typed]


def test_a_flood_of_names_writes_one_row_and_a_bounded_tally(db):
    for i in range(SignInFailures.MAX_KEPT + 5):
        signin_services.signin_record_failure(username=f"guess{i}", address=f"198.51.100.{i}")
    assert len(rows(Event.SIGNIN_FAILED)) == 1
    window = SignInFailures.objects.get(account="unknown")
    assert window.failures == SignInFailures.MAX_KEPT + 5
    assert len(window.name_hashes) == len(window.addresses) == SignInFailures.MAX_KEPT


def test_the_client_address_behind_trusted_proxies(settings):
    request = RequestFactory().get(
        "/", REMOTE_ADDR="10.9.9.9", HTTP_X_FORWARDED_FOR="6.6.6.6, 198.51.100.7, 10.0.0.5"
    )
    settings.SIGNIN_TRUSTED_PROXIES = 0
    assert signin.client_address(request) == "10.9.9.9"
    settings.SIGNIN_TRUSTED_PROXIES = 2
    # The first proxy appended the client; what the client sent itself (6.6.6.6) is not used.
    assert signin.client_address(request) == "198.51.100.7"


# --- idle sign-out -------------------------------------------------------------------------


def test_a_session_idle_longer_than_the_limit_is_signed_out(editor, settings):
    settings.SESSION_IDLE_SECONDS = 600
    client = client_for(editor)
    assert client.get(reverse("frameworks:list")).status_code == 200
    session = client.session
    session[signin.LAST_SEEN] = int(time.time()) - 601
    session.save()
    response = client.get(reverse("frameworks:list"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert "_auth_user_id" not in client.session


def test_a_session_used_within_the_limit_stays(editor, settings):
    settings.SESSION_IDLE_SECONDS = 600
    client = client_for(editor)
    session = client.session
    session[signin.LAST_SEEN] = int(time.time()) - 590
    session.save()
    assert client.get(reverse("frameworks:list")).status_code == 200
    # The request moved the clock on, so the next ten minutes count from now.
    assert client.session[signin.LAST_SEEN] >= int(time.time()) - 1


# --- passwords -----------------------------------------------------------------------------


@pytest.mark.parametrize("password", ["short-1", "123456789012345", "password1234"])
def test_djangos_password_validators_refuse_weak_passwords(password, editor):
    with pytest.raises(ValidationError):
        validate_password(password, editor)


def test_a_long_uncommon_password_passes(editor):
    validate_password("violet-harbour-tractor-42", editor)


def test_the_admins_sign_in_is_the_consoles(db):
    response = Client().get("/admin/login/?next=/admin/")
    assert response.status_code == 302
    assert response["Location"] == reverse("login") + "?next=/admin/"
