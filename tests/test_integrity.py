"""Password hashes written outside the product refuse sign-in, and say so in the history."""

from __future__ import annotations

import pytest
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import connection
from django.test import Client

from frameworks import integrity, services
from frameworks.models import Event, HistoryEvent, Outcome, PasswordSeal
from tests.factories import user

pytestmark = pytest.mark.django_db


def sign_in(username: str, password: str) -> Client:
    client = Client()
    client.post("/accounts/login/", {"username": username, "password": password})
    return client


def signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def test_a_password_set_through_django_is_sealed_and_signs_in() -> None:
    pia = user("pia", "editor", password="pia's password 1")
    assert PasswordSeal.objects.filter(user=pia).exists()
    assert integrity.intact(pia)
    assert signed_in(sign_in("pia", "pia's password 1"))


def test_a_hash_written_straight_into_the_database_refuses_sign_in_and_is_recorded() -> None:
    pia = user("pia", "editor", password="pia's password 1")
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE auth_user SET password = %s WHERE id = %s",
            [make_password("the attacker's password"), pia.pk],
        )
    assert not signed_in(sign_in("pia", "the attacker's password"))
    [row] = HistoryEvent.objects.filter(event=Event.PASSWORD_TAMPERED)
    assert row.outcome == Outcome.DENIED
    assert row.details["subject"] == "user pia"


def test_a_seal_copied_from_another_account_does_not_match() -> None:
    pia = user("pia", password="same password 1")
    sam = user("sam", password="same password 1")
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE auth_user SET password = (SELECT password FROM auth_user WHERE id = %s) "
            "WHERE id = %s",
            [pia.pk, sam.pk],
        )
    PasswordSeal.objects.filter(user=sam).update(digest=PasswordSeal.objects.get(user=pia).digest)
    assert not integrity.intact(sam)


def test_a_wrong_password_is_not_a_tamper_event() -> None:
    user("pia", password="pia's password 1")
    assert not signed_in(sign_in("pia", "wrong"))
    assert not HistoryEvent.objects.filter(event=Event.PASSWORD_TAMPERED).exists()


def test_the_reset_service_seals_the_new_hash() -> None:
    adam = user("adam", "admin")
    pia = user("pia", "editor", password="pia's password 1")
    services.person_reset_password(
        user=adam, person_id=pia.pk, password="a long temporary passphrase 42"
    )
    assert signed_in(sign_in("pia", "a long temporary passphrase 42"))


def test_createsuperuser_seals_its_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "root's own passphrase 9")
    call_command("createsuperuser", "--noinput", username="root", email="root@example.com")
    assert integrity.intact(User.objects.get(username="root"))
    assert signed_in(sign_in("root", "root's own passphrase 9"))


def test_an_unusable_password_is_sealed_too() -> None:
    pia = user("pia")
    pia.set_unusable_password()
    pia.save()
    assert integrity.intact(pia)


def test_a_seal_under_a_fallback_key_still_signs_in_and_is_made_anew(settings) -> None:
    pia = user("pia", password="pia's password 1")
    old_key = settings.SECRET_KEY
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = "a new secret key " * 4, [old_key]
    assert signed_in(sign_in("pia", "pia's password 1"))
    settings.SECRET_KEY_FALLBACKS = []
    assert integrity.intact(pia)


def test_a_hash_planted_with_an_outdated_salt_is_not_upgraded_into_a_seal(settings) -> None:
    """Django re-hashes an out-of-date hash at sign-in and saves it; that save must not seal
    a planted hash."""
    pia = user("pia", "editor", password="pia's password 1")
    planted = make_password("the attacker's password", salt="ab", hasher="md5")
    with connection.cursor() as cursor:
        cursor.execute("UPDATE auth_user SET password = %s WHERE id = %s", [planted, pia.pk])
    assert not signed_in(sign_in("pia", "the attacker's password"))
    assert not signed_in(sign_in("pia", "the attacker's password"))
    assert User.objects.get(pk=pia.pk).password == planted
    assert HistoryEvent.objects.filter(event=Event.PASSWORD_TAMPERED).count() == 2
