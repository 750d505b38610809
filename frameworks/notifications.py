"""E-mail about change requests, through Django's e-mail framework (the console in the demo).

Who hears what: the target's approvers when a change is submitted; the author when it is
approved, rejected, goes stale, is applied or fails. Messages are built inside the service's
transaction (so they describe the change as it was committed) and sent only once it commits: a
rolled-back transition sends nothing. A mail server that is down is logged, never raised: the
transition has already happened and the history already says so.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.db.models import Q, QuerySet
from django.urls import reverse

from frameworks import access, document
from frameworks.models import ChangeRequest, Role, Target

if TYPE_CHECKING:
    from django.contrib.auth.models import User

log = logging.getLogger(__name__)

#: What the author is told, per event: (subject, first line of the body).
AUTHOR_NEWS: dict[str, tuple[str, str]] = {
    "approved": ("approved", "Your change was approved and will be applied to AWS."),
    "rejected": ("rejected", "Your change was rejected."),
    "stale": (
        "needs a rebase",
        "The framework changed in AWS after you started this change. Rebase it onto the "
        "current document, check the difference again and submit it anew.",
    ),
    "applied": ("applied", "Your change was applied: AWS reports the framework deployed."),
    "failed": ("failed", "Your change could not be applied to AWS."),
    "unconfirmed": (
        "is not confirmed yet",
        "AWS accepted your change; its deployment could not be confirmed. The console checks "
        "again with AWS and will write when it knows whether the change was applied.",
    ),
}


def approvers_of(target: Target) -> QuerySet:
    """Active users who approve changes to `target` (the approver group, or the role granted
    for this target) and have an e-mail address."""
    return (
        get_user_model()
        .objects.filter(is_active=True)
        .exclude(email="")
        .filter(
            Q(groups__name=Role.APPROVER)
            | Q(target_roles__target=target, target_roles__group__name=Role.APPROVER)
        )
        .distinct()
        .order_by("pk")
    )


def _link(change: ChangeRequest) -> str:
    path = reverse("frameworks:change-detail", args=[change.pk])
    return getattr(settings, "SITE_URL", "").rstrip("/") + path


def _title(change: ChangeRequest) -> str:
    return (
        f"[{settings.SITE_NAME}] Change #{change.pk} to {change.framework_name} "
        f"in {change.target.display_name}"
    )


def _changes_text(change: ChangeRequest) -> str:
    base = change.base_version.as_document() if change.base_version is not None else None
    proposed = (
        change.proposed_version.as_document() if change.proposed_version is not None else None
    )
    return document.diff_text(document.diff(base, proposed))


def _send_on_commit(messages: list[EmailMessage]) -> None:
    if not messages:
        return

    def send() -> None:
        try:
            get_connection().send_messages(messages)
        except Exception:  # a mail server that is down must not undo or hide the transition
            log.exception("could not send %d e-mail(s) about a change request", len(messages))

    transaction.on_commit(send)


def change_submitted(change: ChangeRequest) -> None:
    """Tell every approver of the target (but the author) that a change awaits review."""
    body = (
        f"{change.author_name} asks you to review a change to {change.framework_name} in "
        f"{change.target.display_name}.\n\nReason:\n{change.reason}\n\n"
        f"What changes:\n{_changes_text(change)}\n\nReview it: {_link(change)}\n"
    )
    recipients = approvers_of(change.target)
    if change.author_id is not None:
        recipients = recipients.exclude(pk=change.author_id)
    messages = [
        EmailMessage(f"{_title(change)} awaits your review", body, to=[user.email])
        for user in recipients
    ]
    # The target's own notification addresses (a team's list, say) hear of every submission.
    approver_addresses = {user.email for user in recipients}
    watchers = [a for a in change.target.notify_emails if a not in approver_addresses]
    if watchers:
        messages.append(EmailMessage(f"{_title(change)} was submitted", body, to=watchers))
    _send_on_commit(messages)


def author_news(
    change: ChangeRequest, event: str, *, by: User | None = None, note: str = ""
) -> None:
    """Tell the author what happened to their change: approved, rejected, stale, applied,
    unconfirmed or failed (`note` is the reason of a rejection or the error of a failure)."""
    author = change.author
    if author is None or not author.is_active or not author.email or event not in AUTHOR_NEWS:
        return
    subject, first_line = AUTHOR_NEWS[event]
    lines = [first_line]
    if by is not None:
        lines.append(f"By: {by.get_username()}")
    if note:
        lines.append(f"\n{note}")
    lines.append(f"\nThe change: {_link(change)}")
    _send_on_commit(
        [EmailMessage(f"{_title(change)} {subject}", "\n".join(lines) + "\n", to=[author.email])]
    )


def failure_note(error: dict | None) -> str:
    """A failed change's error for its author: the words people are shown, and AWS's raw code."""
    error = error or {}
    words = error.get("words") or error.get("message") or "The apply worker gave up."
    code = error.get("code")
    return f"{words} ({code})" if code else str(words)


def admins_of(target: Target) -> QuerySet:
    """Active users who are admins of `target` (``access.admins_of``) and have an e-mail
    address."""
    return (
        get_user_model()
        .objects.filter(access.admins_of(target))
        .exclude(email="")
        .distinct()
        .order_by("pk")
    )


def changed_outside(target: Target, names: list[str]) -> None:
    """Tell the target's admins that sync found frameworks changed in AWS by someone other than
    this console (their IdempotencyToken is not one of ours): nobody reviewed those changes."""
    if not names:
        return
    audit = getattr(settings, "SITE_URL", "").rstrip("/") + reverse("audit:page")
    body = (
        f"Sync found {len(names)} framework{'' if len(names) == 1 else 's'} in "
        f"{target.name_and_region} changed in AWS outside this console, so "
        "without its review:\n\n"
        + "".join(f"- {name}\n" for name in names)
        + f"\nSee them on the audit page: {audit}?target={target.slug}&outside=1\n"
    )
    subject = f"[{settings.SITE_NAME}] Frameworks changed outside the console in {target}"
    _send_on_commit([EmailMessage(subject, body, to=[user.email]) for user in admins_of(target)])
