"""What /metrics reports, in the Prometheus format: read from the database (and the broker)
at each scrape, so every web process reports the same numbers and nothing is kept in memory.

Numbers that only grow (apply attempts, errors) are counters over the history, which keeps every
attempt; the rest are gauges of the current state.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db.models import Count, Min, OuterRef, Subquery
from django.utils import timezone
from kombu import Connection
from kombu.exceptions import ChannelError
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from frameworks.models import ChangeRequest, ChangeState, Event, HistoryEvent, Target

log = logging.getLogger(__name__)

PREFIX = "backup_frameworks"


def _age(now: datetime, then: datetime | None) -> float | None:
    return None if then is None else max(0.0, (now - then).total_seconds())


def oldest_approved_at() -> datetime | None:
    """When the longest-waiting approved (or applying) change reached approval: its last
    approval (history_change_idx)."""
    approved_at = (
        HistoryEvent.objects.filter(change_request=OuterRef("pk"), event=Event.APPROVED)
        .order_by("-id")
        .values("created_at")[:1]
    )
    return (
        ChangeRequest.objects.filter(state__in=[ChangeState.APPROVED, ChangeState.APPLYING])
        .annotate(approved_at=Subquery(approved_at))
        .aggregate(oldest=Min("approved_at"))["oldest"]
    )


def broker_connection() -> Connection:
    """A new connection to the configured broker (no pool: it answers for the broker as it is
    now)."""
    return Connection(
        settings.CELERY_BROKER_URL,
        transport_options=settings.CELERY_BROKER_TRANSPORT_OPTIONS,
        connect_timeout=2,
    )


def queue_depth() -> int | None:
    """Messages waiting in the worker's queue, or None when the broker cannot say."""
    try:
        with broker_connection() as connection:
            connection.ensure_connection(max_retries=1, timeout=2)
            channel: Any = connection.default_channel  # kombu's virtual channel
            try:
                declared = channel.queue_declare(
                    queue=settings.CELERY_TASK_DEFAULT_QUEUE, passive=True
                )
            except ChannelError:
                return 0  # no worker has declared the queue yet: nothing waits in it
            return int(declared.message_count)
    except Exception:  # a broker that is down is what the metric is absent for
        log.warning("could not read the queue depth from the broker", exc_info=True)
        return None


def _checkpoint_reader() -> Callable[[], datetime | None] | None:
    """The time of the history's last checkpoint, when this build has checkpoints (the audit
    read side's ``latest_checkpoint``); otherwise the metric is left out rather than made up."""
    try:
        audit = importlib.import_module("frameworks.queries.audit")
    except ImportError:
        return None
    latest = audit.latest_checkpoint

    def read() -> datetime | None:
        checkpoint = latest()
        return None if checkpoint is None else checkpoint.created_at

    return read


class ConsoleCollector(Collector):
    def collect(self) -> Iterator[Metric]:
        now = timezone.now()

        changes = GaugeMetricFamily(
            f"{PREFIX}_changes", "Change requests by state.", labels=["state"]
        )
        counts = dict(ChangeRequest.objects.values_list("state").annotate(n=Count("pk")).order_by())
        for state in ChangeState.values:
            changes.add_metric([state], counts.get(state, 0))
        yield changes

        oldest = GaugeMetricFamily(
            f"{PREFIX}_oldest_approved_change_age_seconds",
            "How long the longest-waiting approved change has waited to be applied (0: none).",
        )
        oldest.add_metric([], _age(now, oldest_approved_at()) or 0.0)
        yield oldest

        depth = queue_depth()
        if depth is not None:
            queue = GaugeMetricFamily(
                f"{PREFIX}_queue_depth", "Messages waiting in the worker's queue.", labels=["queue"]
            )
            queue.add_metric([settings.CELERY_TASK_DEFAULT_QUEUE], depth)
            yield queue

        attempts = CounterMetricFamily(
            f"{PREFIX}_apply_attempts", "Calls to AWS made to apply changes."
        )
        attempts.add_metric([], HistoryEvent.objects.filter(event=Event.ATTEMPT_STARTED).count())
        yield attempts

        errors = CounterMetricFamily(
            f"{PREFIX}_apply_errors",
            "Failed calls to AWS while applying changes, by AWS's error code.",
            labels=["code"],
        )
        by_code = (
            HistoryEvent.objects.filter(event=Event.ATTEMPT_FAILED)
            .values_list("details__error__code")
            .annotate(n=Count("pk"))
            .order_by()
        )
        for code, n in by_code:
            errors.add_metric([code or "unknown"], n)
        yield errors

        sync_age = GaugeMetricFamily(
            f"{PREFIX}_sync_age_seconds",
            "Time since each target in service was last synced with AWS.",
            labels=["target"],
        )
        never = GaugeMetricFamily(
            f"{PREFIX}_target_never_synced", "1 for a target never synced.", labels=["target"]
        )
        for slug, synced_at in Target.objects.filter(retired_at__isnull=True).values_list(
            "slug", "last_synced_at"
        ):
            age = _age(now, synced_at)
            if age is None:
                never.add_metric([slug], 1)
            else:
                sync_age.add_metric([slug], age)
        yield sync_age
        yield never

        reader = _checkpoint_reader()
        if reader is not None:
            checkpoint = GaugeMetricFamily(
                f"{PREFIX}_history_checkpoint_age_seconds",
                "Time since the last checkpoint of the history's hash chain.",
            )
            age = _age(now, reader())
            if age is not None:
                checkpoint.add_metric([], age)
                yield checkpoint
