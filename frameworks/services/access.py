"""Access: create, deactivate and reactivate accounts, reset passwords, grant and remove roles,
and the second administrator's confirmation of those changes.

The rules (the README's "Four eyes and access changes" says why):

- Roles on one target are given and taken by administrators of that target; roles on every
  target, accounts and passwords by administrators of every target.
- Nobody changes their own standing: no role for oneself, no reset of one's own password here,
  no deactivating oneself. ``is_superuser`` and ``is_staff`` are not parameters of any service:
  they are set on the command line only, and a superuser's account is not changed here at all.
- A change that gives someone standing (an account, a reactivation, a password someone else
  knows, a role) waits for a second administrator of its scope when the scope has one
  (``pending``); where it has none, it takes effect at once, unconfirmed, and the four-eyes rule
  (``frameworks.segregation``) does not count approvals that rest on it until a second
  administrator confirms it. Taking standing away (removing a role, deactivating) takes effect
  at once: it must never wait.

Each service is one transaction that writes an ``AccessChange`` and one history row (actor,
subject, before, after); refusals are recorded like every other refusal.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.utils import timezone

from frameworks import access, history
from frameworks.access import Action
from frameworks.models import (
    SETS_UP,
    AccessChange,
    AccessKind,
    AccessState,
    Event,
    Role,
    Target,
    TargetRole,
)
from frameworks.services.base import Call, TransitionRefused, service

if TYPE_CHECKING:
    from django.contrib.auth.models import User

#: The history event of each kind once it takes effect.
EVENTS = {
    AccessKind.CREATE_USER: Event.USER_CREATED,
    AccessKind.DEACTIVATE: Event.USER_DEACTIVATED,
    AccessKind.REACTIVATE: Event.USER_REACTIVATED,
    AccessKind.RESET_PASSWORD: Event.PASSWORD_RESET,
    AccessKind.GRANT: Event.ROLE_GRANTED,
    AccessKind.REMOVE: Event.ROLE_REMOVED,
}

#: The fields a person's account gets from the create page; nothing else is accepted.
PERSON_FIELDS = ("username", "email", "first_name", "last_name")

IDENTITY_PROVIDER = "identity provider"

_RACED = "Someone else decided on this access change at the same moment; reload and try again."


def standing(user: User) -> dict[str, Any]:
    """A person's standing as history rows keep it: active or not, roles everywhere and per
    target (by slug)."""
    everywhere = sorted(
        set(user.groups.filter(name__in=Role.values).values_list("name", flat=True))
    )
    per_target: dict[str, list[str]] = {}
    for slug, name in (
        TargetRole.objects.filter(user=user)
        .order_by("target__slug", "group__name")
        .values_list("target__slug", "group__name")
    ):
        per_target.setdefault(slug, []).append(name)
    return {
        "username": user.get_username(),
        "active": user.is_active,
        "superuser": user.is_superuser,
        "roles_everywhere": everywhere,
        "roles_per_target": per_target,
    }


# --- guards --------------------------------------------------------------------------------


def _load_person(call: Call, user_id: int) -> User:
    person = get_user_model().objects.filter(pk=user_id).first()
    if person is None:
        raise call.refuse(f"There is no person #{user_id}.", "not_found")
    return person


def _load_target(call: Call, target_id: int | None) -> Target | None:
    if target_id is None:
        return None
    target = Target.objects.filter(pk=target_id).first()
    if target is None:
        raise call.refuse(f"There is no target #{target_id}.", "not_found")
    call.target = target
    return target


def _require_admin(call: Call, target: Target | None, what: str) -> None:
    if target is None:
        message = f"Only administrators of every target may {what}."
    else:
        message = f"Only administrators of {target} may {what}."
    if not access.can(call.person, Action.MANAGE, target):
        raise call.refuse(message, "not_admin", permission=True)


def _require_other(call: Call, person: User, what: str) -> None:
    if person.pk == call.person.pk:
        raise call.refuse(
            f"You cannot {what} yourself; another administrator must.", "self", permission=True
        )
    if person.is_superuser:
        raise call.refuse(
            f"{person.get_username()} is a superuser: their account is managed on the command "
            "line only.",
            "superuser",
            permission=True,
        )


def _role(call: Call, role: str) -> Group:
    if role not in Role.values:
        raise call.refuse(f"Role: there is no role named {role!r}.", "invalid")
    group, _ = Group.objects.get_or_create(name=role)
    return group


def second_admins(actor: User, target: Target | None) -> int:
    """How many administrators of the scope other than `actor` could confirm a change."""
    return (
        get_user_model()
        .objects.filter(access.admins_of(target))
        .exclude(pk=actor.pk)
        .distinct()
        .count()
    )


# --- recording and applying ------------------------------------------------------------------


def _take_effect(change: AccessChange) -> None:
    person = change.subject
    if change.kind in (AccessKind.CREATE_USER, AccessKind.REACTIVATE):
        person.is_active = True
        person.save(update_fields=["is_active"])
    elif change.kind == AccessKind.DEACTIVATE:
        person.is_active = False
        person.save(update_fields=["is_active"])
    elif change.kind == AccessKind.RESET_PASSWORD:
        person.password = change.password_hash
        person.save(update_fields=["password"])  # sealed by frameworks.integrity
        change.password_hash = ""
    elif change.kind == AccessKind.GRANT:
        assert change.group is not None
        if change.target_id is None:
            person.groups.add(change.group)
        else:
            TargetRole.objects.get_or_create(
                user=person, group=change.group, target_id=change.target_id
            )
    elif change.kind == AccessKind.REMOVE:
        assert change.group is not None
        if change.target_id is None:
            person.groups.remove(change.group)
        else:
            TargetRole.objects.filter(
                user=person, group=change.group, target_id=change.target_id
            ).delete()
    # Cached roles would still show the old standing to this request.
    person.__dict__.pop("_frameworks_roles", None)


def _details(change: AccessChange, before: dict[str, Any], after: dict[str, Any]) -> dict:
    return {
        "subject": f"user {change.subject.get_username()}",
        "subject_id": change.subject_id,
        "access_change_id": change.pk,
        "kind": change.kind,
        "role": change.role_name,
        "where": change.where,
        "words": change.words,
        "state": change.state,
        "confirmed_by": change.confirmed_by_name,
        "before": before,
        "after": after,
    }


def _make(
    call: Call,
    actor_name: str,
    kind: str,
    person: User,
    *,
    target: Target | None = None,
    group: Group | None = None,
    password_hash: str = "",
    wait: bool | None = None,
) -> AccessChange:
    """Record an access change and, unless it waits for a second administrator, apply it."""
    if wait is None:
        wait = kind in SETS_UP and second_admins(call.person, target) > 0
    change = AccessChange.objects.create(
        kind=kind,
        state=AccessState.PENDING if wait else AccessState.APPLIED,
        actor=call.user,
        actor_name=actor_name,
        subject=person,
        group=group,
        target=target,
        password_hash=password_hash,
        decided_at=None if wait else timezone.now(),
    )
    before = standing(person)
    if not wait:
        _take_effect(change)
        if change.password_hash != password_hash:
            change.save(update_fields=["password_hash"])
    after = standing(person)
    details = _details(change, before, after)
    if wait:
        details["message"] = "Waits for a second administrator to confirm it."
    history.append(
        Event.ACCESS_PENDING if wait else EVENTS[AccessKind(kind)],
        call.actor,
        target=target,
        details=details,
    )
    return change


def _check_password(call: Call, person: User, password: str) -> str:
    try:
        password_validation.validate_password(password, person)
    except ValidationError as exc:
        raise call.refuse(f"Temporary password: {' '.join(exc.messages)}", "invalid") from None
    return make_password(password)


# --- the services ----------------------------------------------------------------------------


@service
def person_create(*, user: User, values: dict[str, Any], password: str) -> AccessChange:
    """An administrator of every target creates an account with a temporary password, which
    they hand to the person. With a second such administrator, the account stays inactive
    until that one confirms it."""
    call = Call.for_user(user, "create a person")
    _require_admin(call, None, "create accounts")
    unknown = set(values) - set(PERSON_FIELDS)
    if unknown:
        raise call.refuse(f"These cannot be set here: {', '.join(sorted(unknown))}.", "invalid")
    username = str(values.get("username") or "").strip()
    if not username:
        raise call.refuse("User name: enter a user name.", "invalid")
    model = get_user_model()
    if model.objects.filter(username__iexact=username).exists():
        raise call.refuse(f"User name: {username} is taken.", "taken")
    person = model(**{**values, "username": username}, is_active=False)
    try:
        person.full_clean(exclude=["password"])
    except ValidationError as exc:
        field, errors = next(iter(exc.message_dict.items()))
        label = field.replace("_", " ").capitalize()
        raise call.refuse(f"{label}: {' '.join(errors)}", "invalid") from None
    person.password = _check_password(call, person, password)
    person.save()
    return _make(call, user.get_username(), AccessKind.CREATE_USER, person)


@service
def person_deactivate(*, user: User, person_id: int) -> AccessChange | None:
    """An administrator of every target deactivates someone else's account at once: they can
    no longer sign in, and their roles stay for the record. Already inactive: nothing done."""
    call = Call.for_user(user, "deactivate a person")
    person = _load_person(call, person_id)
    _require_admin(call, None, "deactivate accounts")
    _require_other(call, person, "deactivate")
    if not person.is_active:
        return None
    return _make(call, user.get_username(), AccessKind.DEACTIVATE, person, wait=False)


@service
def person_reactivate(*, user: User, person_id: int) -> AccessChange | None:
    """An administrator of every target reactivates someone else's account (waiting for a
    second administrator where there is one). Already active: nothing done."""
    call = Call.for_user(user, "reactivate a person")
    person = _load_person(call, person_id)
    _require_admin(call, None, "reactivate accounts")
    _require_other(call, person, "reactivate")
    if person.is_active or _pending(person, AccessKind.REACTIVATE).exists():
        return None
    return _make(call, user.get_username(), AccessKind.REACTIVATE, person)


@service
def person_reset_password(*, user: User, person_id: int, password: str) -> AccessChange:
    """An administrator of every target gives someone else a temporary password (checked by
    Django's password validators) to hand over; the person should change it at once. It
    waits for a second administrator where there is one."""
    call = Call.for_user(user, "reset a password")
    person = _load_person(call, person_id)
    _require_admin(call, None, "reset passwords")
    _require_other(call, person, "reset the password of")
    hashed = _check_password(call, person, password)
    _pending(person, AccessKind.RESET_PASSWORD).update(
        state=AccessState.CANCELLED, password_hash="", decided_at=timezone.now()
    )
    return _make(call, user.get_username(), AccessKind.RESET_PASSWORD, person, password_hash=hashed)


@service
def role_grant(
    *, user: User, person_id: int, role: str, target_id: int | None = None
) -> AccessChange | None:
    """An administrator of the target (of every target, for a role everywhere) gives someone
    else a role; it waits for a second administrator of that scope where there is one. A role
    already held or already waiting: nothing done."""
    call = Call.for_user(user, "grant a role")
    person = _load_person(call, person_id)
    target = _load_target(call, target_id)
    _require_admin(call, target, "grant roles there")
    _require_other(call, person, "grant a role to")
    group = _role(call, role)
    if _holds(person, group, target) or _pending(person, AccessKind.GRANT, group, target).exists():
        return None
    return _make(call, user.get_username(), AccessKind.GRANT, person, target=target, group=group)


@service
def role_remove(
    *, user: User, person_id: int, role: str, target_id: int | None = None
) -> AccessChange | None:
    """An administrator of the target (of every target, for a role everywhere) takes a role
    from someone else, at once. A role not held: nothing done (a pending grant of it is
    cancelled)."""
    call = Call.for_user(user, "remove a role")
    person = _load_person(call, person_id)
    target = _load_target(call, target_id)
    _require_admin(call, target, "remove roles there")
    _require_other(call, person, "remove a role from")
    group = _role(call, role)
    _pending(person, AccessKind.GRANT, group, target).update(
        state=AccessState.CANCELLED, decided_at=timezone.now()
    )
    if not _holds(person, group, target):
        return None
    return _make(
        call, user.get_username(), AccessKind.REMOVE, person, target=target, group=group, wait=False
    )


def _holds(person: User, group: Group, target: Target | None) -> bool:
    if target is None:
        return person.groups.filter(pk=group.pk).exists()
    return TargetRole.objects.filter(user=person, group=group, target=target).exists()


def _pending(
    person: User, kind: str, group: Group | None = None, target: Target | None = None
) -> Any:
    rows = AccessChange.objects.filter(subject=person, kind=kind, state=AccessState.PENDING)
    if group is not None:
        rows = rows.filter(group=group, target=target)
    return rows


def _load_change(call: Call, change_id: int) -> AccessChange:
    change = (
        AccessChange.objects.select_related("subject", "group", "target")
        .filter(pk=change_id)
        .first()
    )
    if change is None:
        raise call.refuse(f"There is no access change #{change_id}.", "not_found")
    call.target = change.target
    return change


def guard_confirm(call: Call, change: AccessChange, what: str) -> None:
    """A second administrator of the change's scope, neither who asked for it nor whom it is
    about, decides on a change that gives standing."""
    _require_admin(call, change.target, f"{what} access changes there")
    if change.actor_id == call.person.pk:
        raise call.refuse(
            f"You asked for this access change; another administrator must {what} it.",
            "four_eyes",
            permission=True,
        )
    if change.subject_id == call.person.pk:
        raise call.refuse(
            f"This access change is about you; another administrator must {what} it.",
            "self",
            permission=True,
        )
    if change.kind not in SETS_UP:
        raise call.refuse("Taking access away needs no confirmation.", "not_needed")


@service
def access_change_confirm(*, user: User, change_id: int) -> AccessChange:
    """A second administrator confirms an access change: a pending one takes effect now; one
    already in effect (made where there was no second administrator) becomes confirmed, so
    approvals resting on it count. Confirming again does nothing."""
    call = Call.for_user(user, "confirm an access change")
    change = _load_change(call, change_id)
    guard_confirm(call, change, "confirm")
    if change.confirmed_by_id is not None:
        return change
    if change.state not in (AccessState.PENDING, AccessState.APPLIED):
        raise call.refuse(
            f"This access change is {change.get_state_display().lower()}.", "not_pending"
        )
    before = standing(change.subject)
    took_effect = change.state == AccessState.PENDING
    updated = AccessChange.objects.filter(
        pk=change.pk, state=change.state, confirmed_by__isnull=True
    ).update(
        state=AccessState.APPLIED,
        confirmed_by=user,
        confirmed_by_name=user.get_username(),
        decided_at=timezone.now() if took_effect else change.decided_at,
    )
    if updated != 1:
        raise call.refuse(_RACED, "conflict")
    change.refresh_from_db()
    if took_effect:
        _take_effect(change)
        change.save(update_fields=["password_hash"])
    details = _details(change, before, standing(change.subject))
    details.update(took_effect_now=took_effect, asked_by=change.actor_name)
    history.append(Event.ACCESS_CONFIRMED, call.actor, target=change.target, details=details)
    return change


@service
def access_change_decline(*, user: User, change_id: int) -> AccessChange:
    """A second administrator declines a pending access change: it never takes effect (a
    declined new account stays inactive)."""
    call = Call.for_user(user, "decline an access change")
    change = _load_change(call, change_id)
    guard_confirm(call, change, "decline")
    if change.state != AccessState.PENDING:
        raise call.refuse(
            f"This access change is {change.get_state_display().lower()}; only one awaiting "
            "confirmation can be declined.",
            "not_pending",
        )
    before = standing(change.subject)
    updated = AccessChange.objects.filter(pk=change.pk, state=AccessState.PENDING).update(
        state=AccessState.DECLINED,
        password_hash="",
        confirmed_by=None,
        confirmed_by_name=user.get_username(),
        decided_at=timezone.now(),
    )
    if updated != 1:
        raise call.refuse(_RACED, "conflict")
    change.refresh_from_db()
    details = _details(change, before, standing(change.subject))
    details["asked_by"] = change.actor_name
    history.append(Event.ACCESS_DECLINED, call.actor, target=change.target, details=details)
    return change


def may_confirm(user: User, change: AccessChange) -> bool:
    """Would ``access_change_confirm`` pass its guards for `user`? For the page's buttons."""
    call = Call.for_user(user, "confirm an access change", target=change.target)
    try:
        guard_confirm(call, change, "confirm")
    except TransitionRefused:
        return False
    return change.confirmed_by_id is None and change.state in (
        AccessState.PENDING,
        AccessState.APPLIED,
    )


# --- the identity provider ---------------------------------------------------------------------


@service
def roles_from_identity_provider(*, person: User, wanted: set[str], managed: set[str]) -> int:
    """The identity provider's groups claim sets `person`'s roles everywhere, for the roles it
    manages (`managed`). The provider is the authority for those roles: its changes take effect
    at once, recorded with the actor "identity provider". Returns how many changed."""
    actor = history.Actor.system(IDENTITY_PROVIDER)
    call = Call(action="roles from the identity provider", actor=actor)
    held = set(person.groups.filter(name__in=managed).values_list("name", flat=True))
    changes = 0
    for role in sorted(managed):
        if role not in Role.values:
            continue
        kind = AccessKind.GRANT if role in wanted else AccessKind.REMOVE
        if (role in held) == (kind == AccessKind.GRANT):
            continue
        group, _ = Group.objects.get_or_create(name=role)
        _make(call, IDENTITY_PROVIDER, kind, person, group=group, wait=False)
        changes += 1
    return changes
