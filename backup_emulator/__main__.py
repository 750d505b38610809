"""Command line of the emulator.

``python -m backup_emulator --host 127.0.0.1 --port PORT [--seed demo|FILE] [--state FILE]
[--role ACCOUNT:NAME[:EXTERNAL_ID] ...] [--recording ACCOUNT:REGION:SETTING ...]``

``--role`` adds an IAM role that AssumeRole can assume (``identity.py``); ``--recording`` sets
what AWS Config records in one account and Region, SETTING being ``all``, ``none`` (no recorder),
``stopped``, ``unavailable``, ``only=AWS::EC2::Volume,...`` or ``except=AWS::EC2::Volume,...``
(``recording.py``). Both repeat, and come on top of (and win over) what ``--seed`` sets.

Prints exactly one line, ``backup emulator listening on http://HOST:PORT`` (with the real port when
``--port 0``), so scripts and ``testing.spawned_emulator`` can wait for it. SIGTERM and SIGINT stop
the server cleanly: serving runs in a thread and the main thread only waits for a signal, because
``shutdown()`` called from a signal handler on the serving thread would deadlock.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from types import FrameType

from .identity import parse_role_spec
from .recording import parse_spec
from .seed import seed_demo
from .server import EmulatorServer
from .state import State


def _role(spec: str) -> object:
    try:
        return parse_role_spec(spec)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _recording(spec: str) -> object:
    try:
        return parse_spec(spec)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m backup_emulator",
        description="Emulator of the AWS Backup framework API (REST-JSON, as botocore speaks it).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=4566, help="port to bind; 0 picks a free one")
    parser.add_argument(
        "--seed",
        metavar="demo|FILE",
        help="demo roles and recording, and demo frameworks when the state is empty "
        "(or the same from a seed FILE)",
    )
    parser.add_argument("--state", metavar="FILE", help="load from and save every change to FILE")
    parser.add_argument(
        "--deploy-seconds",
        type=float,
        default=2.0,
        help="how long a deployment stays *_IN_PROGRESS (default 2.0; 0 completes at once)",
    )
    parser.add_argument("--max-frameworks", type=int, default=15, help="quota per account+Region")
    parser.add_argument("--max-controls", type=int, default=50, help="quota per account+Region")
    parser.add_argument(
        "--role",
        action="append",
        default=[],
        type=_role,
        metavar="ACCOUNT:NAME[:EXTERNAL_ID]",
        help="an IAM role AssumeRole can assume (repeat for more)",
    )
    parser.add_argument(
        "--recording",
        action="append",
        default=[],
        type=_recording,
        metavar="ACCOUNT:REGION:SETTING",
        help="what AWS Config records there: all, none, stopped, unavailable, only=TYPES, "
        "except=TYPES (TYPES comma-separated AWS::Service::Type; repeat for more)",
    )
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    state = State(
        deploy_seconds=args.deploy_seconds,
        max_frameworks=args.max_frameworks,
        max_controls=args.max_controls,
        state_file=args.state,
    )
    if args.seed:
        seed_demo(state, args.seed)
    state.set_defaults(
        roles=args.role,
        recordings={(account, region): value for account, region, value in args.recording},
    )
    server = EmulatorServer((args.host, args.port), state, verbose=args.verbose)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    thread = threading.Thread(target=server.serve_forever, args=(0.1,), name="backup-emulator")
    thread.start()
    print(f"backup emulator listening on {server.url}", flush=True)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
    return 0


if __name__ == "__main__":
    sys.exit(main())
