"""Thin Celery tasks: they take ids and call a service."""

from __future__ import annotations

import logging
from typing import Any

from celery import current_app, shared_task
from celery.contrib.django.task import DjangoTask
from django.conf import settings

from frameworks import apply
from frameworks.services import sync

log = logging.getLogger(__name__)


@shared_task(acks_late=True, ignore_result=True)
def sync_frameworks(target_slugs: list[str] | None = None) -> None:
    """Run by beat on SYNC_INTERVAL_SECONDS and by the "sync now" button."""
    for result in sync.sync_all(target_slugs=target_slugs):
        log.info("sync %s", result)


@shared_task(
    base=DjangoTask,  # what the Django fixup uses anyway; named so the types know delay_on_commit
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
    soft_time_limit=settings.APPLY_TASK_SOFT_TIME_LIMIT,
    time_limit=settings.APPLY_TASK_TIME_LIMIT,
    # The attempt counter in the database is the real bound (it also counts crashed runs);
    # this only stops Celery from retrying forever if the database could not say so.
    max_retries=settings.APPLY_MAX_ATTEMPTS,
)
def apply_change(self: DjangoTask[[int], str], change_id: int) -> str:
    """Apply one approved change (enqueued on approval and by the reconciler). A transient
    error comes back as a retry after the delay apply.py chose (full-jitter backoff)."""
    result = apply.change_request_apply(
        change_id=change_id, task_id=self.request.id or "", retries=self.request.retries
    )
    log.info("change %s: %s %s", change_id, result.outcome, result.detail)
    if result.retry_in is not None:
        raise self.retry(countdown=result.retry_in)
    return result.outcome


def apply_queue_depth() -> int | None:
    """How many apply messages wait in the broker (None if the broker cannot say)."""
    try:
        with current_app.connection_for_read() as connection:
            channel: Any = connection.default_channel  # kombu's virtual channel declares queues
            declared = channel.queue_declare(
                queue=current_app.conf.task_default_queue, passive=True
            )
            return int(declared.message_count)
    except Exception as exc:
        log.warning("apply queue depth unknown: %s", exc)
        return None


@shared_task(acks_late=True, ignore_result=True)
def reconcile() -> None:
    """Run by beat every RECONCILE_INTERVAL_SECONDS on the control queue: hand back expired
    leases, settle unconfirmed changes, re-enqueue what the broker lost."""
    for change_id in apply.changes_reconcile(queue_depth=apply_queue_depth()):
        apply_change.delay(change_id)
