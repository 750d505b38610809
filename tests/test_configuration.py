"""Configuration: every variable the settings read, a bad value for each giving one line that
names it and what it accepts, at every entry point (manage.py, WSGI, Celery), and the demo's
.env making manage.py work in a fresh shell."""

from __future__ import annotations

import os
import re
import runpy
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

ROOT = Path(__file__).resolve().parent.parent
SETTINGS = ROOT / "config" / "settings.py"

# (variable, a bad value, words the one line must contain)
BAD_VALUES = [
    ("DEBUG", "maybe", "DEBUG must be true or false"),
    ("SECURE_COOKIES", "perhaps", "SECURE_COOKIES must be true or false"),
    ("DATABASE_URL", "mysql://db/x", "DATABASE_URL must be a postgresql:// or sqlite:// URL"),
    ("DATABASE_OWNER_URL", "sqlite:///x", "DATABASE_OWNER_URL must be a postgresql:// URL"),
    ("DATABASE_CONN_MAX_AGE", "a minute", "DATABASE_CONN_MAX_AGE must be a whole number"),
    ("PASSWORD_MIN_LENGTH", "4", "PASSWORD_MIN_LENGTH must be at least 8"),
    ("SIGNIN_FAILURE_LIMIT", "0", "SIGNIN_FAILURE_LIMIT must be at least 1"),
    ("SIGNIN_COOLOFF_MINUTES", "soon", "SIGNIN_COOLOFF_MINUTES must be a whole number"),
    ("SIGNIN_FAILURE_WINDOW_SECONDS", "5", "SIGNIN_FAILURE_WINDOW_SECONDS must be at least 60"),
    ("SIGNIN_TRUSTED_PROXIES", "one", "SIGNIN_TRUSTED_PROXIES must be a whole number"),
    ("SESSION_IDLE_SECONDS", "10", "SESSION_IDLE_SECONDS must be at least 60"),
    ("SECURE_SSL_REDIRECT", "sometimes", "SECURE_SSL_REDIRECT must be true or false"),
    ("SECURE_HSTS_SECONDS", "a year", "SECURE_HSTS_SECONDS must be a whole number"),
    ("SECURE_HSTS_INCLUDE_SUBDOMAINS", "all", "SECURE_HSTS_INCLUDE_SUBDOMAINS must be true"),
    ("SECURE_HSTS_PRELOAD", "yes please", "SECURE_HSTS_PRELOAD must be true or false"),
    ("SECURE_PROXY_SSL_HEADER", "https", "SECURE_PROXY_SSL_HEADER must be a header and its value"),
    ("CELERY_BROKER_URL", "amqp://mq", "CELERY_BROKER_URL must be redis://"),
    ("EDITOR_MAX_CONTROLS", "many", "EDITOR_MAX_CONTROLS must be a whole number"),
    ("AWS_CONNECT_TIMEOUT", "0", "AWS_CONNECT_TIMEOUT must be at least 1"),
    ("AWS_READ_TIMEOUT", "soon", "AWS_READ_TIMEOUT must be a whole number"),
    ("AWS_SYNC_MAX_ATTEMPTS", "0", "AWS_SYNC_MAX_ATTEMPTS must be at least 1"),
    ("AWS_ROLE_SESSION_NAME", "the console", "AWS_ROLE_SESSION_NAME must be 2 to 64"),
    ("SITE_URL", "backup.example.com", "SITE_URL must be the console's address"),
    ("CSRF_TRUSTED_ORIGINS", "backup.example.com", "CSRF_TRUSTED_ORIGINS must be"),
    ("EMAIL_BACKEND", "smtp please", "EMAIL_BACKEND must be a dotted path"),
    ("EMAIL_PORT", "smtp", "EMAIL_PORT must be a whole number"),
    ("EMAIL_USE_TLS", "maybe", "EMAIL_USE_TLS must be true or false"),
    ("EMAIL_USE_SSL", "maybe", "EMAIL_USE_SSL must be true or false"),
    ("EMAIL_TIMEOUT", "0", "EMAIL_TIMEOUT must be at least 1"),
    ("DEFAULT_FROM_EMAIL", "nobody", "DEFAULT_FROM_EMAIL must be an address"),
    ("METRICS_TOKEN", None, None),
    ("LOG_LEVEL", "loud", "LOG_LEVEL must be one of DEBUG, INFO"),
    ("SYNC_INTERVAL_SECONDS", "1", "SYNC_INTERVAL_SECONDS must be at least 10"),
    ("SYNC_LEASE_SECONDS", "x", "SYNC_LEASE_SECONDS must be a whole number"),
    ("APPLY_MAX_ATTEMPTS", "0", "APPLY_MAX_ATTEMPTS must be at least 1"),
    ("APPLY_MAX_SECONDS", "long", "APPLY_MAX_SECONDS must be a number of seconds"),
    ("APPLY_RETRY_BASE_SECONDS", "-1", "APPLY_RETRY_BASE_SECONDS must be at least 0"),
    ("APPLY_RETRY_MAX_DELAY_SECONDS", "x", "APPLY_RETRY_MAX_DELAY_SECONDS must be a number"),
    ("APPLY_POLL_INTERVAL_SECONDS", "0", "APPLY_POLL_INTERVAL_SECONDS must be at least 0.01"),
    ("APPLY_DEPLOYMENT_WAIT_SECONDS", "x", "APPLY_DEPLOYMENT_WAIT_SECONDS must be a number"),
    ("APPLY_LEASE_SECONDS", "5", "APPLY_LEASE_SECONDS (5.0) must be longer than one AWS request"),
    ("RECONCILE_INTERVAL_SECONDS", "0", "RECONCILE_INTERVAL_SECONDS must be at least 0.1"),
    ("APPLY_REQUEUE_AFTER_SECONDS", "x", "APPLY_REQUEUE_AFTER_SECONDS must be a number"),
    ("CELERY_VISIBILITY_TIMEOUT", "5", "CELERY_VISIBILITY_TIMEOUT (5) must be longer"),
    ("APPLY_REQUEUE_MIN_SECONDS", "x", "APPLY_REQUEUE_MIN_SECONDS must be a number"),
    ("OIDC_ROLE_GROUPS", "boss=admins", "OIDC_ROLE_GROUPS must be role=provider-group pairs"),
    ("LOCAL_PASSWORDS", "maybe", "LOCAL_PASSWORDS must be true or false"),
    ("HISTORY_CHECKPOINT_SECONDS", "0", "HISTORY_CHECKPOINT_SECONDS must be at least 1"),
    ("HISTORY_CHECKPOINT_DESTINATIONS", "ftp://x", "HISTORY_CHECKPOINT_DESTINATIONS takes"),
    ("HISTORY_CHECKPOINT_S3_LOCK_MODE", "LOOSE", "must be COMPLIANCE or GOVERNANCE"),
    (
        "HISTORY_CHECKPOINT_S3_RETAIN_DAYS",
        "0",
        "HISTORY_CHECKPOINT_S3_RETAIN_DAYS must be at least 1",
    ),
]
# Checked only once a provider is named (OIDC_RP_CLIENT_ID set with good endpoints).
PROVIDER = {
    "OIDC_RP_CLIENT_ID": "console",
    "OIDC_OP_AUTHORIZATION_ENDPOINT": "https://sso.example.com/authorize",
    "OIDC_OP_TOKEN_ENDPOINT": "https://sso.example.com/token",
    "OIDC_OP_USER_ENDPOINT": "https://sso.example.com/userinfo",
    "OIDC_OP_JWKS_ENDPOINT": "https://sso.example.com/jwks",
}
WITH_PROVIDER = [
    ("OIDC_OP_AUTHORIZATION_ENDPOINT", "sso/authorize", "OIDC_OP_AUTHORIZATION_ENDPOINT must be"),
    ("OIDC_OP_TOKEN_ENDPOINT", "", "OIDC_OP_TOKEN_ENDPOINT must be the identity provider's"),
    ("OIDC_OP_USER_ENDPOINT", "userinfo", "OIDC_OP_USER_ENDPOINT must be"),
    ("OIDC_OP_JWKS_ENDPOINT", "jwks", "OIDC_OP_JWKS_ENDPOINT must be"),
    ("OIDC_RP_SIGN_ALGO", "none", "OIDC_RP_SIGN_ALGO must be RS256, ES256 or HS256"),
]
# Read as text, with no wrong value: any string is a name, a path, a key or a list.
FREE_TEXT = {
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "SITE_NAME",
    "DATA_DIR",
    "EMAIL_HOST",
    "EMAIL_HOST_USER",
    "EMAIL_HOST_PASSWORD",
    "METRICS_TOKEN",
    "CELERY_QUEUE",
    "APPLY_STAGE_HOOK_DIR",
    "ENV_FILE",
    "CELERY_CONTROL_QUEUE",
    "OIDC_RP_CLIENT_ID",
    "OIDC_RP_CLIENT_SECRET",
    "OIDC_RP_SCOPES",
    "OIDC_USERNAME_CLAIM",
    "OIDC_GROUPS_CLAIM",
    "OIDC_PROVIDER_NAME",
    "HISTORY_SIGNING_KEY",
    "HISTORY_SIGNING_KEY_FILE",
    "HISTORY_PUBLIC_KEY_FILE",
    "HISTORY_CHECKPOINT_S3_REGION",
    "APPROVAL_MAC_KEY",
}


def read_variables() -> set[str]:
    """Every variable name the settings read through their helpers or os.environ."""
    text = SETTINGS.read_text()
    found = set(re.findall(r'env(?:str|bool|int|float|list)\(\s*"([A-Z][A-Z0-9_]*)"', text))
    found |= set(re.findall(r'os\.environ\.get\("([A-Z][A-Z0-9_]*)"', text))
    return found


def test_every_variable_has_a_bad_value_test_or_is_free_text() -> None:
    tested = {name for name, value, _ in BAD_VALUES if value is not None}
    tested |= {name for name, _, _ in WITH_PROVIDER}
    assert read_variables() == tested | FREE_TEXT


def test_the_readme_lists_every_variable_the_settings_read() -> None:
    readme = (ROOT / "README.md").read_text()
    missing = sorted(name for name in read_variables() if f"`{name}`" not in readme)
    assert missing == []


@pytest.mark.parametrize(
    ("name", "value", "words"), [case for case in BAD_VALUES if case[1] is not None]
)
def test_a_bad_value_names_the_variable_and_what_it_accepts(
    name: str, value: str, words: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    monkeypatch.setenv(name, value)
    with pytest.raises(ImproperlyConfigured) as raised:
        runpy.run_path(str(SETTINGS))
    message = str(raised.value)
    assert words in message
    assert "\n" not in message


@pytest.mark.parametrize(("name", "value", "words"), WITH_PROVIDER)
def test_a_bad_provider_setting_names_the_variable(
    name: str, value: str, words: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, good in PROVIDER.items():
        monkeypatch.setenv(key, good)
    monkeypatch.setenv(name, value)
    with pytest.raises(ImproperlyConfigured) as raised:
        runpy.run_path(str(SETTINGS))
    assert words in str(raised.value)


def test_passwords_can_be_off_only_with_a_provider(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOCAL_PASSWORDS", "false")
    with pytest.raises(ImproperlyConfigured, match="nobody could sign in"):
        runpy.run_path(str(SETTINGS))
    for key, good in PROVIDER.items():
        monkeypatch.setenv(key, good)
    values = runpy.run_path(str(SETTINGS))
    assert values["AUTHENTICATION_BACKENDS"] == [
        "axes.backends.AxesStandaloneBackend",
        "frameworks.oidc.RoleMappingBackend",
    ]


def test_tls_and_ssl_together_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMAIL_USE_TLS", "1")
    monkeypatch.setenv("EMAIL_USE_SSL", "1")
    with pytest.raises(ImproperlyConfigured, match="cannot both be true"):
        runpy.run_path(str(SETTINGS))


def test_smtp_is_chosen_by_naming_a_host(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMAIL_HOST", "smtp.example.com")
    monkeypatch.setenv("EMAIL_USE_TLS", "yes")
    values = runpy.run_path(str(SETTINGS))
    assert values["EMAIL_BACKEND"] == "django.core.mail.backends.smtp.EmailBackend"
    assert (values["EMAIL_HOST"], values["EMAIL_PORT"]) == ("smtp.example.com", 587)


#: The production values the README's "HTTPS in production" gives (and an example host).
PRODUCTION_VALUES = {
    "SECRET_KEY": "a-long-random-production-like-secret-key-of-sixty-characters!",
    "ALLOWED_HOSTS": "backup.example.com",
    "SITE_URL": "https://backup.example.com",
    "SECURE_SSL_REDIRECT": "1",
    "SECURE_HSTS_SECONDS": "31536000",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": "1",
    "SECURE_HSTS_PRELOAD": "1",
    "SECURE_PROXY_SSL_HEADER": "X-Forwarded-Proto: https",
    "CSRF_TRUSTED_ORIGINS": "https://backup.example.com",
}


def test_check_deploy_with_the_documented_production_values_finds_nothing(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy"],
        cwd=ROOT,
        env=clean_env(tmp_path, ENV_FILE="", **PRODUCTION_VALUES),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert (done.stdout.strip(), done.stderr) == (
        "System check identified no issues (0 silenced).",
        "",
    )


def test_the_https_settings_read_the_proxy_header(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECURE_PROXY_SSL_HEADER", "X-Forwarded-Proto: https")
    monkeypatch.setenv("SECURE_HSTS_SECONDS", "31536000")
    values = runpy.run_path(str(SETTINGS))
    assert values["SECURE_PROXY_SSL_HEADER"] == ("HTTP_X_FORWARDED_PROTO", "https")
    assert values["SECURE_HSTS_SECONDS"] == 31536000
    # The health checks of compose and the image call plain HTTP inside the container.
    assert {"^healthz$", "^readyz$", "^metrics$"} <= set(values["SECURE_REDIRECT_EXEMPT"])


# --- the entry points, as processes --------------------------------------------------------


def clean_env(tmp_path: Path, **env: str) -> dict[str, str]:
    """A fresh shell's environment: PATH and HOME, nothing of this test run's."""
    base = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "DATA_DIR": str(tmp_path)}
    return {**base, **env}


ENTRY_POINTS = {
    "manage.py": [sys.executable, "manage.py", "check"],
    "wsgi": [sys.executable, "-c", "import config.wsgi"],
    "celery": [str(Path(sys.executable).parent / "celery"), "-A", "config", "inspect", "ping"],
}


@pytest.mark.parametrize("entry", ENTRY_POINTS)
@pytest.mark.parametrize(
    ("env", "line"),
    [
        (
            {},
            "Configuration error: SECRET_KEY is not set. Set it to a long random string, or set "
            "DEBUG=1 for a local demo.",
        ),
        (
            {"DEBUG": "1", "APPLY_MAX_ATTEMPTS": "none"},
            "Configuration error: APPLY_MAX_ATTEMPTS must be a whole number, not 'none'",
        ),
    ],
)
def test_each_entry_point_says_a_configuration_error_in_one_line(
    entry: str, env: dict[str, str], line: str, tmp_path: Path
) -> None:
    done = subprocess.run(
        ENTRY_POINTS[entry],
        cwd=ROOT,
        env=clean_env(tmp_path, ENV_FILE="", **env),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 78
    assert done.stderr.splitlines() == [line]


# --- the demo's .env -----------------------------------------------------------------------


def preflight(env_file: Path, *pairs: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "scripts/demo_preflight.py", str(env_file), *pairs],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_after_the_demo_manage_py_works_in_a_fresh_shell(tmp_path: Path) -> None:
    env_file = tmp_path / "demo.env"
    web, emulator = free_port(), free_port()
    done = preflight(
        env_file,
        "DEBUG=1",
        f"DATA_DIR={tmp_path}",
        f"WEB_PORT={web}",
        f"EMULATOR_PORT={emulator}",
        f"AWS_ENDPOINT_URL_STS=http://127.0.0.1:{emulator}",
    )
    assert done.returncode == 0, done.stderr
    # No variable but the file's name: the settings, and boto3 through them, read the rest.
    script = "import os; print(os.environ['AWS_ENDPOINT_URL_STS'])"
    shell = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", script],
        cwd=ROOT,
        env=clean_env(tmp_path, ENV_FILE=str(env_file)),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert shell.returncode == 0, shell.stderr
    assert shell.stdout.splitlines()[-1] == f"http://127.0.0.1:{emulator}"


def test_the_default_env_file_is_the_projects_dot_env() -> None:
    text = SETTINGS.read_text()
    assert 'os.environ.get("ENV_FILE", str(BASE_DIR / ".env"))' in text
    assert "ENV_FILE ?= $(CURDIR)/.env" in (ROOT / "Makefile").read_text()


def test_the_demo_stops_before_starting_anything_when_a_port_is_busy(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = preflight(tmp_path / "demo.env", f"WEB_PORT={port}", f"EMULATOR_PORT={free_port()}")
    assert done.returncode == 1
    assert done.stderr.strip() == (
        f"Port {port} is in use on 127.0.0.1: stop what uses it, or choose another with "
        "`make demo PORT=<port>`."
    )
    assert not (tmp_path / "demo.env").exists()


def test_the_demo_never_overwrites_an_env_file_it_did_not_write(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("SECRET_KEY=production\n")
    done = preflight(env_file, f"WEB_PORT={free_port()}", f"EMULATOR_PORT={free_port()}")
    assert done.returncode == 1
    assert "was not written by `make demo`" in done.stderr
    assert env_file.read_text() == "SECRET_KEY=production\n"


def test_site_url_defaults_to_the_first_allowed_host(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALLOWED_HOSTS", "backup.example.com,localhost")
    monkeypatch.delenv("SITE_URL", raising=False)
    monkeypatch.delitem(sys.modules, "pytest")  # read as production reads it
    monkeypatch.setenv("SECRET_KEY", "x" * 50)
    values = runpy.run_path(str(SETTINGS))
    assert values["SITE_URL"] == "https://backup.example.com"
