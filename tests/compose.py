"""Which compose client this machine has, for the tests that check compose.yaml without an engine.

`docker compose config` (the plugin) and `docker-compose config` (Debian's docker-compose 1.29,
which .ci/run installs where the plugin is missing) both parse and validate the file without a
Docker engine; either is enough to prove the file is what compose accepts.
"""

from __future__ import annotations

import shutil
import subprocess

import pytest


def compose_command() -> list[str]:
    """The compose client as an argv prefix; skips the test where there is none."""
    docker = shutil.which("docker")
    if (
        docker
        and not subprocess.run(
            [docker, "compose", "version"], capture_output=True, check=False
        ).returncode
    ):
        return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    if legacy:
        return [legacy]
    pytest.skip("no compose client here (the Docker compose plugin or Debian's docker-compose)")
