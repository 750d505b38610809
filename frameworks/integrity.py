"""Password hashes the product did not write refuse sign-in.

Whenever a user's password hash is saved through Django (the access services, ``createsuperuser``,
``changepassword``, ``seed_demo``, the identity provider's unusable passwords, a hasher upgrade
at sign-in), a keyed digest of it is stored beside it (``PasswordSeal``). The key is derived from
``SECRET_KEY`` and is never in the database, so someone who can only write the database can
replace a hash but cannot seal it: ``SealedModelBackend`` then refuses the sign-in and records a
security event. A seal made with a key in ``SECRET_KEY_FALLBACKS`` still holds, and is made
again with the current key at the next sign-in, so the secret key can be rotated as Django's
documentation describes.
"""

from __future__ import annotations

import hmac
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.hashers import check_password
from django.db import transaction
from django.utils.crypto import salted_hmac

from frameworks import history
from frameworks.models import Event, Outcome, PasswordSeal

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, User
    from django.http import HttpRequest

_SALT = "frameworks.integrity.password-seal"


def digest(user_id: int, password_hash: str, secret: str | bytes | None = None) -> str:
    """The seal of `password_hash` for user `user_id` (bound to the user, so a hash and its
    seal cannot be copied from one account to another), keyed by `secret` (SECRET_KEY)."""
    return salted_hmac(
        _SALT,
        f"{user_id}:{password_hash}",
        secret=secret or settings.SECRET_KEY,
        algorithm="sha256",
    ).hexdigest()


def seal(user: AbstractBaseUser) -> None:
    """Record the seal of the user's current password hash."""
    PasswordSeal.objects.update_or_create(
        user_id=user.pk, defaults={"digest": digest(user.pk, user.password)}
    )


def intact(user: AbstractBaseUser) -> bool:
    """Does the user's stored password hash match its seal? Read from the database, not the
    object in hand, which a caller may have changed. A seal under a fallback key is made again
    under the current one."""
    stored = type(user)._default_manager.filter(pk=user.pk).values_list("password", flat=True)
    seal_row = PasswordSeal.objects.filter(user_id=user.pk).values_list("digest", flat=True)
    password, sealed = stored.first(), seal_row.first()
    if password is None or sealed is None:
        return False
    if hmac.compare_digest(sealed, digest(user.pk, password)):
        return True
    for old_key in settings.SECRET_KEY_FALLBACKS:
        if hmac.compare_digest(sealed, digest(user.pk, password, old_key)):
            PasswordSeal.objects.filter(user_id=user.pk).update(digest=digest(user.pk, password))
            return True
    return False


def seal_on_save(sender: Any, instance: AbstractBaseUser, **kwargs: Any) -> None:
    """post_save of the user model: seal the hash whenever it may have been written."""
    update_fields = kwargs.get("update_fields")
    if kwargs.get("raw") or (update_fields is not None and "password" not in update_fields):
        return
    seal(instance)


class SealedModelBackend(ModelBackend):
    """Django's username and password sign-in, refused when the password hash is not sealed.

    The seal is checked before Django's own check: that one re-hashes a password whose hasher
    or work factor is out of date and saves the result, which would seal a hash planted with
    an older hasher."""

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> User | None:
        model = get_user_model()
        if username is None:
            username = kwargs.get(model.USERNAME_FIELD)
        person = (
            model._default_manager.filter(**{model.USERNAME_FIELD: username}).first()
            if username is not None and password is not None
            else None
        )
        if person is not None and not intact(person):
            # No setter: a planted hash is never re-hashed (nor sealed) here.
            if check_password(password, person.password):
                with transaction.atomic():
                    _record_tampered(person)
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


def _record_tampered(user: AbstractBaseUser) -> None:
    history.append(
        Event.PASSWORD_TAMPERED,
        history.Actor.system("sign-in"),
        outcome=Outcome.DENIED,
        details={
            "subject": f"user {user.get_username()}",
            "user_id": user.pk,
            "message": "The password hash was changed outside the console; sign-in refused.",
        },
    )
