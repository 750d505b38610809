"""Start an emulator for a test: in this process (fast, with direct access to ``State``) or as a
``python -m backup_emulator`` subprocess (for tests whose other process, e.g. a Celery worker, must
reach it, or that exercise the command line itself).

Both bind 127.0.0.1 on a port the OS picks, so parallel test runs never collide, and both stop
cleanly (no thread, socket or process left behind), which ``filterwarnings = ["error"]`` insists on.

Both take ``roles=["ACCOUNT:NAME[:EXTERNAL_ID]", ...]`` and
``recording=["ACCOUNT:REGION:SETTING", ...]`` in the command line's syntax (see ``__main__``), and
``seed="demo"`` (or a seed file's path) for the demo roles, recording and frameworks.
"""

from __future__ import annotations

import os
import re
import selectors
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .control import EmulatorControl
from .identity import parse_role_spec
from .recording import parse_spec
from .seed import seed_demo
from .server import EmulatorServer
from .state import State

LISTENING = re.compile(rb"backup emulator listening on (http://\S+)")
CLI_FLAGS = {
    "deploy_seconds": "--deploy-seconds",
    "max_frameworks": "--max-frameworks",
    "max_controls": "--max-controls",
    "seed": "--seed",
    "state_file": "--state",
    "roles": "--role",
    "recording": "--recording",
}


@dataclass
class RunningEmulator:
    """What a test gets: the endpoint URL, a control client and (in-process only) the model."""

    url: str
    control: EmulatorControl
    state: State | None = None


@contextmanager
def running_emulator(
    *,
    deploy_seconds: float = 2.0,
    max_frameworks: int = 15,
    max_controls: int = 50,
    state_file: str | os.PathLike[str] | None = None,
    seed: str | None = None,
    roles: list[str] | None = None,
    recording: list[str] | None = None,
    verbose: bool = False,
) -> Iterator[RunningEmulator]:
    """Serve an emulator from a background thread of this process for the ``with`` block."""
    state = State(
        deploy_seconds=deploy_seconds,
        max_frameworks=max_frameworks,
        max_controls=max_controls,
        state_file=state_file,
    )
    if seed:
        seed_demo(state, seed)
    recordings = {}
    for spec in recording or []:
        account, region, value = parse_spec(spec)
        recordings[(account, region)] = value
    state.set_defaults(roles=[parse_role_spec(r) for r in roles or []], recordings=recordings)
    server = EmulatorServer(("127.0.0.1", 0), state, verbose=verbose)
    # A short poll interval: shutdown() waits for the next poll, and tests start and stop often.
    thread = threading.Thread(
        target=server.serve_forever, args=(0.02,), name="backup-emulator", daemon=True
    )
    thread.start()
    try:
        yield RunningEmulator(url=server.url, control=EmulatorControl(server.url), state=state)
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@contextmanager
def spawned_emulator(*, startup_timeout: float = 20.0, **config: Any) -> Iterator[RunningEmulator]:
    """Run ``python -m backup_emulator`` on a free port for the ``with`` block (no ``.state``).

    ``config`` takes the keyword arguments of ``running_emulator`` (except ``verbose``)."""
    command = [sys.executable, "-m", "backup_emulator", "--host", "127.0.0.1", "--port", "0"]
    for key, value in config.items():
        if key not in CLI_FLAGS:
            raise TypeError(f"spawned_emulator() got an unexpected keyword argument {key!r}")
        if isinstance(value, list | tuple):
            for item in value:
                command += [CLI_FLAGS[key], str(item)]
        elif value is not None:
            command += [CLI_FLAGS[key], str(value)]
    env = dict(os.environ)
    package_root = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, env.get("PYTHONPATH")]))
    process = subprocess.Popen(command, stdout=subprocess.PIPE, env=env)  # noqa: S603
    try:
        url = _wait_for_listening_line(process, startup_timeout)
        yield RunningEmulator(url=url, control=EmulatorControl(url))
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        assert process.stdout is not None
        process.stdout.close()


def _wait_for_listening_line(process: subprocess.Popen[bytes], timeout: float) -> str:
    assert process.stdout is not None
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise RuntimeError(f"the emulator did not start within {timeout} s")
            if not selector.select(remaining):
                continue
            line = process.stdout.readline()
            if not line:
                raise RuntimeError(f"the emulator exited with code {process.wait()}")
            match = LISTENING.search(line)
            if match:
                return match.group(1).decode()
