"""Benchmark: applying approved changes with Celery against a bare boto3 thread pool.

In one run, against one emulator (a subprocess) that adds 50 ms to every call and deploys at once:

1. **Bare**: a thread pool of WORKERS threads makes, for each of N frameworks, the calls one
   apply needs (DescribeFramework, UpdateFramework with a token, DescribeFramework until
   COMPLETED), with nothing else: the floor.
2. **Celery**: N approved changes on N other frameworks, enqueued at once, applied by WORKERS
   real ``celery worker --pool=solo`` processes (``--pool prefork``: one worker with WORKERS pool
   processes) with PostgreSQL, Redis, every history row and lease.

The two alternate in CHUNKS rounds, so that load from elsewhere on the machine falls on both.

Prints both throughputs and their ratio (must be at least MIN_RATIO), and the median time from
approval to applied (LATENCY_CHANGES changes approved one at a time, so no queueing) minus the
median bare sequence: what the product adds to one change (at most MAX_ADDED_MS).
Then ``--memory-applies`` (2,000) more applies (no added latency) while sampling the workers'
resident memory: it must not grow by more than MAX_MEMORY_GROWTH (the last quarter of the samples
against the first quarter after warm-up). Exits 1 if either bound is missed.

The changes are approved directly in the database, each with a signed approval (the review path
has its own tests); the apply path is the product's own. Needs PostgreSQL and Redis
(DATABASE_URL / CELERY_BROKER_URL, default local ones, Redis database 14); it uses a database
of its own, ``bench_apply_<random>``, made afresh and dropped at the end (so that benches run
side by side never share one).
Run with ``make bench`` or ``.venv/bin/python bench/bench_apply.py [--changes N]``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MIN_RATIO = 0.85
MAX_ADDED_MS = 25.0
MAX_MEMORY_GROWTH = 0.05  # of the warm resident size
WORKERS = 2
LATENCY = 0.05
LATENCY_CHANGES = 20
CHUNKS = 4
ACCOUNT = "111111111111"
REGION = "eu-west-1"


DB_NAME = f"bench_apply_{uuid.uuid4().hex[:10]}"


def _database_urls() -> tuple[str, str]:
    """(server URL to create the bench database from, the bench database's URL)."""
    base = os.environ.get("DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/test"
    parts = urlsplit(base)
    return (
        urlunsplit(parts._replace(path="/postgres")),
        urlunsplit(parts._replace(path=f"/{DB_NAME}")),
    )


def _drop_database() -> None:
    import psycopg

    server, _ = _database_urls()
    with psycopg.connect(server, autocommit=True, connect_timeout=3) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")


def _services_or_skip() -> tuple[str, str]:
    import psycopg
    import redis

    server, bench_db = _database_urls()
    broker = os.environ.get("CELERY_BROKER_URL") or "redis://127.0.0.1:6379/14"
    try:
        with psycopg.connect(server, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f"CREATE DATABASE {DB_NAME}")
        redis.Redis.from_url(broker, socket_connect_timeout=3).ping()
    except (psycopg.Error, redis.RedisError, OSError) as error:
        message = f"bench_apply: needs PostgreSQL and Redis ({error}); run `make test-services`"
        if os.environ.get("CI") == "true":
            sys.exit(message)
        print(f"SKIPPED {message}")
        sys.exit(0)
    return bench_db, broker


def _setup_django(bench_db: str, broker: str, aws_dir: Path) -> None:
    (aws_dir / "credentials").write_text(
        f"[bench]\naws_access_key_id = {ACCOUNT}\naws_secret_access_key = bench\n"
    )
    (aws_dir / "config").write_text("")
    os.environ.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        SECRET_KEY="bench-" + "x" * 50,
        DEBUG="0",
        DATABASE_URL=bench_db,
        CELERY_BROKER_URL=broker,
        CELERY_QUEUE=f"bench-{uuid.uuid4().hex[:8]}",
        DATA_DIR=str(aws_dir),
        AWS_SHARED_CREDENTIALS_FILE=str(aws_dir / "credentials"),
        AWS_CONFIG_FILE=str(aws_dir / "config"),
        AWS_EC2_METADATA_DISABLED="true",
        LOG_LEVEL="WARNING",
    )
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _controls(days: int) -> list[dict]:
    return [
        {
            "ControlName": "BACKUP_RECOVERY_POINT_MINIMUM_RETENTION_CHECK",
            "ControlInputParameters": [
                {"ParameterName": "requiredRetentionDays", "ParameterValue": str(days)}
            ],
        }
    ]


def _client(url: str):
    import boto3
    from botocore.config import Config

    # The same client settings as the product's apply path: one HTTP request per call.
    config = Config(retries={"mode": "standard", "total_max_attempts": 1}, max_pool_connections=20)
    return boto3.Session(profile_name="bench", region_name=REGION).client(
        "backup", endpoint_url=url, config=config
    )


def _create(client, names: list[str], first_days: int) -> None:
    with ThreadPoolExecutor(8) as pool:
        list(
            pool.map(
                lambda item: client.create_framework(
                    FrameworkName=item[1], FrameworkControls=_controls(first_days + item[0])
                ),
                enumerate(names),
            )
        )


def bare(client, names: list[str], first_days: int, workers: int) -> tuple[float, list[float]]:
    """The floor: describe, update with a token, describe until COMPLETED; WORKERS threads."""

    def one(name: str) -> float:
        i = _number(name)
        started = time.perf_counter()
        client.describe_framework(FrameworkName=name)
        client.update_framework(
            FrameworkName=name,
            FrameworkControls=_controls(first_days + i + 5000),
            IdempotencyToken=f"bare-{name}",
        )
        while client.describe_framework(FrameworkName=name)["DeploymentStatus"] != "COMPLETED":
            time.sleep(0.01)
        return time.perf_counter() - started

    started = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        durations = list(pool.map(one, names))
    return time.perf_counter() - started, durations


def _approve_all(target, names: list[str], days_for) -> list[int]:
    """Approved update changes, one per framework, straight into the database."""
    from django.utils import timezone

    from frameworks import approvals, document
    from frameworks.models import (
        Approval,
        ChangeKind,
        ChangeRequest,
        ChangeState,
        Decision,
        DocumentVersion,
        Framework,
    )

    # The mirror is current: synced once at the start, then written by every apply.
    frameworks = {f.name: f for f in Framework.objects.filter(target=target, name__in=names)}
    now = timezone.now()
    changes = []
    for name in names:
        framework = frameworks[name]
        base = DocumentVersion.record(document.parse(framework.api_document()))
        working = {"FrameworkName": name, "FrameworkControls": _controls(days_for(name))}
        proposed = DocumentVersion.record(document.parse(working))
        changes.append(
            ChangeRequest(
                kind=ChangeKind.UPDATE,
                target=target,
                framework_name=name,
                framework=framework,
                base_version=base,
                proposed_version=proposed,
                working_document=working,
                author_name="bench",
                reason="bench",
                state=ChangeState.APPROVED,
                updated_at=now,
                enqueued_at=now,
            )
        )
    made = ChangeRequest.objects.bulk_create(changes)
    # The worker sends only what a signed approval approved: one per change, signed with the
    # key this process and the worker share (the environment's SECRET_KEY).
    given = []
    for change in made:
        approval = Approval(
            change_request=change,
            reviewer_name="bench-approver",
            decision=Decision.APPROVE,
            content_hash=change.review_hash,
            created_at=now,
        )
        approval.mac = approvals.sign(approval, change)
        given.append(approval)
    Approval.objects.bulk_create(given)
    return [c.pk for c in made]


def _wait_applied(ids: list[int], timeout: float, worker) -> None:
    from frameworks.models import ChangeRequest

    deadline = time.monotonic() + timeout
    while ChangeRequest.objects.filter(pk__in=ids).exclude(state="applied").exists():
        bad = ChangeRequest.objects.filter(pk__in=ids, state__in=["failed", "stale"]).first()
        if bad is not None:
            sys.exit(f"change {bad.pk} ended {bad.state}: {bad.last_error}\n{worker.tail()}")
        if time.monotonic() > deadline:
            sys.exit(f"not all changes were applied in {timeout} s\n{worker.tail()}")
        time.sleep(0.2)  # the times measured come from the database, not from this loop


def celery_run(target, names: list[str], first_days: int, worker) -> float:
    """All changes approved at once; the time until the last one is applied."""
    from frameworks import tasks
    from frameworks.models import ChangeRequest

    ids = _approve_all(target, names, lambda name: first_days + _number(name) + 5000)
    started = time.time()
    for pk in ids:
        tasks.apply_change.delay(pk)
    _wait_applied(ids, timeout=600, worker=worker)
    applied = ChangeRequest.objects.filter(pk__in=ids).values_list("applied_at", flat=True)
    return max(applied).timestamp() - started


class Workers:
    """One or more worker processes seen as one: the processes that run tasks, their memory."""

    def __init__(self, started: list) -> None:
        self.started = started

    def pids(self) -> list[int]:
        pids = []
        for worker in self.started:
            pids += (
                worker.pool_pids() if "--pool=prefork" in worker.command else [worker.process.pid]
            )
        return pids

    def rss_kb(self) -> int:
        return sum(worker.rss_kb() for worker in self.started)

    def tail(self) -> str:
        return "\n".join(worker.tail(20) for worker in self.started)


def _cpu_seconds(worker: Workers) -> float:
    """CPU time used so far by the processes that run tasks (Linux /proc, clock ticks)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in worker.pids():
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def _number(name: str) -> int:
    return int(name.lstrip("abcdefghijklmnopqrstuvwxyz"))


def latency_run(target, names: list[str], first_days: int, worker) -> list[float]:
    """One change at a time: approval to applied, as one person approving sees it."""
    from frameworks import tasks
    from frameworks.models import ChangeRequest

    durations = []
    for name in names:
        (pk,) = _approve_all(target, [name], lambda name: first_days + _number(name) + 10000)
        approved_at = time.time()
        tasks.apply_change.delay(pk)
        _wait_applied([pk], timeout=60, worker=worker)
        durations.append(ChangeRequest.objects.get(pk=pk).applied_at.timestamp() - approved_at)
    return durations


def memory_run(target, names: list[str], first_days: int, applies: int, worker) -> list[int]:
    """Rounds of one change per framework until `applies`; the pool's RSS after each round."""
    from frameworks import tasks

    samples = []
    rounds = max(1, applies // len(names))
    for r in range(rounds):
        ids = _approve_all(
            target, names, lambda name, r=r: first_days + 20000 + r * 1000 + _number(name)
        )
        for pk in ids:
            tasks.apply_change.delay(pk)
        _wait_applied(ids, timeout=600, worker=worker)
        samples.append(worker.rss_kb())
    return samples


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=200)
    parser.add_argument("--memory-applies", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=WORKERS)
    parser.add_argument("--pool", choices=["solo", "prefork"], default="solo")
    args = parser.parse_args()

    bench_db, broker = _services_or_skip()
    try:
        return _bench(args, bench_db, broker)
    finally:
        from django.db import connections

        connections.close_all()
        _drop_database()


def _bench(args: argparse.Namespace, bench_db: str, broker: str) -> int:
    workers = args.workers
    n = args.changes
    aws_dir = Path(tempfile.mkdtemp(prefix="bench-apply-"))
    _setup_django(bench_db, broker, aws_dir)

    from backup_emulator.testing import spawned_emulator
    from frameworks import services
    from frameworks.models import Target
    from tests.worker import celery_worker, routed_to

    with spawned_emulator(
        deploy_seconds=0, max_frameworks=4 * n + 10, max_controls=8 * n + 10
    ) as emu:
        client = _client(emu.url)
        bare_names = [f"bare{i}" for i in range(n)]
        fw_names = [f"fw{i}" for i in range(n)]
        _create(client, bare_names, 1000)
        _create(client, fw_names, 100000)
        target = Target.objects.create(
            slug="bench",
            display_name="Bench",
            region=REGION,
            profile="bench",
            endpoint_url=emu.url,
            max_frameworks=4 * n + 10,
            max_controls=8 * n + 10,
        )
        services.target_sync(target_id=target.pk)
        overrides = {
            # Production's timings, except polling (deployments finish at once here).
            "AWS_CONNECT_TIMEOUT": "5",
            "AWS_READ_TIMEOUT": "20",
            "APPLY_LEASE_SECONDS": "40",
            "APPLY_MAX_ATTEMPTS": "8",
            "LOG_LEVEL": "WARNING",
        }
        queue = f"bench-{uuid.uuid4().hex[:8]}"
        with contextlib.ExitStack() as stack:
            # Solo workers: each process takes its own messages and runs them (no pool hop).
            # With prefork, one parent hands messages to `workers` pool processes instead.
            if args.pool == "solo":
                started = [
                    stack.enter_context(
                        celery_worker(
                            aws_dir / f"worker{i}",
                            queue=queue,
                            pool="solo",
                            beat=False,
                            aws_files=aws_dir,
                            **overrides,
                        )
                    )
                    for i in range(workers)
                ]
            else:
                started = [
                    stack.enter_context(
                        celery_worker(
                            aws_dir / "worker",
                            queue=queue,
                            concurrency=workers,
                            beat=False,
                            aws_files=aws_dir,
                            **overrides,
                        )
                    )
                ]
            worker = Workers(started)
            stack.enter_context(routed_to(queue))
            emu.control.set_latency(LATENCY)
            # Alternating chunks, so that load from elsewhere on the machine falls on both.
            bare_seconds, celery_seconds, bare_each = 0.0, 0.0, []
            cpu_before = _cpu_seconds(worker)
            for chunk in range(CHUNKS):
                seconds, each = bare(client, bare_names[chunk::CHUNKS], 1000, workers)
                bare_seconds += seconds
                bare_each += each
                celery_seconds += celery_run(target, fw_names[chunk::CHUNKS], 100000, worker)
            worker_cpu = (_cpu_seconds(worker) - cpu_before) / n
            celery_each = latency_run(target, fw_names[:LATENCY_CHANGES], 100000, worker)
            emu.control.set_latency(0)

            calls = emu.control.calls()
            effective = [c for c in calls if c["operation"] == "UpdateFramework" and c["effective"]]
            assert len(effective) == 2 * n + LATENCY_CHANGES, len(effective)

            samples = memory_run(target, fw_names, 100000, args.memory_applies, worker)

    bare_rate, celery_rate = n / bare_seconds, n / celery_seconds
    ratio = celery_rate / bare_rate
    added = statistics.median(celery_each) - statistics.median(bare_each)
    quarter = max(1, len(samples) // 4)
    warm = statistics.median(samples[1 : 1 + quarter] or samples[:1])
    last = statistics.median(samples[-quarter:])
    growth = (last - warm) / warm if warm else 0.0

    latency_ms = LATENCY * 1000
    print(f"machine load (1, 5, 15 min): {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(
        f"changes                    : {n} on {n} frameworks, {workers} workers, "
        f"+{latency_ms:.0f} ms per call"
    )
    print(f"bare boto3 thread pool     : {bare_rate:7.2f} changes/s ({bare_seconds:.2f} s)")
    print(f"Celery worker              : {celery_rate:7.2f} changes/s ({celery_seconds:.2f} s)")
    print(f"throughput ratio           : {ratio:7.3f} (at least {MIN_RATIO:.3f})")
    print(f"worker CPU per change      : {worker_cpu * 1000:7.1f} ms ({args.pool} workers)")
    print(
        f"median approval to applied : {statistics.median(celery_each) * 1000:7.0f} ms "
        f"({LATENCY_CHANGES} changes approved one at a time)"
    )
    print(f"median bare sequence       : {statistics.median(bare_each) * 1000:7.0f} ms")
    print(f"median added per change    : {added * 1000:7.1f} ms (at most {MAX_ADDED_MS:.1f} ms)")
    print(
        f"worker memory              : {warm / 1024:.1f} MiB warm, {last / 1024:.1f} MiB after "
        f"{len(samples) * n} applies ({growth:+.3f}, at most {MAX_MEMORY_GROWTH:+.3f})"
    )
    print(f"memory samples (MiB)       : {' '.join(f'{s / 1024:.1f}' for s in samples)}")
    failed = []
    if ratio < MIN_RATIO:
        failed.append(f"throughput ratio {ratio:.3f} is below {MIN_RATIO:.3f}")
    if added * 1000 > MAX_ADDED_MS:
        failed.append(f"added per change {added * 1000:.1f} ms is above {MAX_ADDED_MS:.1f} ms")
    if growth > MAX_MEMORY_GROWTH:
        failed.append(f"worker memory grew {growth:+.3%}, more than {MAX_MEMORY_GROWTH:+.3%}")
    for failure in failed:
        print(f"FAILED: {failure}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
