"""Every command the README names, run as written (placeholders filled in), in a fresh
environment: an emulator started by the README's own command, a new SQLite database, the demo's
targets. Commands that need a Docker engine are checked as far as the Docker client allows."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.compose import compose_command
from tests.test_configuration import PRODUCTION_VALUES

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def readme_commands() -> list[str]:
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", README, re.S):
        for line in block.replace("\\\n", " ").splitlines():
            line = "" if line.strip().startswith("#") else line.split(" # ")[0]
            if line.strip():
                commands.append(re.sub(r"\s+", " ", line.strip()))
    return commands


COMPOSE_SECRETS = {
    "SECRET_KEY": "x",
    "SITE_URL": "https://backup.example.com",
    "DB_OWNER_PASSWORD": "o",
    "DB_APP_PASSWORD": "a",
}
# Commands that need a Docker engine: none here; the client checks what it can without one.
DOCKER = {
    "docker build -t backup-frameworks-console:latest .",
    "SECRET_KEY=$(openssl rand -hex 32) SITE_URL=https://backup.example.com "
    "DB_OWNER_PASSWORD=$(openssl rand -hex 16) DB_APP_PASSWORD=$(openssl rand -hex 16) "
    "docker compose up -d",
    "docker compose up -d --scale worker=4",
    "docker compose build && docker compose up -d",
    "docker compose exec db pg_dump -U postgres -Fc frameworks > frameworks-$(date +%F).dump",
}
# The database roles' procedure: PostgreSQL only, run in order on a database of its own by
# test_the_database_roles_procedure_runs_as_written.
POSTGRES = [
    "DB_OWNER_PASSWORD=... DB_APP_PASSWORD=... .venv/bin/python manage.py db_roles --create "
    "--owner-role backup_owner --app-role backup_app",
    "DATABASE_URL=$DATABASE_OWNER_URL .venv/bin/python manage.py migrate",
    "DATABASE_URL=$DATABASE_OWNER_URL .venv/bin/python manage.py db_roles --app-role backup_app",
    ".venv/bin/python manage.py db_roles --create --owner-role backup_owner --app-role backup_app "
    "--print-sql > roles.sql",
]
# Long-running make targets: their recipes are checked (make -n), the parts run below.
MAKE = {"make demo", "make test"}
# The rest, with their placeholders filled in (see `run`).
FILLED = {
    ".venv/bin/python manage.py migrate": ".venv/bin/python manage.py migrate",
    ".venv/bin/python manage.py createsuperuser --noinput": None,
    ".venv/bin/python manage.py verify_history": ".venv/bin/python manage.py verify_history",
    ".venv/bin/python manage.py sync_frameworks [--target SLUG ...] [--wait SECONDS]": (
        ".venv/bin/python manage.py sync_frameworks --wait 30"
    ),
    ".venv/bin/python manage.py validate_framework FILE...": (
        ".venv/bin/python manage.py validate_framework {tmp}/fw.json"
    ),
    ".venv/bin/python manage.py history_key --generate /etc/backup-frameworks/history-key.pem": (
        ".venv/bin/python manage.py history_key --generate {tmp}/history-key.pem"
    ),
    "HISTORY_SIGNING_KEY_FILE=/etc/backup-frameworks/history-key.pem "
    ".venv/bin/python manage.py history_key": (
        "HISTORY_SIGNING_KEY_FILE={tmp}/history-key.pem .venv/bin/python manage.py history_key"
    ),
    ".venv/bin/python manage.py verify_history --checkpoints history-checkpoints.jsonl "
    "[--public-key pub.pem]": (
        "touch {tmp}/history-checkpoints.jsonl && HISTORY_SIGNING_KEY_FILE={tmp}/history-key.pem"
        " .venv/bin/python manage.py verify_history --checkpoints {tmp}/history-checkpoints.jsonl"
    ),
    ".venv/bin/python manage.py check --deploy": ".venv/bin/python manage.py check --deploy",
    ".venv/bin/python manage.py export_framework TARGET NAME > fw.json": (
        ".venv/bin/python manage.py export_framework prod-eu exampleFramework > {tmp}/fw.json"
    ),
}


def command_key(command: str) -> str:
    """createsuperuser's line carries its variables; the key is the command itself."""
    if "createsuperuser" not in command:
        return command
    return re.sub(r"^(\w+='?[^ ]*'? )+(?=\.venv)", "", command)


def test_the_test_knows_every_readme_command() -> None:
    known = DOCKER | MAKE | set(FILLED) | set(POSTGRES)
    known |= {c for c in readme_commands() if c.startswith(("AWS_SHARED", ".venv/bin/python -m"))}
    assert {command_key(c) for c in readme_commands()} == known


@pytest.fixture(scope="module")
def operator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A fresh shell after `make install`: the emulator from the README's command, on a free
    port; settings for a new SQLite database; the demo's targets and AWS files."""
    tmp = tmp_path_factory.mktemp("operator")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp),
        "DEBUG": "1",
        "DATA_DIR": str(tmp),
        "ENV_FILE": "",
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp / "aws" / "credentials"),
        "AWS_CONFIG_FILE": str(tmp / "aws" / "config"),
        "AWS_ENDPOINT_URL_BACKUP": f"http://127.0.0.1:{port}",
        "AWS_ENDPOINT_URL_STS": f"http://127.0.0.1:{port}",
        "AWS_EC2_METADATA_DISABLED": "true",
        "TMP_DIR": str(tmp),
        "EMULATOR_PORT": str(port),
    }
    [emulator_line] = [c for c in readme_commands() if c.startswith(".venv/bin/python -m")]
    emulator_cmd = (
        emulator_line.replace("--port 8766", f"--port {port}")
        .replace("[--seed demo]", "--seed demo")
        .replace("[--state FILE]", f"--state {tmp}/emulator.json")
    )
    emulator = subprocess.Popen(emulator_cmd.split(), cwd=ROOT, env=env)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.2)
        for step in (["migrate", "--verbosity", "0"], ["seed_demo"]):
            subprocess.run(
                [".venv/bin/python", "manage.py", *step],
                cwd=ROOT,
                env=env,
                check=True,
                capture_output=True,
                timeout=120,
            )
        yield env
    finally:
        emulator.terminate()
        emulator.wait(timeout=30)


def run(command: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    # The README's commands are shell lines (variables, redirection), so a shell runs them.
    return subprocess.run(  # noqa: S602
        command.format(tmp=env["TMP_DIR"]),
        shell=True,
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


ORDER = [
    ".venv/bin/python manage.py migrate",
    ".venv/bin/python manage.py createsuperuser --noinput",
    ".venv/bin/python manage.py sync_frameworks [--target SLUG ...] [--wait SECONDS]",
    ".venv/bin/python manage.py export_framework TARGET NAME > fw.json",
    ".venv/bin/python manage.py validate_framework FILE...",
    ".venv/bin/python manage.py verify_history",
    ".venv/bin/python manage.py history_key --generate /etc/backup-frameworks/history-key.pem",
    "HISTORY_SIGNING_KEY_FILE=/etc/backup-frameworks/history-key.pem "
    ".venv/bin/python manage.py history_key",
    ".venv/bin/python manage.py verify_history --checkpoints history-checkpoints.jsonl "
    "[--public-key pub.pem]",
    ".venv/bin/python manage.py check --deploy",
]


@pytest.mark.parametrize("key", ORDER)
def test_each_manage_py_command_runs_as_written(key: str, operator: dict[str, str]) -> None:
    command = FILLED[key]
    if command is None:
        [command] = [c for c in readme_commands() if command_key(c) == key]
    done = run(command, operator)
    assert done.returncode == 0, done.stdout + done.stderr
    if "export_framework" in key:
        exported = json.loads(Path(operator["TMP_DIR"], "fw.json").read_text())
        assert exported["FrameworkName"] == "exampleFramework"
    if "sync_frameworks" in key:
        # Every demo target, the one reached by assuming a role among them.
        assert "prod-eu:" in done.stdout and "dev-us:" in done.stdout
        assert "failed" not in done.stdout


def test_the_aws_cli_command_lists_the_emulators_frameworks(operator: dict[str, str]) -> None:
    [command] = [c for c in readme_commands() if c.startswith("AWS_SHARED")]
    command = command.replace(".demo/", f"{operator['TMP_DIR']}/").replace(
        "127.0.0.1:8766", f"127.0.0.1:{operator['EMULATOR_PORT']}"
    )
    done = run(command, operator)
    assert done.returncode == 0, done.stderr
    assert "exampleFramework" in done.stdout


@pytest.mark.parametrize("command", sorted(MAKE))
def test_the_make_targets_recipes_are_sound(command: str) -> None:
    done = subprocess.run(
        [*command.split(), "-n"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    if command == "make demo":
        lines = [line for line in done.stdout.splitlines() if "install" not in line]
        # The ports are checked before anything starts.
        assert "scripts/demo_preflight.py" in done.stdout.split("manage.py migrate")[0]
        assert any("honcho start" in line for line in lines)


@pytest.mark.parametrize("command", sorted(DOCKER))
def test_the_docker_commands_as_far_as_the_client_allows(command: str) -> None:
    if "compose" in command:
        env = {**os.environ, **COMPOSE_SECRETS}
        subprocess.run([*compose_command(), "config", "--quiet"], cwd=ROOT, env=env, check=True)
    else:
        docker = shutil.which("docker")
        if docker is None:
            pytest.skip("no Docker client here")
        # No engine: the build's context and Dockerfile are checked by tests/test_deploy.py.
        assert subprocess.run([docker, "build", "--help"], capture_output=True).returncode == 0
        assert (ROOT / "Dockerfile").exists() and (ROOT / ".dockerignore").exists()


@pytest.mark.postgres
def test_the_database_roles_procedure_runs_as_written(tmp_path: Path) -> None:
    """On a database the superuser migrated: the roles made as a superuser, migrate as the
    owner, the grants; then the product, as the app role with the production values, passes
    check --deploy, and can work (the readiness check reads and writes)."""
    import psycopg
    from django.conf import settings

    superuser_url = settings.DATABASE_OWNER_URL or os.environ["DATABASE_URL"]
    server, _, _ = superuser_url.rpartition("/")
    name = f"{settings.DATABASES['default']['NAME']}_roles"
    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')
    host = server.rpartition("@")[2]
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "ENV_FILE": "",
        "DATA_DIR": str(tmp_path),
        "DEBUG": "1",
        "DATABASE_URL": f"{server}/{name}",
        "DATABASE_OWNER_URL": f"postgresql://backup_owner@{host}/{name}",
        "TMP_DIR": str(tmp_path),
    }
    try:
        # A database the superuser migrated (as compose used to): the procedure takes it over.
        done = run(".venv/bin/python manage.py migrate --verbosity 0", env)
        assert done.returncode == 0, done.stderr
        for command in POSTGRES:
            done = run(command.replace("> roles.sql", "> {tmp}/roles.sql"), env)
            assert done.returncode == 0, command + "\n" + done.stdout + done.stderr
        assert "GRANT USAGE ON SCHEMA public" in (tmp_path / "roles.sql").read_text()
        production = {
            **env,
            **PRODUCTION_VALUES,
            "DEBUG": "0",
            "DATABASE_URL": f"postgresql://backup_app@{host}/{name}",
        }
        [check] = [c for c in readme_commands() if c.endswith("check --deploy")]
        done = run(check, production)
        assert done.returncode == 0, done.stdout + done.stderr
        assert done.stdout.strip() == "System check identified no issues (0 silenced)."
        # The superuser, by contrast, is named by the check.
        done = run(check, {**production, "DATABASE_URL": f"{server}/{name}"})
        assert "frameworks.E101" in done.stderr and done.returncode != 0
    finally:
        with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_the_readme_gives_the_production_values() -> None:
    section = README.split("### HTTPS in production", 1)[1].split("\n### ", 1)[0]
    text = re.sub(r"\s+", " ", section)
    for name, value in PRODUCTION_VALUES.items():
        if name in {"SECRET_KEY", "ALLOWED_HOSTS", "SITE_URL"}:
            assert f"`{name}`" in text, name
        elif " " in value:
            assert f"{name}='{value}'" in text, name
        else:
            assert f"{name}={value}" in text, name
