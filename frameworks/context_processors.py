from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest

from frameworks import access


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"site_name": settings.SITE_NAME}
    return {
        "site_name": settings.SITE_NAME,
        "user_roles": sorted(access.roles_on(user, None)),
        "can_manage": access.can(user, access.Action.MANAGE, None),
    }
