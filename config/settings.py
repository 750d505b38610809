"""Settings, read from the environment only.

The defaults run on a laptop with nothing but Python: SQLite, a Celery broker kept in folders
(kombu's filesystem transport) and the local emulator of the AWS Backup API. Production values come
from the environment: DATABASE_URL, CELERY_BROKER_URL, SECRET_KEY, ALLOWED_HOSTS, and AWS
credentials through boto3's usual chain. A bad value stops the process at start-up with the
variable's name rather than surfacing later as a strange error.
"""

from __future__ import annotations

import os
import re
import sys
from datetime import timedelta
from pathlib import Path

import dj_database_url
import environ
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

# pytest imports settings before any conftest can set variables, so it is recognised here.
TESTING = "pytest" in sys.modules

# Variables may also come from a file (`make demo` writes .env): a value set in the process's
# environment wins over the file's. ENV_FILE names another file; ENV_FILE="" reads none. Tests
# never read it, so a demo's file cannot change them.
_env_file = os.environ.get("ENV_FILE", str(BASE_DIR / ".env"))
if _env_file and not TESTING:
    if Path(_env_file).is_file():
        environ.Env.read_env(_env_file, overwrite=False)
    elif "ENV_FILE" in os.environ:
        raise ImproperlyConfigured(
            f"ENV_FILE must name a readable file (or be empty for none), not {_env_file!r}"
        )

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def envstr(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def envbool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    if raw.strip().lower() in _TRUE:
        return True
    if raw.strip().lower() in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false (1/0, yes/no, on/off), not {raw!r}")


def envint(name: str, default: int, *, minimum: int = 0) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {raw!r}") from None
    if value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, not {value}")
    return value


def envlist(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


DEBUG = envbool("DEBUG", False)
SECRET_KEY = envstr("SECRET_KEY")
if not SECRET_KEY:
    if not (DEBUG or TESTING):
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set it to a long random string, "
            "or set DEBUG=1 for a local demo."
        )
    SECRET_KEY = "django-insecure-local-development-only"  # noqa: S105 - DEBUG or tests only
# The key of the MACs approvals carry (frameworks.approvals), never stored in the database.
# Empty: a key derived from SECRET_KEY (salted_hmac), so rotating SECRET_KEY without keeping the
# old one in SECRET_KEY_FALLBACKS leaves approved, unapplied changes without approvals.
APPROVAL_MAC_KEY = envstr("APPROVAL_MAC_KEY")

ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", ["127.0.0.1", "localhost"] if DEBUG or TESTING else [])
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS", [])
SITE_NAME = envstr("SITE_NAME", "Backup frameworks")
# Where people reach the console: e-mails link to it (they have no request to take it from).
# Without it: the first allowed host over HTTPS (what a production host name means), or
# localhost when there is none; compose and the README ask for it explicitly.
_hosts = [h.lstrip(".") for h in ALLOWED_HOSTS if h not in {"*", ""}]
_default_site = (
    "http://127.0.0.1:8000"
    if DEBUG or TESTING
    else (f"https://{_hosts[0]}" if _hosts else "http://localhost:8000")
)
SITE_URL = envstr("SITE_URL", _default_site).rstrip("/")
if not re.fullmatch(r"https?://[^/\s]+(/[^\s]*)?", SITE_URL):
    raise ImproperlyConfigured(
        f"SITE_URL must be the console's address, like https://backup.example.com, not {SITE_URL!r}"
    )
for _origin in CSRF_TRUSTED_ORIGINS:
    if not re.fullmatch(r"https?://\S+", _origin):
        raise ImproperlyConfigured(
            "CSRF_TRUSTED_ORIGINS must be comma-separated addresses with their scheme, like "
            f"https://backup.example.com, not {_origin!r}"
        )

# Where the embedded defaults keep their files (SQLite, broker folders, beat schedule).
DATA_DIR = Path(envstr("DATA_DIR", str(BASE_DIR / ".demo")))

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "template_partials",
    "csp",
    "axes",
    "frameworks",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Text that is not UTF-8 is answered 400 before anything reads it.
    "frameworks.middleware.Utf8OnlyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "frameworks.signin.IdleTimeoutMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # A document version changed in the database is answered in words, not a 500.
    "frameworks.middleware.TamperedVersionMiddleware",
    # Last, as django-axes asks: it turns a lockout into its page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "csp.context_processors.nonce",
                "frameworks.context_processors.navigation",
            ],
        },
    }
]

# --- Database: SQLite by default, PostgreSQL (psycopg 3) from DATABASE_URL -------------------
DATABASE_URL = envstr("DATABASE_URL")
DATABASE_CONN_MAX_AGE = envint("DATABASE_CONN_MAX_AGE", 60)
if DATABASE_URL:
    if not DATABASE_URL.startswith(("postgres://", "postgresql://", "sqlite://")):
        raise ImproperlyConfigured(
            f"DATABASE_URL must be a postgresql:// or sqlite:// URL, not {DATABASE_URL!r}"
        )
    # Connections are kept for DATABASE_CONN_MAX_AGE seconds and checked before a request or a
    # task reuses one (a server restart or an idle timeout costs a reconnect, not a failed task).
    DATABASES = {
        "default": dj_database_url.parse(
            DATABASE_URL,
            conn_max_age=DATABASE_CONN_MAX_AGE,
            conn_health_checks=True,
        )
    }
else:
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(DATA_DIR / "db.sqlite3"),
            "OPTIONS": {
                # WAL lets the web, the worker and beat read while one of them writes;
                # the busy timeout makes a writer wait for the lock instead of failing at once.
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# The role that owns the schema and runs migrations, when the product itself connects as a role
# with fewer rights (the README's "Database roles"): `DATABASE_URL=$DATABASE_OWNER_URL manage.py
# migrate`, and the tests create and flush their database with it.
DATABASE_OWNER_URL = envstr("DATABASE_OWNER_URL")
if DATABASE_OWNER_URL and not DATABASE_OWNER_URL.startswith(("postgres://", "postgresql://")):
    raise ImproperlyConfigured(
        f"DATABASE_OWNER_URL must be a postgresql:// URL, not {DATABASE_OWNER_URL!r}"
    )

# --- Auth ------------------------------------------------------------------------------------
PASSWORD_MIN_LENGTH = envint("PASSWORD_MIN_LENGTH", 12, minimum=8)
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": PASSWORD_MIN_LENGTH},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Sign-in through the organisation's identity provider (OpenID Connect) when OIDC_RP_CLIENT_ID
# is set; local passwords stay on unless LOCAL_PASSWORDS is false. See frameworks/oidc.py.
OIDC_RP_CLIENT_ID = envstr("OIDC_RP_CLIENT_ID")
OIDC_RP_CLIENT_SECRET = envstr("OIDC_RP_CLIENT_SECRET")
OIDC_OP_AUTHORIZATION_ENDPOINT = envstr("OIDC_OP_AUTHORIZATION_ENDPOINT")
OIDC_OP_TOKEN_ENDPOINT = envstr("OIDC_OP_TOKEN_ENDPOINT")
OIDC_OP_USER_ENDPOINT = envstr("OIDC_OP_USER_ENDPOINT")
OIDC_OP_JWKS_ENDPOINT = envstr("OIDC_OP_JWKS_ENDPOINT")
OIDC_RP_SIGN_ALGO = envstr("OIDC_RP_SIGN_ALGO", "RS256")
OIDC_RP_SCOPES = envstr("OIDC_RP_SCOPES", "openid email profile")
OIDC_USERNAME_CLAIM = envstr("OIDC_USERNAME_CLAIM", "preferred_username")
OIDC_GROUPS_CLAIM = envstr("OIDC_GROUPS_CLAIM", "groups")
OIDC_PROVIDER_NAME = envstr("OIDC_PROVIDER_NAME", "your organisation's sign-in")
# "editor=backup-editors,approver=backup-approvers": the provider's group for each role.
OIDC_ROLE_GROUPS: dict[str, str] = {}
for _pair in envlist("OIDC_ROLE_GROUPS", []):
    _role, _, _group = (part.strip() for part in _pair.partition("="))
    if _role not in {"editor", "approver", "auditor", "admin"} or not _group:
        raise ImproperlyConfigured(
            "OIDC_ROLE_GROUPS must be role=provider-group pairs separated by commas, the roles "
            f"among editor, approver, auditor, admin, like editor=backup-editors; not {_pair!r}"
        )
    OIDC_ROLE_GROUPS[_role] = _group
if OIDC_RP_CLIENT_ID:
    for _name in (
        "OIDC_OP_AUTHORIZATION_ENDPOINT",
        "OIDC_OP_TOKEN_ENDPOINT",
        "OIDC_OP_USER_ENDPOINT",
        "OIDC_OP_JWKS_ENDPOINT",
    ):
        if not re.fullmatch(r"https?://\S+", globals()[_name]):
            raise ImproperlyConfigured(
                f"{_name} must be the identity provider's https:// address (from its "
                f".well-known/openid-configuration) when OIDC_RP_CLIENT_ID is set, "
                f"not {globals()[_name]!r}"
            )
    if OIDC_RP_SIGN_ALGO not in {"RS256", "ES256", "HS256"}:
        raise ImproperlyConfigured(
            f"OIDC_RP_SIGN_ALGO must be RS256, ES256 or HS256, not {OIDC_RP_SIGN_ALGO!r}"
        )
OIDC_ENABLED = bool(OIDC_RP_CLIENT_ID)
LOCAL_PASSWORDS = envbool("LOCAL_PASSWORDS", True)
if not (LOCAL_PASSWORDS or OIDC_ENABLED):
    raise ImproperlyConfigured(
        "LOCAL_PASSWORDS can be false only when OIDC_RP_CLIENT_ID names an identity provider: "
        "nobody could sign in"
    )
AUTHENTICATION_BACKENDS = [
    # First: refuses a locked-out account and address before any password is checked.
    "axes.backends.AxesStandaloneBackend",
    *(["frameworks.oidc.RoleMappingBackend"] if OIDC_ENABLED else []),
    *(["frameworks.integrity.SealedModelBackend"] if LOCAL_PASSWORDS else []),
]
LOGIN_REDIRECT_URL_FAILURE = "/accounts/login/?sso=failed"

# --- Sign-in throttling (django-axes; frameworks/signin.py, services/signin.py) -------------
# After SIGNIN_FAILURE_LIMIT wrong passwords for one account from one address, that account is
# locked for that address for SIGNIN_COOLOFF_MINUTES: keyed by both, so nobody can lock the
# approvers out from elsewhere. A success resets the count.
SIGNIN_FAILURE_LIMIT = envint("SIGNIN_FAILURE_LIMIT", 5, minimum=1)
SIGNIN_COOLOFF_MINUTES = envint("SIGNIN_COOLOFF_MINUTES", 15, minimum=1)
# Failures are recorded in the history once per account and window of this many seconds.
SIGNIN_FAILURE_WINDOW_SECONDS = envint("SIGNIN_FAILURE_WINDOW_SECONDS", 3600, minimum=60)
# Proxies in front of the console that append the client to X-Forwarded-For (0: none, the
# connection's own address is the client's).
SIGNIN_TRUSTED_PROXIES = envint("SIGNIN_TRUSTED_PROXIES", 0)
AXES_FAILURE_LIMIT = SIGNIN_FAILURE_LIMIT
AXES_COOLOFF_TIME = timedelta(minutes=SIGNIN_COOLOFF_MINUTES)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "frameworks.views.oidc.locked_out"
AXES_CLIENT_IP_CALLABLE = "frameworks.signin.client_address"
# The history records sign-ins; axes keeps only the attempts it counts.
AXES_DISABLE_ACCESS_LOG = True
AXES_VERBOSE = False
# Signed out after this many seconds without a request (frameworks.signin.IdleTimeoutMiddleware).
SESSION_IDLE_SECONDS = envint("SESSION_IDLE_SECONDS", 1800, minimum=60)

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "frameworks:list"
LOGOUT_REDIRECT_URL = "login"

# --- Security --------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = envbool("SECURE_COOKIES", not (DEBUG or TESTING))
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_CONTENT_TYPE_NOSNIFF = True
# HTTPS in production (the README's "Environment" gives the values): off by default, so the
# demo and a first run over plain HTTP work.
SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", False)
# The health URLs are called over plain HTTP inside the container (compose, the image).
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = envbool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = envbool("SECURE_HSTS_PRELOAD", False)
# "X-Forwarded-Proto: https": the header a TLS-terminating proxy sets, and its value for HTTPS.
_proxy_header = envstr("SECURE_PROXY_SSL_HEADER")
SECURE_PROXY_SSL_HEADER: tuple[str, str] | None = None
if _proxy_header:
    _name, _sep, _value = (part.strip() for part in _proxy_header.partition(":"))
    if not (_sep and re.fullmatch(r"[A-Za-z0-9-]+", _name) and _value):
        raise ImproperlyConfigured(
            "SECURE_PROXY_SSL_HEADER must be a header and its value for HTTPS, like "
            f"'X-Forwarded-Proto: https', not {_proxy_header!r}"
        )
    SECURE_PROXY_SSL_HEADER = ("HTTP_" + _name.upper().replace("-", "_"), _value)
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# A strict policy: no inline script or style, htmx served from static/ with eval off.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [NONE],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "connect-src": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "base-uri": [NONE],
    }
}

# --- Static files: served by WhiteNoise from the same process, no CDN -------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not (DEBUG or TESTING)
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG or TESTING
WHITENOISE_AUTOREFRESH = DEBUG or TESTING

# The editor posts at most 50 fields per control and 10 of its own (frameworks/forms/draft.py,
# FIELDS_PER_CONTROL and PAGE_FIELDS). The quotas allow 50 controls per account and Region
# (frameworks/document/limits.py, MAX_CONTROLS; not imported here, as it loads botocore), so one
# framework has at most 50 (raise EDITOR_MAX_CONTROLS with the quota); 10 more rows leave room to
# add a control before removing another. A POST with more fields is refused with a 400.
DATA_UPLOAD_MAX_NUMBER_FIELDS = (envint("EDITOR_MAX_CONTROLS", 50, minimum=1) + 10) * 50 + 10

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

# --- Email: the console in the demo, SMTP as soon as EMAIL_HOST names a server -----------------
EMAIL_HOST = envstr("EMAIL_HOST")
EMAIL_BACKEND = envstr(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "django.core.mail.backends.console.EmailBackend",
)
if not re.fullmatch(r"[A-Za-z_][\w.]*\.[A-Za-z_]\w*", EMAIL_BACKEND):
    raise ImproperlyConfigured(
        "EMAIL_BACKEND must be a dotted path like django.core.mail.backends.smtp.EmailBackend, "
        f"not {EMAIL_BACKEND!r}"
    )
EMAIL_USE_TLS = envbool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = envbool("EMAIL_USE_SSL", False)
if EMAIL_USE_TLS and EMAIL_USE_SSL:
    raise ImproperlyConfigured(
        "EMAIL_USE_TLS and EMAIL_USE_SSL cannot both be true: TLS is STARTTLS (port 587), "
        "SSL is implicit TLS (port 465)"
    )
EMAIL_PORT = envint("EMAIL_PORT", 465 if EMAIL_USE_SSL else 587 if EMAIL_USE_TLS else 25, minimum=1)
EMAIL_HOST_USER = envstr("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = envstr("EMAIL_HOST_PASSWORD")
EMAIL_TIMEOUT = envint("EMAIL_TIMEOUT", 10, minimum=1)
DEFAULT_FROM_EMAIL = envstr("DEFAULT_FROM_EMAIL", "backup-frameworks@localhost")
if not re.fullmatch(r"([^<>]*<)?[^@\s<>]+@[^@\s<>]+>?", DEFAULT_FROM_EMAIL):
    raise ImproperlyConfigured(
        "DEFAULT_FROM_EMAIL must be an address like backup@example.com (or "
        f"'Name <backup@example.com>'), not {DEFAULT_FROM_EMAIL!r}"
    )

# --- AWS -------------------------------------------------------------------------------------
# Credentials come from boto3's chain (environment, shared files, instance roles) or a named
# profile per target; nothing secret is stored here or in the database. The endpoint of the
# emulator comes from boto3's own AWS_ENDPOINT_URL_BACKUP, or a target's endpoint URL.
AWS_CONNECT_TIMEOUT = envint("AWS_CONNECT_TIMEOUT", 5, minimum=1)
AWS_READ_TIMEOUT = envint("AWS_READ_TIMEOUT", 20, minimum=1)
AWS_SYNC_MAX_ATTEMPTS = envint("AWS_SYNC_MAX_ATTEMPTS", 3, minimum=1)
# The session name of an assumed role: CloudTrail in each account shows it beside every call, so
# it names the console.
AWS_ROLE_SESSION_NAME = envstr("AWS_ROLE_SESSION_NAME", "backup-frameworks-console")
if not re.fullmatch(r"[\w+=,.@-]{2,64}", AWS_ROLE_SESSION_NAME):
    raise ImproperlyConfigured(
        "AWS_ROLE_SESSION_NAME must be 2 to 64 letters, digits or any of + = , . @ - _, "
        f"not {AWS_ROLE_SESSION_NAME!r}"
    )

# --- Celery: an apply queue, a control queue for sync and the reconciler, and beat ----------
# The database is the source of truth for work to do (see frameworks/apply.py): a message lost by
# the broker only delays a change until the reconciler enqueues it again. These settings make a
# message survive a worker that dies while running it, and keep the broker from handing one
# message to two workers while the first legitimately holds it.


def envfloat(name: str, default: float, *, minimum: float = 0.0) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number of seconds, not {raw!r}") from None
    if value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, not {value}")
    return value


CELERY_BROKER_URL = envstr("CELERY_BROKER_URL", "filesystem://")
if CELERY_BROKER_URL == "filesystem://":
    # The demo's broker: no server needed. It has no acknowledgements (a message is removed when a
    # worker takes it), so after a crash the reconciler is what brings a change back.
    _broker_dir = DATA_DIR / "broker"
    CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
elif CELERY_BROKER_URL.startswith(("redis://", "rediss://", "memory://")):
    CELERY_BROKER_TRANSPORT_OPTIONS = {}
else:
    raise ImproperlyConfigured(
        f"CELERY_BROKER_URL must be redis://, rediss:// or filesystem://, not {CELERY_BROKER_URL!r}"
    )
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_BEAT_SCHEDULE_FILENAME = str(DATA_DIR / "celerybeat-schedule")
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Tests give each run its own queue so that parallel runs on one Redis never share messages.
CELERY_TASK_DEFAULT_QUEUE = envstr("CELERY_QUEUE", "celery")
# Sync and the reconciler run on a queue of their own, taken by a worker that never runs applies
# (the Procfile's "control"): however deep the apply backlog and however long every apply slot
# polls a deployment, they run on time.
CELERY_CONTROL_QUEUE = envstr("CELERY_CONTROL_QUEUE", f"{CELERY_TASK_DEFAULT_QUEUE}-control")
CELERY_TASK_ROUTES = {
    "frameworks.tasks.sync_frameworks": {"queue": CELERY_CONTROL_QUEUE},
    "frameworks.tasks.reconcile": {"queue": CELERY_CONTROL_QUEUE},
}
# Acknowledge a message only when its task has finished, and put it back when the process running
# it dies (SIGKILL, OOM): a change is never lost with its worker. A task that kills its worker every
# time would then loop; the attempt counter in the database (APPLY_MAX_ATTEMPTS) ends that.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# One message at a time per process: a long apply never sits on messages other workers could run.
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# When the broker connection drops, the broker will redeliver the unacknowledged messages, so the
# tasks running them are stopped rather than finished twice (and Celery 5 asks for a choice).
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
# Celery's Django fixup closes every database connection before and after every task unless it is
# told how many tasks may share one: a new PostgreSQL connection (about 8 ms here) at the start of
# every apply. It is told "all of them", and config.celery closes connections around each task as
# Django does around each request instead (CONN_MAX_AGE, health checks, unusable ones dropped).
CELERY_DB_REUSE_MAX = 2**31

# How often beat syncs every target with AWS, in seconds.
SYNC_INTERVAL_SECONDS = envint("SYNC_INTERVAL_SECONDS", 300, minimum=10)
# A sync of one target holds a lease this long; a crashed sync frees the target after it.
SYNC_LEASE_SECONDS = envint("SYNC_LEASE_SECONDS", 300, minimum=10)

# --- Applying approved changes (frameworks/apply.py; the README's "Applying changes") -----------
# Attempts per change, counted in the database across retries, redeliveries and crashes: a change
# whose worker dies every time ends failed after this many instead of looping.
APPLY_MAX_ATTEMPTS = envint("APPLY_MAX_ATTEMPTS", 8, minimum=1)
# And the total time from a change's first attempt after which no new attempt starts.
APPLY_MAX_SECONDS = envfloat("APPLY_MAX_SECONDS", 3600.0, minimum=1.0)
# Transient errors are retried after a random delay in [0, min(cap, base * 2**attempt)] (full
# jitter): workers that failed together do not come back together.
APPLY_RETRY_BASE_SECONDS = envfloat("APPLY_RETRY_BASE_SECONDS", 2.0, minimum=0.0)
APPLY_RETRY_MAX_DELAY_SECONDS = envfloat("APPLY_RETRY_MAX_DELAY_SECONDS", 300.0, minimum=0.0)
# How often a worker asks AWS for the deployment status, and how long one run waits for a
# deployment: someone else's before the call (then it lets go and retries), its own after AWS
# accepted it (then the change is unconfirmed, and sync or the reconciler settles it).
APPLY_POLL_INTERVAL_SECONDS = envfloat("APPLY_POLL_INTERVAL_SECONDS", 5.0, minimum=0.01)
APPLY_DEPLOYMENT_WAIT_SECONDS = envfloat("APPLY_DEPLOYMENT_WAIT_SECONDS", 600.0, minimum=0.0)
# A worker renews its lease on a change at every step; one that stops renewing (it died) loses the
# change this long after its last renewal. It must outlast the longest step between renewals: one
# AWS request (connect + read timeout).
APPLY_LEASE_SECONDS = envfloat(
    "APPLY_LEASE_SECONDS", float(AWS_CONNECT_TIMEOUT + AWS_READ_TIMEOUT + 15), minimum=1.0
)
if APPLY_LEASE_SECONDS <= AWS_CONNECT_TIMEOUT + AWS_READ_TIMEOUT:
    raise ImproperlyConfigured(
        f"APPLY_LEASE_SECONDS ({APPLY_LEASE_SECONDS}) must be longer than one AWS request "
        f"(AWS_CONNECT_TIMEOUT + AWS_READ_TIMEOUT = {AWS_CONNECT_TIMEOUT + AWS_READ_TIMEOUT})"
    )
# The reconciler (beat, on the control queue): returns changes whose lease expired, settles
# unconfirmed changes from what AWS holds, and enqueues approved changes that waited without a
# worker taking them longer than the apply queue ahead of them takes to drain (measured: recent
# claims per second and run times), never less than the minimum nor more than the maximum.
RECONCILE_INTERVAL_SECONDS = envfloat("RECONCILE_INTERVAL_SECONDS", 15.0, minimum=0.1)
APPLY_REQUEUE_MIN_SECONDS = envfloat("APPLY_REQUEUE_MIN_SECONDS", 30.0, minimum=0.0)
APPLY_REQUEUE_AFTER_SECONDS = envfloat("APPLY_REQUEUE_AFTER_SECONDS", 300.0, minimum=0.0)
if APPLY_REQUEUE_MIN_SECONDS > APPLY_REQUEUE_AFTER_SECONDS:
    raise ImproperlyConfigured(
        f"APPLY_REQUEUE_MIN_SECONDS ({APPLY_REQUEUE_MIN_SECONDS}) must not be more than "
        f"APPLY_REQUEUE_AFTER_SECONDS ({APPLY_REQUEUE_AFTER_SECONDS})"
    )
# Chaos tests only: a folder where armed stage hooks make the worker stop at a named stage.
APPLY_STAGE_HOOK_DIR = envstr("APPLY_STAGE_HOOK_DIR")

# Time limits. One apply run is: a describe, the call, then polling for at most
# APPLY_DEPLOYMENT_WAIT_SECONDS (plus the last describe started before that ends); the soft limit
# leaves room for all of it, the hard limit kills a run that ignores the soft one.
_AWS_REQUEST_SECONDS = AWS_CONNECT_TIMEOUT + AWS_READ_TIMEOUT
APPLY_TASK_SOFT_TIME_LIMIT = int(APPLY_DEPLOYMENT_WAIT_SECONDS + 3 * _AWS_REQUEST_SECONDS + 30)
APPLY_TASK_TIME_LIMIT = APPLY_TASK_SOFT_TIME_LIMIT + 30
# Every task gets these unless it declares its own (none declares a longer one).
CELERY_TASK_SOFT_TIME_LIMIT = APPLY_TASK_SOFT_TIME_LIMIT
CELERY_TASK_TIME_LIMIT = APPLY_TASK_TIME_LIMIT
# Redis hands an unacknowledged message to another worker after the visibility timeout. A retry
# waiting for its countdown is held unacknowledged by a worker, then runs: the timeout must exceed
# the longest retry delay plus the longest run, or a change would be run twice at once (the claim
# would stop the second, but only after it woke). tests/test_apply_settings.py checks this.
_VISIBILITY_NEEDED = APPLY_RETRY_MAX_DELAY_SECONDS + CELERY_TASK_TIME_LIMIT
CELERY_VISIBILITY_TIMEOUT = envint(
    "CELERY_VISIBILITY_TIMEOUT", int(_VISIBILITY_NEEDED + 300), minimum=1
)
if CELERY_VISIBILITY_TIMEOUT <= _VISIBILITY_NEEDED:
    raise ImproperlyConfigured(
        f"CELERY_VISIBILITY_TIMEOUT ({CELERY_VISIBILITY_TIMEOUT}) must be longer than the longest "
        f"retry delay plus the longest task ({_VISIBILITY_NEEDED:.0f} seconds)"
    )
CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] = CELERY_VISIBILITY_TIMEOUT

# --- The history's signed checkpoints (frameworks/checkpoints.py; the README's "Audit") --------
# The Ed25519 private key: PEM text in HISTORY_SIGNING_KEY, or a PEM file. Never in the
# database. Without one, no checkpoints are written and the audit page says so.
HISTORY_SIGNING_KEY = envstr("HISTORY_SIGNING_KEY")
HISTORY_SIGNING_KEY_FILE = envstr("HISTORY_SIGNING_KEY_FILE")
# Where verify_history and the web read the public key when they do not hold the private one.
HISTORY_PUBLIC_KEY_FILE = envstr("HISTORY_PUBLIC_KEY_FILE")
HISTORY_CHECKPOINT_SECONDS = envint("HISTORY_CHECKPOINT_SECONDS", 300, minimum=1)
# Comma-separated: file:/path (or a bare path), stdout, s3://bucket/prefix.
HISTORY_CHECKPOINT_DESTINATIONS = envlist(
    "HISTORY_CHECKPOINT_DESTINATIONS", [f"file:{DATA_DIR / 'history-checkpoints.jsonl'}"]
)
for _destination in HISTORY_CHECKPOINT_DESTINATIONS:
    if not (_destination == "stdout" or _destination.startswith(("s3://", "file:/", "/"))):
        raise ImproperlyConfigured(
            "HISTORY_CHECKPOINT_DESTINATIONS takes file:/path, stdout or s3://bucket/prefix, "
            f"not {_destination!r}"
        )
HISTORY_CHECKPOINT_S3_LOCK_MODE = envstr("HISTORY_CHECKPOINT_S3_LOCK_MODE", "COMPLIANCE")
if HISTORY_CHECKPOINT_S3_LOCK_MODE not in ("COMPLIANCE", "GOVERNANCE"):
    raise ImproperlyConfigured(
        "HISTORY_CHECKPOINT_S3_LOCK_MODE must be COMPLIANCE or GOVERNANCE, "
        f"not {HISTORY_CHECKPOINT_S3_LOCK_MODE!r}"
    )
HISTORY_CHECKPOINT_S3_RETAIN_DAYS = envint("HISTORY_CHECKPOINT_S3_RETAIN_DAYS", 2557, minimum=1)
HISTORY_CHECKPOINT_S3_REGION = envstr("HISTORY_CHECKPOINT_S3_REGION")

CELERY_BEAT_SCHEDULE = {
    "sync-frameworks": {
        "task": "frameworks.tasks.sync_frameworks",
        "schedule": float(SYNC_INTERVAL_SECONDS),
        # A beat message nobody ran before the next one is worthless: let it expire.
        "options": {"expires": float(SYNC_INTERVAL_SECONDS)},
    },
    "reconcile-changes": {
        "task": "frameworks.tasks.reconcile",
        "schedule": RECONCILE_INTERVAL_SECONDS,
        "options": {"expires": RECONCILE_INTERVAL_SECONDS},
    },
    "history-checkpoint": {
        "task": "frameworks.tasks.history_checkpoint",
        "schedule": float(HISTORY_CHECKPOINT_SECONDS),
        "options": {"expires": float(HISTORY_CHECKPOINT_SECONDS)},
    },
}

# /metrics asks for this bearer token when it is set (Prometheus: `authorization: {credentials}`).
METRICS_TOKEN = envstr("METRICS_TOKEN")

LOG_LEVEL = envstr("LOG_LEVEL", "INFO").upper()
if LOG_LEVEL not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
    raise ImproperlyConfigured(
        f"LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL, not {LOG_LEVEL!r}"
    )

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"botocore": {"level": "WARNING"}, "urllib3": {"level": "WARNING"}},
}
