from __future__ import annotations

import functools

from django.conf import settings
from django.contrib.auth.models import User
from django.http import HttpRequest

from frameworks import access


def navigation(request: HttpRequest) -> dict[str, object]:
    user = getattr(request, "user", None)
    if not isinstance(user, User):  # the login page's visitor is anonymous
        return {"site_name": settings.SITE_NAME}
    can_review = access.can_anywhere(user, access.Action.APPROVE)
    return {
        "site_name": settings.SITE_NAME,
        "user_roles": sorted(access.roles_on(user, None)),
        "can_manage": access.can(user, access.Action.MANAGE, None),
        "can_review": can_review,
        # A callable: the template calls it (one COUNT query) only where it shows the count.
        "review_count": functools.partial(_review_count, user) if can_review else 0,
    }


def _review_count(user: User) -> int:
    from frameworks.queries import awaiting_review

    return awaiting_review(user).count()
