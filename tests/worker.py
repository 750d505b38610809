"""A real Celery worker process for tests and the benchmark: ``celery -A config worker``.

Not eager mode and not a thread: a separate process (prefork by default, so that killing the pool
process running a task is what the kernel's OOM killer or an operator's ``kill -9`` does), with
beat embedded (``-B``) so the reconciler runs too. It shares with the test:

* **the database**: the test database pytest-django made, named in ``DATABASE_URL``. Only
  PostgreSQL can be shared (SQLite's test database lives in the test process's memory), so tests
  that use a worker are marked ``postgres``; they use ``transaction=True`` so that what they write
  is committed and the worker can see it;
* **the broker**: Redis (``CELERY_BROKER_URL``; tests are marked ``redis``), whose
  acknowledgements and redelivery are what the crash tests are about, on a queue of its own
  (``CELERY_QUEUE``, and ``routed_to`` for this process) so parallel test runs never take each
  other's messages;
* **AWS**: the test's private credentials files, and the emulator over TCP (the target's
  endpoint URL).

Timeouts, leases, backoff and the reconciler's interval are scaled down through the same
environment variables an operator would use.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent
CELERY = str(Path(sys.executable).with_name("celery"))

#: Settings for workers under test: everything a hundred times faster than in production.
FAST = {
    "AWS_CONNECT_TIMEOUT": "2",
    "AWS_READ_TIMEOUT": "5",
    "APPLY_LEASE_SECONDS": "8",
    "APPLY_POLL_INTERVAL_SECONDS": "0.1",
    "APPLY_DEPLOYMENT_WAIT_SECONDS": "10",
    "APPLY_RETRY_BASE_SECONDS": "0.05",
    "APPLY_RETRY_MAX_DELAY_SECONDS": "0.4",
    "APPLY_MAX_ATTEMPTS": "4",
    "APPLY_MAX_SECONDS": "120",
    "RECONCILE_INTERVAL_SECONDS": "0.5",
    "APPLY_REQUEUE_MIN_SECONDS": "3",
    "APPLY_REQUEUE_AFTER_SECONDS": "3",
}


def database_url() -> str:
    """The URL of the database this test process uses (the test database, not the real one)."""
    db = connection.settings_dict
    user = quote(db.get("USER") or "")
    password = quote(db.get("PASSWORD") or "")
    credentials = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host, port = db.get("HOST") or "127.0.0.1", db.get("PORT") or 5432
    return f"postgresql://{credentials}{host}:{port}/{db['NAME']}"


class Worker:
    """A running worker: its process, its log, and the folder its stage hooks watch."""

    def __init__(self, folder: Path, env: dict[str, str], command: list[str]) -> None:
        self.folder = folder
        self.env = env
        self.command = command
        self.queue = env["CELERY_QUEUE"]
        self.hooks = Path(env["APPLY_STAGE_HOOK_DIR"])
        self.log = folder / "worker.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60.0) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                self.command,
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: killpg reaches pool and beat
            )
        started = self.log.stat().st_size
        deadline = time.monotonic() + timeout
        while " ready." not in self.log.read_bytes()[started:].decode(errors="replace"):
            if not self.alive():
                raise RuntimeError(f"the worker exited at start-up:\n{self.tail()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the worker did not start in {timeout} s:\n{self.tail()}")
            time.sleep(0.1)

    def stop(self) -> None:
        """Warm shutdown (a running task finishes), then SIGKILL whatever is left."""
        if self.process is None:
            return
        if self.alive():
            os.killpg(self.process.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=15)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def kill(self) -> None:
        """SIGKILL the whole worker (parent, pool and beat) at once."""
        if self.process is not None and self.alive():
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def restart(self) -> None:
        self.stop()
        self.start()

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    # --- stage hooks: stop the worker at a stage, then kill it ---

    def arm(self, stage: str, change_id: int | None = None) -> None:
        """The next run to reach `stage` (for that change, or any) stops there and waits to be
        killed (see ``apply._stage``)."""
        name = f"{stage}.{change_id}.arm" if change_id else f"{stage}.arm"
        (self.hooks / name).write_text("")

    def disarm(self) -> None:
        for armed in self.hooks.glob("*.arm"):
            armed.unlink(missing_ok=True)

    def reached(self, stage: str) -> list[dict]:
        """The runs stopped at `stage` since the last call, each reported once."""
        found = []
        for marker in sorted(self.hooks.glob(f"{stage}.*.reached")):
            found.append(json.loads(marker.read_text()))
            marker.unlink()
        return found

    def wait_reached(self, stage: str, count: int = 1, timeout: float = 30.0) -> list[dict]:
        """Wait until `count` runs stop at `stage`: the pid and change of each."""
        found: list[dict] = []
        deadline = time.monotonic() + timeout
        while len(found) < count:
            found += self.reached(stage)
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{len(found)} of {count} runs reached stage {stage} in {timeout} s\n"
                    f"{self.tail()}"
                )
            if not self.alive():
                raise AssertionError(f"the worker exited\n{self.tail()}")
            time.sleep(0.02)
        return found

    # --- processes ---

    def pool_pids(self) -> list[int]:
        """The worker's child processes (the prefork pool and embedded beat)."""
        return children(self.process.pid) if self.process else []

    def rss_kb(self) -> int:
        """Resident memory of the worker and its children, in KiB (Linux /proc)."""
        if self.process is None:
            return 0
        return sum(rss_kb(pid) for pid in [self.process.pid, *self.pool_pids()])

    def tail(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return ""


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name may hold spaces and parentheses: the fields start after the last ")".
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid:
            found.append(int(entry.name))
    return found


def rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def worker_env(
    *, data_dir: Path, hooks: Path, queue: str, aws_files: Path | None, **overrides: str
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CELERY_", "APPLY_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        # The key approvals are signed with here, as web and worker share it in production:
        # the worker counts only approvals whose MAC it can verify.
        SECRET_KEY=settings.SECRET_KEY,
        APPROVAL_MAC_KEY=settings.APPROVAL_MAC_KEY,
        DEBUG="0",
        DATABASE_URL=database_url(),
        CELERY_BROKER_URL=settings.CELERY_BROKER_URL,
        CELERY_QUEUE=queue,
        DATA_DIR=str(data_dir),
        APPLY_STAGE_HOOK_DIR=str(hooks),
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])),
        LOG_LEVEL="INFO",
    )
    if aws_files is not None:
        env.update(
            AWS_SHARED_CREDENTIALS_FILE=str(aws_files / "credentials"),
            AWS_CONFIG_FILE=str(aws_files / "config"),
            AWS_EC2_METADATA_DISABLED="true",
        )
    env.update(FAST)
    env.update(overrides)
    return env


@contextmanager
def celery_worker(
    folder: Path,
    *,
    queue: str | None = None,
    aws_files: Path | None = None,
    concurrency: int = 1,
    pool: str = "prefork",
    beat: bool = True,
    consume: str = "both",
    **overrides: str,
) -> Iterator[Worker]:
    """Run ``celery -A config worker`` (`pool` with `concurrency` processes, beat embedded) on
    `queue` for the block. `consume`: "apply" (the apply queue only), "control" (sync and the
    reconciler only, as the Procfile's control worker) or "both". Needs PostgreSQL and Redis
    (see the module docstring)."""
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql" or not (
        settings.CELERY_BROKER_URL.startswith("redis")
    ):
        raise RuntimeError("a worker under test needs PostgreSQL and Redis (mark the test)")
    folder.mkdir(parents=True, exist_ok=True)
    hooks = folder / "hooks"
    hooks.mkdir(exist_ok=True)
    queue = queue or f"test-{uuid.uuid4().hex[:12]}"
    env = worker_env(data_dir=folder, hooks=hooks, queue=queue, aws_files=aws_files, **overrides)
    queues = {
        "apply": [queue],
        "control": [control_queue(queue)],
        "both": [queue, control_queue(queue)],
    }[consume]
    command = [
        CELERY,
        "-A",
        "config",
        "worker",
        "-Q",
        ",".join(queues),
        f"--pool={pool}",
        f"--concurrency={concurrency}",
        "--loglevel=INFO",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
        "-n",
        f"test-{uuid.uuid4().hex[:8]}@%h",
    ]
    if beat:
        command += ["-B", "-s", str(folder / "celerybeat-schedule")]
    worker = Worker(folder, env, command)
    try:
        worker.start()
        yield worker
    finally:
        worker.stop()


def control_queue(queue: str) -> str:
    """The queue sync and the reconciler use next to apply queue `queue` (config/settings.py)."""
    return f"{queue}-control"


@contextmanager
def routed_to(queue: str) -> Iterator[None]:
    """Send this process's tasks (approval's enqueue included) to `queue` for the block."""
    from config.celery import app

    before = app.conf.task_default_queue
    app.conf.task_default_queue = queue
    try:
        yield
    finally:
        app.conf.task_default_queue = before
