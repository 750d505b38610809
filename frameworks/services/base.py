"""What every change-request service shares: the refusal exceptions, the conditional move,
and the wrapper that makes a service one transaction and records its refusals.

Import the exceptions from ``frameworks.services``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from frameworks import access, document, history
from frameworks.access import Action
from frameworks.history import Actor, Entry
from frameworks.models import ChangeRequest, ChangeState, Event, Outcome, Target

if TYPE_CHECKING:
    from django.contrib.auth.models import User


class TransitionRefused(Exception):
    """A service refused to do what it was asked; nothing changed.

    ``message`` is for people, ``code`` for programs and tests, ``findings`` the validator's
    findings when a document was the reason.
    """

    def __init__(
        self, message: str, code: str, *, findings: list[document.Finding] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.findings = list(findings or [])
        self.call: Call | None = None


class PermissionRefused(TransitionRefused, PermissionDenied):
    """Refused because of who asked. A PermissionDenied, so a view that lets it through
    answers 403; views that show refusals as messages must re-raise this one."""


@dataclass
class Call:
    """Who is calling which service about what: enough to record a refusal."""

    action: str
    actor: Actor
    user: User | None = None
    change: ChangeRequest | None = None
    change_id: int | None = None
    target: Target | None = None
    framework_name: str = ""

    @classmethod
    def for_user(cls, user: User, action: str, **fields: Any) -> Call:
        return cls(action, Actor.for_user(user), user=user, **fields)

    @property
    def person(self) -> User:
        """The user a person's service acts for; only the worker's calls have none."""
        if self.user is None:
            raise TypeError(f"{self.action} is done by a person, and this call has none")
        return self.user

    def refuse(
        self,
        message: str,
        code: str,
        *,
        permission: bool = False,
        findings: list[document.Finding] | None = None,
    ) -> TransitionRefused:
        refusal = (PermissionRefused if permission else TransitionRefused)(
            message, code, findings=findings
        )
        refusal.call = self
        return refusal


def load(call: Call, change_id: int) -> ChangeRequest:
    """The change request, or a refusal naming the unknown id."""
    call.change_id = change_id
    try:
        # The author too: most transitions tell them by e-mail.
        change = ChangeRequest.objects.select_related(
            "target", "base_version", "proposed_version", "author"
        ).get(pk=change_id)
    except ChangeRequest.DoesNotExist:
        raise call.refuse(f"There is no change request #{change_id}.", "not_found") from None
    call.change, call.target, call.framework_name = change, change.target, change.framework_name
    return change


def move(
    call: Call,
    change: ChangeRequest,
    *,
    to: str | None = None,
    expected_version: int | None = None,
    **fields: Any,
) -> None:
    """UPDATE the change only if it is still at the version and state this call read, and bump
    its version: two racing transitions cannot both win. `to` is the new state (None keeps it).
    The in-memory object follows only when the update happened."""
    expected = change.version if expected_version is None else expected_version
    now = timezone.now()
    values: dict[str, Any] = {"version": F("version") + 1, "updated_at": now, **fields}
    if to is not None:
        values["state"] = to
    updated = ChangeRequest.objects.filter(
        pk=change.pk, version=expected, state=change.state
    ).update(**values)
    if updated != 1:
        raise call.refuse(
            "Someone else changed this change request at the same moment; reload it and try again.",
            "conflict",
        )
    for name, value in fields.items():
        setattr(change, name, value)
    change.version, change.updated_at = expected + 1, now
    if to is not None:
        change.state = to


def _refusal_entry(refusal: TransitionRefused) -> Entry:
    call = refusal.call
    assert call is not None
    change = call.change
    denied = isinstance(refusal, PermissionRefused)
    details: dict[str, Any] = {
        "action": call.action,
        "code": refusal.code,
        "message": refusal.message,
    }
    if change is not None:
        details.update(state=change.state, version=change.version)
    elif call.change_id is not None:
        details["change_request_id"] = call.change_id
    if refusal.findings:
        details["findings"] = [str(f) for f in refusal.findings]
    return Entry(
        Event.ACCESS_DENIED if denied else Event.REFUSED,
        call.actor,
        outcome=Outcome.DENIED if denied else Outcome.REFUSED,
        target=call.target,
        framework_name=call.framework_name,
        change_request=change,
        details=details,
    )


P = ParamSpec("P")
R = TypeVar("R")


def service(func: Callable[P, R]) -> Callable[P, R]:
    """Run a service in one transaction under one correlation id. When it refuses, roll that
    transaction back, record the refusal in a transaction of its own, and re-raise."""

    @functools.wraps(func)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        with history.correlation():
            try:
                with transaction.atomic():
                    return func(*args, **kwargs)
            except TransitionRefused as refusal:
                if refusal.call is not None:
                    history.append_many([_refusal_entry(refusal)])
                raise

    return run


# --- guards shared by the services ---------------------------------------------------------


def require(call: Call, action: Action, message: str, code: str) -> None:
    if not access.can(call.person, action, call.target):
        raise call.refuse(message, code, permission=True)


def require_author(call: Call, change: ChangeRequest, what: str) -> None:
    """The author, still an editor of the target, is the only one who may `what`."""
    require(call, Action.EDIT, "You may not edit changes to this target.", "not_editor")
    if change.author_id is None or change.author_id != call.person.pk:
        raise call.refuse(
            f"Only the author of this change ({change.author_name}) may {what} it.",
            "not_author",
            permission=True,
        )


# Irregular participles, so refusals never read "approveed" or "submited".


_PARTICIPLES = {
    "approve": "approved",
    "rebase": "rebased",
    "submit": "submitted",
    "withdraw": "withdrawn",
}


def require_state(call: Call, change: ChangeRequest, *states: str, what: str) -> None:
    if change.state in states:
        return
    if change.state == ChangeState.STALE:
        message = (
            f"This change is stale: {change.framework_name} changed in AWS after it was "
            f"written. Its author must rebase it before anyone can {what} it."
        )
    else:
        done = _PARTICIPLES.get(what, f"{what}ed")
        message = f"This change is {change.get_state_display().lower()}; it cannot be {done}."
    raise call.refuse(message, f"not_{'_or_'.join(states)}")


def require_text(call: Call, text: str, kind: str, label: str) -> str:
    """``text`` stripped, refused when the database cannot keep it (``document.unstorable``)
    or it is longer than fields of ``kind`` take (``document.TEXT_LIMITS``, the numbers the
    forms check first): the same rule for whichever caller, forms or not."""
    text = (text or "").strip()
    problem = document.unstorable(text)
    if problem:
        raise call.refuse(f"{label} {document.UNSTORABLE_WORDS[problem]}.", "unstorable")
    limit = document.text_limit(kind)
    if len(text) > limit:
        raise call.refuse(
            f"{label} is {len(text):,} characters long; at most {limit:,} are kept.", "too_long"
        )
    return text


def require_reason(call: Call, reason: str, what: str) -> str:
    reason = require_text(call, reason, "reason", "The reason")
    if not reason:
        raise call.refuse(f"Give a reason to {what}.", "reason_required")
    return reason


def load_for_user(user: User, action: str, change_id: int) -> tuple[Call, ChangeRequest]:
    call = Call.for_user(user, action)
    change = load(call, change_id)
    require(call, Action.VIEW, "You have no role on this target.", "no_role")
    return call, change
