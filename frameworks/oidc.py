"""Sign-in through the organisation's identity provider (OpenID Connect, mozilla-django-oidc).

A person is found by their username claim (``preferred_username`` by default), else created.
Where ``OIDC_ROLE_GROUPS`` maps the console's roles to the provider's groups, each sign-in sets
the person's roles from the groups claim: the provider is then the one place roles are given,
and each change it makes is recorded (an access change and a history row whose actor is
"identity provider").
Without a mapping, roles stay as administrators set them in the console.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from frameworks import services

log = logging.getLogger(__name__)


def _username(claims: dict[str, Any]) -> str:
    return str(claims.get(settings.OIDC_USERNAME_CLAIM) or claims.get("email") or "")[:150]


class RoleMappingBackend(OIDCAuthenticationBackend):
    def verify_claims(self, claims: dict[str, Any]) -> bool:
        return bool(_username(claims))

    def filter_users_by_claims(self, claims: dict[str, Any]) -> QuerySet:
        return self.UserModel.objects.filter(username=_username(claims))

    def create_user(self, claims: dict[str, Any]) -> Any:
        user = self.UserModel.objects.create_user(_username(claims), email=claims.get("email", ""))
        user.set_unusable_password()
        user.save(update_fields=["password"])
        self._set_roles(user, claims)
        return user

    def update_user(self, user: Any, claims: dict[str, Any]) -> Any:
        email = claims.get("email", "")
        if email and email != user.email:
            user.email = email
            user.save(update_fields=["email"])
        self._set_roles(user, claims)
        return user

    def _set_roles(self, user: Any, claims: dict[str, Any]) -> None:
        mapping: dict[str, str] = settings.OIDC_ROLE_GROUPS
        if not mapping:
            return
        held = claims.get(settings.OIDC_GROUPS_CLAIM) or []
        if isinstance(held, str):
            held = [held]
        wanted = {role for role, group in mapping.items() if group in held}
        # Through the access services: each change is an access change and a history row
        # whose actor is the identity provider.
        services.roles_from_identity_provider(person=user, wanted=wanted, managed=set(mapping))
        log.info("roles of %s from the identity provider: %s", user, sorted(wanted) or "none")
