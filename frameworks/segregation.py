"""Four eyes that one administrator cannot get around: which approvals count.

An approval of a change counts only if no single person set up both the author's and the
approver's standing on the change's target without a second administrator confirming it.
"Set up" means an access change that gives standing (``models.SETS_UP``: creating the account,
reactivating it, resetting its password, granting a role, everywhere or on that target) that is
in effect and unconfirmed. The author and the approver are themselves counted among the people
behind their own standing, so an author who set up the approver (the puppet approver) and one
person behind both (two puppets) are both caught. Changes made on the command line or by the
identity provider have no person behind them here: whoever holds the server or the provider is
trusted with it.

The rule is read where approvals are counted: the approve service (``services.review``), the
worker's check of each request just before it is sent (``approvals.counting_approvals``, after
the MACs, so a forged approval and a puppet's cannot make up the number between them), and the
change page.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from django.contrib.auth import get_user_model
from django.db.models import Q

from frameworks import access
from frameworks.models import SETS_UP, AccessChange, AccessState, Role, TargetRole

if TYPE_CHECKING:
    from frameworks.models import Approval, ChangeRequest, Target


@dataclass(frozen=True)
class Verdict:
    approval: Approval
    counts: bool
    reason: str = ""


def _setters(
    change: ChangeRequest, user_ids: set[int]
) -> dict[int, list[tuple[int, str, datetime]]]:
    """For each user: who (id, name, when) set up their standing on the change's target
    without confirmation. One query, none when there is nobody to ask about."""
    if not user_ids:
        return {}
    rows = AccessChange.objects.filter(
        Q(target__isnull=True) | Q(target_id=change.target_id),
        subject_id__in=user_ids,
        state=AccessState.APPLIED,
        confirmed_by__isnull=True,
        kind__in=list(SETS_UP),
        actor__isnull=False,
    ).values_list("subject_id", "actor_id", "actor_name", "created_at")
    found: dict[int, list[tuple[int, str, datetime]]] = defaultdict(list)
    for subject_id, actor_id, actor_name, created_at in rows:
        found[subject_id].append((actor_id, actor_name, created_at))
    return found


def _behind(
    setters: dict[int, list[tuple[int, str, datetime]]], user_id: int, name: str, when: datetime
) -> dict[int, str]:
    """The people behind `user_id`'s standing as it was at `when`: themselves, and whoever set
    it up unconfirmed before then."""
    found = {
        actor_id: actor_name for actor_id, actor_name, at in setters.get(user_id, []) if at <= when
    }
    found[user_id] = name
    return found


def verdicts(change: ChangeRequest, approvals: list[Approval]) -> list[Verdict]:
    """Whether each of `approvals` (of `change`) counts, and if not, why in words."""
    if not approvals:
        return []
    author_id = change.author_id
    ids = {a.reviewer_id for a in approvals if a.reviewer_id is not None}
    if author_id is not None:
        ids.add(author_id)
    setters = _setters(change, ids)
    result = []
    for approval in approvals:
        # Standing as it was when the approval was given: a later grant or reset cannot undo
        # an approval (a later confirmation can still make one count).
        when = approval.created_at
        behind_author = (
            _behind(setters, author_id, change.author_name, when) if author_id is not None else {}
        )
        behind = (
            _behind(setters, approval.reviewer_id, approval.reviewer_name, when)
            if approval.reviewer_id is not None
            else {}
        )
        shared = sorted(set(behind) & set(behind_author))
        if not shared:
            result.append(Verdict(approval, True))
            continue
        who = behind.get(shared[0]) or behind_author[shared[0]]
        if shared[0] == author_id:
            reason = (
                f"{who}, the author, set up {approval.reviewer_name}'s standing here without a "
                "second administrator confirming it."
            )
        elif shared[0] == approval.reviewer_id:
            reason = (
                f"{who} set up the author's standing here without a second administrator "
                "confirming it."
            )
        else:
            reason = (
                f"{who} set up both the author's and {approval.reviewer_name}'s standing here "
                "without a second administrator confirming it."
            )
        result.append(Verdict(approval, False, reason))
    return result


def approval_counts(change: ChangeRequest, approval: Approval) -> tuple[bool, str]:
    """Does `approval` count toward `change`? With the reason in words when it does not."""
    verdict = verdicts(change, [approval])[0]
    return verdict.counts, verdict.reason


def admin_counts(targets: list[Target]) -> dict[int, int]:
    """How many active people administer each of `targets` (everywhere, or on it; superusers
    too). Two queries however many targets."""
    everywhere = set(
        get_user_model()
        .objects.filter(is_active=True)
        .filter(Q(is_superuser=True) | Q(groups__name=Role.ADMIN))
        .values_list("pk", flat=True)
    )
    on_target: dict[int, set[int]] = defaultdict(set)
    for target_id, user_id in TargetRole.objects.filter(
        target__in=targets, group__name=Role.ADMIN, user__is_active=True
    ).values_list("target_id", "user_id"):
        on_target[target_id].add(user_id)
    return {t.pk: len(everywhere | on_target[t.pk]) for t in targets}


def unguarded(targets: list[Target]) -> list[Target]:
    """The ones of `targets` where four eyes cannot be guaranteed (see below)."""
    counts = admin_counts(targets)
    return [t for t in targets if counts[t.pk] < 2]


def four_eyes_guaranteed(target: Target) -> bool:
    """With fewer than two administrators, one of them can set up both sides of a change and
    nobody is there to confirm it: the rule above still holds, but cannot be confirmed away."""
    admins = get_user_model().objects.filter(access.admins_of(target)).distinct()
    return admins.count() >= 2  # one query, for a page about one target
