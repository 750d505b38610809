"""Who held which role, and whose account was inactive, at a moment in the past.

The console keeps roles as they are now (``Group`` membership for a role everywhere,
``TargetRole`` for a role on one target, ``is_active`` for the account) and every access change
it made (``AccessChange``). ``roles_at`` reads today's standing and undoes, newest first, each
change that took effect at or after the moment: a grant made then was not held before it, a
removal made then was held, a deactivation means the account was active, a creation or a
reactivation means it was not. Changes still pending, declined or cancelled changed nothing and
are not undone. A change took effect when it was decided (``decided_at``: at once, or when a
second administrator confirmed it).

The reconstruction is exact for changes made through the console's access services and the
identity provider (both write an ``AccessChange``); a change made outside them (a Django shell,
raw SQL) leaves no record here and is not seen. That is why the evidence pack shows the roles
now and at the start side by side: a reader can replay the changes of the period from one to the
other. Accounts created after the moment (by any path: ``date_joined``) are listed as not yet
created, and hold no role at it.

Four queries whatever the number of people, roles and changes (tests/test_audit_pack_roles.py
pins them).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.db.models import Q

from frameworks.models import SETS_UP, AccessChange, AccessKind, AccessState, Role, TargetRole

if TYPE_CHECKING:
    from frameworks.models import Target

#: The kinds of access change that alter who holds a role or whose account is active.
_ROLE_KINDS = (AccessKind.GRANT, AccessKind.REMOVE)
_ACCOUNT_KINDS = (AccessKind.CREATE_USER, AccessKind.DEACTIVATE, AccessKind.REACTIVATE)

NOT_YET_CREATED = "not yet created"
INACTIVE = "inactive"


@dataclass(frozen=True)
class Standing:
    """Roles and inactive accounts at `moment`, as sorted lists of plain values."""

    moment: datetime
    every_target: list[dict[str, str]]  # {"user", "role"}
    per_target: list[dict[str, str]]  # {"user", "role", "target"} (the target's slug)
    inactive: list[dict[str, str]]  # {"user", "state"}: inactive or not yet created

    def as_json(self) -> dict[str, Any]:
        return {
            "at": self.moment,
            "every_target": self.every_target,
            "per_target": self.per_target,
            "inactive_accounts": self.inactive,
        }


def _applied(targets: list[Target]) -> Any:
    """The applied access changes of `targets` and of every target."""
    return AccessChange.objects.filter(state=AccessState.APPLIED).filter(
        Q(target__isnull=True) | Q(target__in=targets)
    )


def roles_at(targets: list[Target], moment: datetime) -> Standing:
    """Who held which role everywhere and on each of `targets`, and which accounts were inactive
    or not yet created, at `moment` (before any change decided at that very instant)."""
    user_model = get_user_model()
    names: dict[int, str] = {}
    slugs = {t.pk: t.slug for t in targets}
    everywhere: set[tuple[int, str]] = set()
    for user_id, username, role in user_model.groups.through.objects.filter(
        group__name__in=Role.values
    ).values_list("user_id", "user__username", "group__name"):
        names[user_id] = username
        everywhere.add((user_id, role))
    on_target: set[tuple[int, str, int]] = set()
    for user_id, username, role, target_id in TargetRole.objects.filter(
        target__in=targets
    ).values_list("user_id", "user__username", "group__name", "target_id"):
        names[user_id] = username
        on_target.add((user_id, role, target_id))
    active: dict[int, bool] = {}
    joined_after: set[int] = set()
    for user_id, username, is_active, joined in user_model.objects.filter(
        Q(is_active=False) | Q(date_joined__gte=moment)
    ).values_list("id", "username", "is_active", "date_joined"):
        names[user_id] = username
        active[user_id] = is_active
        if joined >= moment:
            joined_after.add(user_id)
    undone = (
        _applied(targets)
        .filter(kind__in=_ROLE_KINDS + _ACCOUNT_KINDS, decided_at__gte=moment)
        .select_related("subject", "group")
        .order_by("-decided_at", "-id")
    )
    for change in undone:
        person = change.subject
        names[person.pk] = person.get_username()
        active.setdefault(person.pk, person.is_active)
        role = change.group.name if change.group else ""
        if change.kind == AccessKind.DEACTIVATE:
            active[person.pk] = True
        elif change.kind in (AccessKind.CREATE_USER, AccessKind.REACTIVATE):
            active[person.pk] = False
        elif change.target_id is None:
            held = (person.pk, role)
            if change.kind == AccessKind.GRANT:
                everywhere.discard(held)
            else:
                everywhere.add(held)
        else:
            held_on = (person.pk, role, change.target_id)
            if change.kind == AccessKind.GRANT:
                on_target.discard(held_on)
            else:
                on_target.add(held_on)
    inactive = [
        {"user": names[pk], "state": NOT_YET_CREATED if pk in joined_after else INACTIVE}
        for pk, is_active in active.items()
        if pk in joined_after or not is_active
    ]
    return Standing(
        moment=moment,
        every_target=sorted(
            (
                {"user": names[pk], "role": role}
                for pk, role in everywhere
                if pk not in joined_after
            ),
            key=lambda r: (r["role"], r["user"]),
        ),
        per_target=sorted(
            (
                {"user": names[pk], "role": role, "target": slugs[tid]}
                for pk, role, tid in on_target
                if pk not in joined_after
            ),
            key=lambda r: (r["target"], r["role"], r["user"]),
        ),
        inactive=sorted(inactive, key=lambda r: r["user"]),
    )


def changes_between(targets: list[Target], start: datetime, end: datetime) -> list[dict[str, Any]]:
    """Every access change of `targets` and of every target that took effect in [start, end),
    oldest first: when, who asked, whom, what, where, and who confirmed it. One query."""
    rows = (
        _applied(targets)
        .filter(decided_at__gte=start, decided_at__lt=end)
        .select_related("subject", "group", "target")
        .order_by("decided_at", "id")
    )
    return [
        {
            "access_change_id": c.pk,
            "at": c.decided_at,
            "asked_at": c.created_at,
            "by": c.actor_name,
            "user": c.subject.get_username(),
            "kind": c.kind,
            "words": _words(c),
            "role": c.group.name if c.group else "",
            "where": c.target.slug if c.target else "every target",
            "confirmed_by": c.confirmed_by_name or None,
            # Taking standing away never waits for a second administrator.
            "needs_confirmation": c.kind in SETS_UP,
        }
        for c in rows
    ]


def _words(change: AccessChange) -> str:
    """What the change did, in the past tense: "granted approver on prod-eu to bob"."""
    person = change.subject.get_username()
    role = change.group.name if change.group else ""
    where = change.target.slug if change.target else "every target"
    words: dict[str, str] = {
        AccessKind.GRANT: f"granted {role} on {where} to {person}",
        AccessKind.REMOVE: f"removed {role} on {where} from {person}",
        AccessKind.CREATE_USER: f"created the account of {person}",
        AccessKind.DEACTIVATE: f"deactivated the account of {person}",
        AccessKind.REACTIVATE: f"reactivated the account of {person}",
        AccessKind.RESET_PASSWORD: f"reset the password of {person}",
    }
    return words.get(change.kind, change.get_kind_display().lower())
