"""Thin Celery tasks: they take ids and call a service."""

from __future__ import annotations

import logging

from celery import shared_task

from frameworks import services

log = logging.getLogger(__name__)


@shared_task(acks_late=True, ignore_result=True)
def sync_frameworks(target_slugs: list[str] | None = None) -> None:
    """Run by beat on SYNC_INTERVAL_SECONDS and by the "sync now" button."""
    for result in services.sync_all(target_slugs=target_slugs):
        log.info("sync %s", result)
