from __future__ import annotations

import functools

from django.conf import settings
from django.contrib.auth.models import User
from django.http import HttpRequest

from frameworks import access


def navigation(request: HttpRequest) -> dict[str, object]:
    # Not "site_name": Django's login view puts the request's host under that name, and a
    # view's context wins over a context processor's.
    user = getattr(request, "user", None)
    if not isinstance(user, User):  # the login page's visitor is anonymous
        return {"product_name": settings.SITE_NAME}
    can_review = access.can_anywhere(user, access.Action.APPROVE)
    return {
        "product_name": settings.SITE_NAME,
        "user_roles": sorted(access.roles_on(user, None)),
        "can_manage": access.can(user, access.Action.MANAGE, None),
        "can_manage_people": access.can_anywhere(user, access.Action.MANAGE),
        "can_review": can_review,
        "can_audit": access.can_anywhere(user, access.Action.VIEW),
        # A callable: the template calls it (one COUNT query) only where it shows the count.
        "review_count": functools.partial(_review_count, user) if can_review else 0,
    }


def _review_count(user: User) -> int:
    from frameworks.queries import awaiting_review

    return awaiting_review(user).count()
