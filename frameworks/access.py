"""Who may do what to which target: the one place every view and service asks.

A role held through the role's group applies to every target; a TargetRole grants it for one.
Superusers count as admins. The answer is cached on the user object for the request, so a page
asks the database twice however many targets and frameworks it shows.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404

from frameworks.models import Role, Target, TargetRole

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User
    from django.db.models import QuerySet


class Action(StrEnum):
    VIEW = "view"
    SYNC = "sync"
    EDIT = "edit"
    APPROVE = "approve"
    COMMENT = "comment"
    # Withdraw someone else's approved change before a worker claims it.
    WITHDRAW_ANY = "withdraw any change"
    MANAGE = "manage"


# Auditors read everything and change nothing; syncing only reads AWS, but it is still an action
# an auditor should not be seen to take, so it is left to the roles that work on frameworks.
ALLOWED: dict[Action, frozenset[str]] = {
    Action.VIEW: frozenset({Role.EDITOR, Role.APPROVER, Role.AUDITOR, Role.ADMIN}),
    Action.SYNC: frozenset({Role.EDITOR, Role.APPROVER, Role.ADMIN}),
    Action.EDIT: frozenset({Role.EDITOR, Role.ADMIN}),
    Action.APPROVE: frozenset({Role.APPROVER}),
    Action.COMMENT: frozenset({Role.EDITOR, Role.APPROVER, Role.ADMIN}),
    Action.WITHDRAW_ANY: frozenset({Role.ADMIN}),
    Action.MANAGE: frozenset({Role.ADMIN}),
}

_ROLE_NAMES = frozenset(Role.values)


class _Roles:
    def __init__(self, everywhere: frozenset[str], per_target: dict[int, frozenset[str]]):
        self.everywhere = everywhere
        self.per_target = per_target

    def on(self, target: Target | None) -> frozenset[str]:
        if target is None:
            return self.everywhere
        return self.everywhere | self.per_target.get(target.pk, frozenset())


def _roles(user: User | AnonymousUser) -> _Roles:
    cached = getattr(user, "_frameworks_roles", None)
    if cached is not None:
        return cached
    if not user.is_authenticated or not user.is_active:
        roles = _Roles(frozenset(), {})
    else:
        everywhere = {name for name in user.groups.values_list("name", flat=True)} & _ROLE_NAMES
        if user.is_superuser:
            everywhere.add(Role.ADMIN)
        per_target: dict[int, set[str]] = {}
        for target_id, name in TargetRole.objects.filter(user=user).values_list(
            "target_id", "group__name"
        ):
            if name in _ROLE_NAMES:
                per_target.setdefault(target_id, set()).add(name)
        roles = _Roles(frozenset(everywhere), {k: frozenset(v) for k, v in per_target.items()})
    user._frameworks_roles = roles  # type: ignore[union-attr]
    return roles


def roles_on(user: User | AnonymousUser, target: Target | None) -> frozenset[str]:
    return _roles(user).on(target)


def can(user: User | AnonymousUser, action: Action, target: Target | None) -> bool:
    """May `user` take `action` on `target`? With target None: on every target."""
    return bool(roles_on(user, target) & ALLOWED[action])


def has_any_role(user: User | AnonymousUser) -> bool:
    roles = _roles(user)
    return bool(roles.everywhere or roles.per_target)


def require(user: User | AnonymousUser, action: Action, target: Target | None) -> None:
    if not can(user, action, target):
        raise PermissionDenied(f"You may not {action} here.")


#: What someone without a role on a target is told about anything of it, existing or not.
NOT_FOUND = "Nothing here, or nothing you may see."


def require_visible(user: User | AnonymousUser, target: Target | None) -> None:
    """404 unless `user` may view `target`: to someone with no role there, a target's
    frameworks, changes, events and exports do not exist, whether they do or not, so every
    URL naming one answers the same 404 (``views.refusals`` applies it to refusals too)."""
    if target is None or not can(user, Action.VIEW, target):
        raise Http404(NOT_FOUND)


def admins_of(target: Target | None) -> Q:
    """The active people who administer `target` (None: every target) as a user filter: the
    admin group, the admin role granted for that target, or superusers. Join the queryset
    with ``.distinct()``: one person may match through several of these."""
    q = Q(is_superuser=True) | Q(groups__name=Role.ADMIN)
    if target is not None:
        q |= Q(target_roles__target=target, target_roles__group__name=Role.ADMIN)
    return Q(is_active=True) & q


def can_anywhere(user: User | AnonymousUser, action: Action) -> bool:
    """May `user` take `action` on at least one target (everywhere, or one granted)?"""
    roles = _roles(user)
    return bool(roles.everywhere & ALLOWED[action]) or any(
        names & ALLOWED[action] for names in roles.per_target.values()
    )


def targets_for(user: User | AnonymousUser, action: Action) -> QuerySet[Target]:
    """The targets where `user` may take `action` (``Action.VIEW``: the ones they see)."""
    roles = _roles(user)
    if roles.everywhere & ALLOWED[action]:
        return Target.objects.all()
    ids = [tid for tid, names in roles.per_target.items() if names & ALLOWED[action]]
    return Target.objects.filter(pk__in=ids)
