"""The People pages' reads: each person with their roles everywhere and per target, and the
access changes awaiting a second administrator. A bounded number of queries however many people
and grants there are (tests/test_people_pages.py pins them)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.contrib.auth import get_user_model
from django.db.models import Prefetch

from frameworks import access
from frameworks.access import Action
from frameworks.models import AccessChange, AccessState, Role, TargetRole

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from frameworks.models import Target

#: How many people one page of the People list shows.
PEOPLE_PAGE_SIZE = 200


@dataclass
class Person:
    user: User
    everywhere: list[str]
    # (target, role) pairs, only on targets the viewer administers.
    per_target: list[tuple[Target, str]] = field(default_factory=list)
    pending: list[AccessChange] = field(default_factory=list)

    @property
    def awaiting_creation(self) -> bool:
        return any(c.kind == "create_user" for c in self.pending)


def _person(user: User, managed: set[int] | None) -> Person:
    everywhere = sorted(g.name for g in user.groups.all() if g.name in Role.values)
    per_target = sorted(
        (
            (r.target, r.group.name)
            for r in user.target_roles.all()
            if managed is None or r.target_id in managed
        ),
        key=lambda pair: (pair[0].display_name, pair[1]),
    )
    pending = [c for c in user.access_changes.all() if c.state == AccessState.PENDING]
    return Person(user, everywhere, per_target, pending)


def _people_queryset():  # type: ignore[no-untyped-def]
    return get_user_model().objects.prefetch_related(
        "groups",
        Prefetch("target_roles", TargetRole.objects.select_related("target", "group")),
        Prefetch(
            "access_changes",
            AccessChange.objects.filter(state=AccessState.PENDING).select_related(
                "group", "target"
            ),
        ),
    )


def _managed_ids(viewer: User) -> set[int] | None:
    """The targets whose grants `viewer` sees: all (None) for an admin of every target."""
    if access.can(viewer, Action.MANAGE, None):
        return None
    return set(access.targets_for(viewer, Action.MANAGE).values_list("pk", flat=True))


def people(viewer: User) -> list[Person]:
    """Everyone, by user name, with what `viewer` may see of their roles. Five queries."""
    managed = _managed_ids(viewer)
    users = _people_queryset().order_by("username")[:PEOPLE_PAGE_SIZE]
    return [_person(u, managed) for u in users]


def person(viewer: User, user_id: int) -> Person | None:
    found = _people_queryset().filter(pk=user_id).first()
    return None if found is None else _person(found, _managed_ids(viewer))


def pending_changes(viewer: User) -> list[AccessChange]:
    """Access changes awaiting a second administrator, on the scopes `viewer` administers."""
    rows = AccessChange.objects.filter(state=AccessState.PENDING).select_related(
        "subject", "group", "target"
    )
    managed = _managed_ids(viewer)
    if managed is not None:
        rows = rows.filter(target_id__in=managed)
    return list(rows.order_by("id")[:100])


def person_access_changes(subject: User, *, limit: int = 50) -> list[AccessChange]:
    return list(
        AccessChange.objects.filter(subject=subject)
        .select_related("subject", "group", "target")
        .order_by("-id")[:limit]
    )
