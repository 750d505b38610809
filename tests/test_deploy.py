"""The image and the compose stack, tested without a Docker engine: the files are correct by
construction, the image's web command and health check run as written (gunicorn with its config,
the HEALTHCHECK's own command against it), and production dependencies come from the lock."""

from __future__ import annotations

import json
import os
import shlex
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.compose import compose_command

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = (ROOT / "Dockerfile").read_text()
COMPOSE = yaml.safe_load((ROOT / "compose.yaml").read_text())
APP_SERVICES = ["migrate", "web", "worker", "beat"]


def instruction(name: str) -> str:
    """The last Dockerfile instruction `name`, continuation lines joined."""
    text = DOCKERFILE.replace("\\\n", " ")
    return [line for line in text.splitlines() if line.startswith(f"{name} ")][-1]


def exec_form(text: str) -> list[str]:
    return json.loads(text[text.index("[") :])


# --- compose -------------------------------------------------------------------------------


def test_one_image_is_built_once_and_used_by_every_app_service() -> None:
    services = COMPOSE["services"]
    built = [name for name, service in services.items() if "build" in service]
    assert built == ["migrate"]
    images = {services[name]["image"] for name in APP_SERVICES}
    assert images == {"${IMAGE:-backup-frameworks-console:latest}"}
    assert all(services[name]["pull_policy"] == "never" for name in ["web", "worker", "beat"])


def test_web_worker_and_beat_wait_for_migrate_to_succeed() -> None:
    for name in ["web", "worker", "beat"]:
        depends = COMPOSE["services"][name]["depends_on"]
        assert depends["migrate"] == {"condition": "service_completed_successfully"}
        assert depends["db"] == {"condition": "service_healthy"}
        assert depends["redis"] == {"condition": "service_healthy"}
    migrate = COMPOSE["services"]["migrate"]
    steps = migrate["command"].removeprefix("sh -c '").removesuffix("'").split(" && ")
    assert steps == [
        "python manage.py db_roles --create --owner-role backup_owner --app-role backup_app",
        'DATABASE_URL="$$DATABASE_OWNER_URL" python manage.py migrate --noinput',
        'DATABASE_URL="$$DATABASE_OWNER_URL" python manage.py db_roles --app-role backup_app',
    ]


def test_migrate_makes_the_roles_and_the_others_connect_as_the_app_role() -> None:
    services = COMPOSE["services"]
    assert services["migrate"]["environment"]["DATABASE_URL"].startswith("postgresql://postgres:")
    assert services["migrate"]["environment"]["DATABASE_OWNER_URL"].startswith(
        "postgresql://backup_owner:"
    )
    for name in ["web", "worker", "control", "beat"]:
        url = services[name]["environment"]["DATABASE_URL"]
        assert url.startswith("postgresql://backup_app:${DB_APP_PASSWORD:?"), name


def test_every_service_has_a_health_check_and_a_restart_policy() -> None:
    for name, service in COMPOSE["services"].items():
        assert "healthcheck" in service, name
        assert "restart" in service, name
        if name != "migrate":
            assert service["healthcheck"]["test"], name
            assert service["restart"] == "unless-stopped", name
    # The one-off is neither checked nor restarted: it is meant to stop.
    assert COMPOSE["services"]["migrate"]["healthcheck"] == {"disable": True}
    assert COMPOSE["services"]["migrate"]["restart"] == "no"


def test_compose_requires_the_secrets_it_cannot_guess() -> None:
    env = COMPOSE["services"]["web"]["environment"]
    assert env["SECRET_KEY"].startswith("${SECRET_KEY:?")
    assert env["SITE_URL"].startswith("${SITE_URL:?")


def test_docker_compose_config_accepts_the_file() -> None:
    env = {
        **os.environ,
        "SECRET_KEY": "x",
        "SITE_URL": "https://backup.example.com",
        "DB_OWNER_PASSWORD": "o",
        "DB_APP_PASSWORD": "a",
    }
    subprocess.run(
        [*compose_command(), "config", "--quiet"], cwd=ROOT, env=env, check=True, timeout=60
    )


# --- the image -----------------------------------------------------------------------------


def test_the_image_installs_the_locked_production_dependencies_only() -> None:
    assert "RUN pip install --no-deps -r requirements.lock" in DOCKERFILE
    locked = {
        line.split("==")[0].lower()
        for line in (ROOT / "requirements.lock").read_text().splitlines()
        if "==" in line and not line.startswith("#")
    }
    assert {"django", "boto3", "celery", "gunicorn", "psycopg", "django-environ"} <= locked
    assert not locked & {"honcho", "pytest", "playwright", "ruff", "awscli", "hypothesis"}


def test_the_build_context_leaves_out_what_the_build_and_demo_leave() -> None:
    ignored = set((ROOT / ".dockerignore").read_text().split())
    assert {".venv", ".demo", ".git", ".env", "staticfiles", "tests", "**/__pycache__"} <= ignored


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def image_web(tmp_path: Path) -> Iterator[dict[str, str]]:
    """The image's CMD, as written, with the settings of a production container (DEBUG off,
    a real secret key) on a free port."""
    port = free_port()
    env = {
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        "SECRET_KEY": "a-long-random-test-secret-key-for-the-image",
        "SITE_URL": "https://backup.example.com",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DATA_DIR": str(tmp_path),
        "ENV_FILE": str(tmp_path / "empty.env"),
        "WEB_BIND": f"127.0.0.1:{port}",
        "PORT": str(port),
        "WEB_CONCURRENCY": "1",
    }
    (tmp_path / "empty.env").write_text("")
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--verbosity", "0"],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=120,
    )
    command = exec_form(instruction("CMD"))
    assert command == ["gunicorn", "-c", "config/gunicorn.py"]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.2)
        env["PORT"] = str(port)
        yield env
    finally:
        process.terminate()
        process.communicate(timeout=30)


def test_the_images_health_check_passes_against_its_web_command(
    image_web: dict[str, str],
) -> None:
    healthcheck = instruction("HEALTHCHECK")
    assert " CMD [" in healthcheck
    # The image listens on 8000; here the same command is pointed at the test's port.
    argv = [part.replace(":8000/", f":{image_web['PORT']}/") for part in exec_form(healthcheck)]
    argv[0] = sys.executable
    assert subprocess.run(argv, env=image_web, timeout=30, check=False).returncode == 0


def test_the_web_services_readiness_check_passes_against_the_image(
    image_web: dict[str, str],
) -> None:
    test = COMPOSE["services"]["web"]["healthcheck"]["test"]
    argv = [part.replace(":8000/", f":{image_web['PORT']}/") for part in test[1:]]
    argv[0] = sys.executable
    # The broker of a container with no CELERY_BROKER_URL is the filesystem one: ready.
    assert subprocess.run(argv, env=image_web, timeout=30, check=False).returncode == 0


def test_gunicorn_config_binds_the_port_and_checks_settings_first(tmp_path: Path) -> None:
    env = {**os.environ, "ENV_FILE": str(tmp_path / "e.env"), "DATA_DIR": str(tmp_path)}
    (tmp_path / "e.env").write_text("")
    env.pop("DEBUG", None)
    env.pop("SECRET_KEY", None)
    result = subprocess.run(
        shlex.split("gunicorn -c config/gunicorn.py"),
        cwd=ROOT,
        env={**env, "PATH": f"{Path(sys.executable).parent}:{env['PATH']}"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 78
    errors = [line for line in result.stderr.splitlines() if "Configuration error" in line]
    assert errors == [
        "Configuration error: SECRET_KEY is not set. Set it to a long random string, or set "
        "DEBUG=1 for a local demo."
    ]
    assert "Traceback" not in result.stderr
    assert (
        'bind = os.environ.get("WEB_BIND", "0.0.0.0:8000")'
        in (ROOT / "config" / "gunicorn.py").read_text()
    )
