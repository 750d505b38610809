"""What a person may do to a change now, for the page's buttons: each service's own guard,
asked without acting. A button is shown exactly when its service would pass its guards on
who is asking and the change's state (what it then says about the content is its own)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from frameworks.access import Action
from frameworks.models import ChangeRequest, ChangeState
from frameworks.services.base import Call, TransitionRefused, require
from frameworks.services.drafts import guard_draft, guard_start_from
from frameworks.services.review import (
    check_base,
    guard_comment,
    guard_rebase,
    guard_reopen,
    guard_review,
    guard_submit,
    guard_withdraw,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import User


@dataclass(frozen=True)
class AllowedActions:
    submit: bool = False
    approve: bool = False
    reject: bool = False
    reopen: bool = False
    withdraw: bool = False
    rebase: bool = False
    comment: bool = False
    start_from: bool = False
    edit: bool = False
    discard: bool = False

    @property
    def decisions(self) -> bool:
        """Any action of the page's "Your decision" box (comments have their own)."""
        return any(getattr(self, name) for name in DECISIONS)


DECISIONS = (
    "submit",
    "approve",
    "reject",
    "reopen",
    "withdraw",
    "rebase",
    "start_from",
    "edit",
    "discard",
)


def _passes(guard: Callable[[], object]) -> bool:
    try:
        guard()
    except TransitionRefused:
        return False
    return True


def allowed_actions(user: User, change: ChangeRequest) -> AllowedActions:
    """The services ``user`` may call on ``change`` now. Needs the change's target and its
    framework loaded (the change page selects them); asks the database nothing more."""
    call = Call.for_user(
        user,
        "allowed_actions",
        change=change,
        change_id=change.pk,
        target=change.target,
        framework_name=change.framework_name,
    )
    if not _passes(lambda: require(call, Action.VIEW, "", "no_role")):
        return AllowedActions()
    review_hash = change.review_hash or ""
    return AllowedActions(
        submit=_passes(lambda: guard_submit(call, change)),
        approve=_passes(lambda: guard_review(call, change, review_hash, "approve")),
        reject=_passes(lambda: guard_review(call, change, review_hash, "reject")),
        reopen=_passes(lambda: guard_reopen(call, change)),
        withdraw=_passes(lambda: guard_withdraw(call, change)),
        # Offered to a draft only when submit would ask for it: its base moved in AWS.
        rebase=_passes(lambda: guard_rebase(call, change))
        and (
            change.state == ChangeState.STALE
            or not _passes(lambda: check_base(call, change, change.framework))
        ),
        comment=_passes(lambda: guard_comment(call, change)),
        start_from=_passes(lambda: guard_start_from(call, change)),
        edit=_passes(lambda: guard_draft(call, change, "edit")),
        discard=_passes(lambda: guard_draft(call, change, "discard")),
    )
