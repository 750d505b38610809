"""Before `make demo` starts anything: check that its ports are free, then write the demo's
environment to .env, so `.venv/bin/python manage.py <command>` works later in any shell.

Usage: demo_preflight.py ENV_FILE NAME=VALUE... (PORT and EMULATOR_PORT are checked).
"""

from __future__ import annotations

import socket
import sys
from pathlib import Path

MARKER = "# Written by `make demo`"
# Which variable picks another port, per variable holding one.
PORTS = {"WEB_PORT": "PORT", "EMULATOR_PORT": "EMULATOR_PORT"}


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def main(argv: list[str]) -> int:
    env_file, pairs = Path(argv[0]), argv[1:]
    values = dict(pair.split("=", 1) for pair in pairs)
    for name, chooser in PORTS.items():
        port = int(values[name])
        if not port_is_free(port):
            print(
                f"Port {port} is in use on 127.0.0.1: stop what uses it, or choose another "
                f"with `make demo {chooser}=<port>`.",
                file=sys.stderr,
            )
            return 1
    if env_file.exists() and MARKER not in env_file.read_text():
        print(
            f"{env_file} exists and was not written by `make demo`: move it away, or run the "
            "demo with `make demo ENV_FILE=<another file>`.",
            file=sys.stderr,
        )
        return 1
    lines = [MARKER + "; it is written again at every run.", *pairs]
    env_file.write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
