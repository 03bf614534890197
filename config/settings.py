"""Settings for the Auto-Remediation System: one module, every value from the environment.

Each variable is read once, here, through django-environ. A value that cannot be parsed or
is out of range stops start-up with ``ImproperlyConfigured`` naming the variable, so a typo
in an operator's environment never silently becomes a default.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
# A local .env (written by `make setup` with a generated SECRET_KEY) fills in what the real
# environment leaves unset; the real environment always wins.
if (BASE_DIR / ".env").is_file():
    environ.Env.read_env(BASE_DIR / ".env", overwrite=False)


def _bool(name: str, default: bool) -> bool:
    raw = env.str(name, default=None)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, got {raw!r}")


def _number(name: str, default: float, *, low: float, high: float | None, integer: bool) -> Any:
    raw = env.str(name, default=None)
    if raw is None:
        return default
    try:
        value: float = int(raw) if integer else float(raw)
    except ValueError:
        kind = "an integer" if integer else "a number"
        raise ImproperlyConfigured(f"{name} must be {kind}, got {raw!r}") from None
    if value != value or value < low or (high is not None and value > high):  # NaN or out of range
        bound = f"between {low:g} and {high:g}" if high is not None else f"at least {low:g}"
        raise ImproperlyConfigured(f"{name} must be {bound}, got {raw!r}")
    return value


def _choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    value = env.str(name, default=default).strip()
    if value not in choices:
        raise ImproperlyConfigured(f"{name} must be one of {', '.join(choices)}, got {value!r}")
    return value


# --- Django core -------------------------------------------------------------------------

DEBUG = _bool("DEBUG", False)
# A development key is accepted only with DEBUG on; production must set its own.
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is false")
    SECRET_KEY = "django-insecure-development-only-key-do-not-use-in-production"  # noqa: S105
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# Behind TLS in production; the quickstart (DEBUG) serves plain HTTP on localhost.
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = _bool("SECURE_COOKIES", not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
# Behind a TLS-terminating proxy in production (README "Running in production"): the proxy
# says which scheme the client used, and plain HTTP is redirected to HTTPS. Off by default
# so the quickstart and the tests speak plain HTTP on localhost.
SECURE_SSL_REDIRECT = _bool("SECURE_SSL_REDIRECT", False)
# Load balancers and Prometheus reach these over the internal network, often without TLS.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^metrics$"]
if _bool("SECURE_PROXY_SSL_HEADER", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = _number("SECURE_HSTS_SECONDS", 0, low=0, high=10 * 365 * 86400, integer=True)
SECURE_HSTS_INCLUDE_SUBDOMAINS = _bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = _bool("SECURE_HSTS_PRELOAD", False)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    # API tokens (stored hashed); the model is remediation.ApiToken (KNOX_TOKEN_MODEL below).
    "knox",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_prometheus",
    # htmx, vendored in the package and served as a static file ({% htmx_script %}).
    "django_htmx",
    "patterns",
    "policies",
    "remediation",
    "feedback",
    # The demo history of `make run` (manage.py seed_demo), and the incident replay
    # (manage.py replay_incidents, a program apart): apps for their commands only.
    "demo",
    "replay",
    # After the project's apps: remediation's own `qcluster` command (django-q2's cluster,
    # stopping cleanly on SIGTERM) takes the place of django-q2's.
    "django_q",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Serves collected static files from STATIC_ROOT in production (no separate web server
    # needed for them); with DEBUG on, runserver serves them as usual.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "config.middleware.ApiJsonErrorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # django-prometheus' own, with invented HTTP methods counted under one label.
    "config.middleware.PrometheusAfterMiddleware",
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
                "policies.context_processors.pause_banner",
            ],
        },
    },
]

# SQLite (a file under var/) is the embedded default for the quickstart; PostgreSQL through
# psycopg in production and CI: DATABASE_URL=postgres://user@host:5432/name
# The quickstart's own database: the only one `manage.py seed_demo` loads demo data into
# without --force.
QUICKSTART_DATABASE = VAR_DIR / "db.sqlite3"
_default_sqlite = f"sqlite:///{QUICKSTART_DATABASE}"
try:
    DATABASES = {"default": env.db("DATABASE_URL", default=_default_sqlite)}
except Exception as exc:  # django-environ raises several types for a malformed URL
    raise ImproperlyConfigured(f"DATABASE_URL is not a valid database URL: {exc}") from exc
_SUPPORTED_ENGINES = ("django.db.backends.sqlite3", "django.db.backends.postgresql")
if DATABASES["default"].get("ENGINE") not in _SUPPORTED_ENGINES:
    raise ImproperlyConfigured(
        "DATABASE_URL must be a sqlite:/// or postgres:// URL, "
        f"got scheme {env.str('DATABASE_URL').split(':', 1)[0]!r}"
    )
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The web server and the qcluster worker write the same file: wait for locks instead of
    # failing, take the write lock at BEGIN (no lock-upgrade deadlock), and use WAL so
    # readers do not block the writer.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 30,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
    # Tests use a file beside the database (not memory) so that a real worker process and
    # threads see the same data.
    if DATABASES["default"]["NAME"] not in ("", ":memory:"):
        DATABASES["default"].setdefault("TEST", {})["NAME"] = f"{DATABASES['default']['NAME']}-test"
    VAR_DIR.mkdir(exist_ok=True)
# Persistent connections: each web and worker process keeps its connection for
# CONN_MAX_AGE seconds instead of opening one per request; the health check replaces a
# connection the database closed (restart, failover) before a request uses it.
DATABASES["default"]["CONN_MAX_AGE"] = _number("CONN_MAX_AGE", 60, low=0, high=86_400, integer=True)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = _bool("CONN_HEALTH_CHECKS", True)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = env.str("STATIC_ROOT", default=str(BASE_DIR / "staticfiles"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Pre-compressed (gzip) copies written by collectstatic, served by WhiteNoise. Not the
    # manifest (hashed names) variant: it makes every page that names a static file fail
    # until collectstatic has run, which the test suite and `make run` never do.
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/inbox/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

# --- Sign-in: local passwords and OpenID Connect (remediation.accounts) ------------------
# docs/security.md, "Signing in". Off until OIDC_ISSUER and OIDC_CLIENT_ID are set: then
# the login page offers "Sign in with OIDC_PROVIDER_NAME" (mozilla-django-oidc, the
# provider's endpoints from its discovery document), people are matched by the ID token's
# issuer and subject, and the groups claim sets Approvers and Operators at every sign-in.
OIDC_ISSUER = env.str("OIDC_ISSUER", default="").strip()  # exactly as the tokens say it
OIDC_CLIENT_ID = env.str("OIDC_CLIENT_ID", default="").strip()
OIDC_CLIENT_SECRET = env.str("OIDC_CLIENT_SECRET", default="")
OIDC_PROVIDER_NAME = env.str("OIDC_PROVIDER_NAME", default="single sign-on").strip()
OIDC_SCOPES = env.str("OIDC_SCOPES", default="openid email profile").strip()
OIDC_GROUPS_CLAIM = env.str("OIDC_GROUPS_CLAIM", default="groups").strip()
OIDC_ENABLED = bool(OIDC_ISSUER or OIDC_CLIENT_ID)
# What each of the provider's groups makes someone here: "idp-group=Approvers,...". Only the
# groups this system manages can be named; a provider group not listed is ignored.
OIDC_MANAGED_GROUPS = ("Approvers", "Operators")
OIDC_GROUP_MAP: dict[str, tuple[str, ...]] = {}
for _pair in env.list("OIDC_GROUP_MAP", default=[]):
    _idp_group, _sep, _local = (part.strip() for part in _pair.partition("="))
    if not _sep or not _idp_group or _local not in OIDC_MANAGED_GROUPS:
        raise ImproperlyConfigured(
            f"OIDC_GROUP_MAP: {_pair[:80]!r} must be like idp-group=Approvers "
            f"(the group here one of {', '.join(OIDC_MANAGED_GROUPS)})"
        )
    OIDC_GROUP_MAP[_idp_group] = (*OIDC_GROUP_MAP.get(_idp_group, ()), _local)
# A session the provider signed someone in to lasts this long (then they sign in again, and
# their groups are read again); 0: as long as any session (SESSION_COOKIE_AGE, two weeks).
OIDC_SESSION_SECONDS = _number(
    "OIDC_SESSION_SECONDS", 8 * 3600, low=0, high=30 * 86400, integer=True
)
# False: the password form and its POST are refused, on the login page and the admin's; the
# provider is the only way in (a break-glass account: docs/security.md).
LOCAL_LOGIN_ENABLED = _bool("LOCAL_LOGIN_ENABLED", True)
if OIDC_ENABLED:
    if not (OIDC_ISSUER and OIDC_CLIENT_ID and OIDC_CLIENT_SECRET):
        raise ImproperlyConfigured(
            "OIDC_ISSUER, OIDC_CLIENT_ID and OIDC_CLIENT_SECRET must be set together"
        )
    if not re.fullmatch(r"https?://[^\s#?]{1,240}", OIDC_ISSUER):
        raise ImproperlyConfigured(f"OIDC_ISSUER must be an http(s) URL, got {OIDC_ISSUER[:60]!r}")
    if OIDC_ISSUER.startswith("http://") and not DEBUG:
        raise ImproperlyConfigured("OIDC_ISSUER must be an https URL when DEBUG is false")
    if "openid" not in OIDC_SCOPES.split():
        raise ImproperlyConfigured(f"OIDC_SCOPES must include openid, got {OIDC_SCOPES[:60]!r}")
    if not OIDC_GROUPS_CLAIM or not OIDC_PROVIDER_NAME:
        raise ImproperlyConfigured("OIDC_GROUPS_CLAIM and OIDC_PROVIDER_NAME may not be empty")
elif not LOCAL_LOGIN_ENABLED:
    raise ImproperlyConfigured(
        "LOCAL_LOGIN_ENABLED=false needs an OpenID provider (OIDC_ISSUER), or nobody can sign in"
    )
AUTHENTICATION_BACKENDS = [
    # Passwords, refused while LOCAL_LOGIN_ENABLED is false (their sessions end too).
    "remediation.accounts.backends.LocalPasswordBackend",
    # The OpenID provider's sign-ins (nothing while OIDC is not configured).
    "remediation.accounts.backends.OidcBackend",
]
# mozilla-django-oidc's own settings, from the ones above. The provider's endpoints come from
# its discovery document (remediation.accounts.oidc), fetched at the first sign-in.
OIDC_RP_CLIENT_ID = OIDC_CLIENT_ID
OIDC_RP_CLIENT_SECRET = OIDC_CLIENT_SECRET
OIDC_RP_SCOPES = OIDC_SCOPES
OIDC_RP_SIGN_ALGO = "RS256"
OIDC_USE_PKCE = True
OIDC_TIMEOUT = 10
OIDC_CREATE_USER = True
OIDC_AUTHENTICATE_CLASS = "remediation.accounts.views.OidcSignInStart"
OIDC_CALLBACK_CLASS = "remediation.accounts.views.OidcSignInCallback"
LOGIN_REDIRECT_URL_FAILURE = "/accounts/login/?oidc=failed"
# --- end of sign-in ----------------------------------------------------------------------

# Request bodies are bounded before any parsing: the API's largest legal body (a ticket
# with a 20,000-character description) fits well inside this.
DATA_UPLOAD_MAX_MEMORY_SIZE = 256 * 1024
# A request body must arrive within this many seconds in all (config.middleware.BodyDeadline,
# under gunicorn), else 408: a client trickling a body cannot hold a sync worker for
# gunicorn's whole timeout. 0 switches the bound off (a buffering proxy in front bounds it).
REQUEST_BODY_TIMEOUT = _number("REQUEST_BODY_TIMEOUT", 10, low=0, high=300, integer=False)

EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="auto-remediation@localhost")
ADMINS = [("Administrators", a) for a in env.list("ADMIN_EMAILS", default=[])]
# The port `make run` serves on (`make run PORT=8080`), and the address people reach the site
# at, for links in e-mails, chat messages and Slack (approval requests): by default this
# machine on that port.
PORT = env.int("PORT", default=8000)
SITE_URL = env.str("SITE_URL", default=f"http://127.0.0.1:{PORT}")

# Approving from Slack (README, "Approving from Slack"): off until both secrets are set.
SLACK_SIGNING_SECRET = env.str("SLACK_SIGNING_SECRET", default="")
SLACK_BOT_TOKEN = env.str("SLACK_BOT_TOKEN", default="")
SLACK_APPROVAL_CHANNEL = env.str("SLACK_APPROVAL_CHANNEL", default="")
SLACK_API_URL = env.str("SLACK_API_URL", default="https://slack.com/api/")

# One line per event on stderr. LOG_FORMAT=json writes each line as a JSON object (with
# ticket_id and user where the event has them), for a log pipeline to follow a ticket.
LOG_FORMAT = _choice("LOG_FORMAT", "text", ("text", "json"))
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "text": {"()": "config.logs.TextFormatter"},
        "json": {"()": "config.logs.JsonFormatter"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}

# --- REST API ----------------------------------------------------------------------------

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "remediation.accounts.auth.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # Default deny: every endpoint needs an authenticated user unless it says otherwise.
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "config.api.Pagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "config.errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["config.parsers.SafeJSONParser"],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    # Intake (POST /tickets, the Alertmanager webhook) per identity: config/throttling.py.
}
_rate = env.str("THROTTLE_INTAKE_RATE", default="120/min").strip().lower()
if _rate not in ("", "off") and not re.fullmatch(
    r"[1-9][0-9]{0,6}/(s|sec|m|min|h|hour|d|day)", _rate
):
    raise ImproperlyConfigured(
        f"THROTTLE_INTAKE_RATE must be like 120/min (or off), got {_rate[:40]!r}"
    )
REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] = {"intake": None if _rate in ("", "off") else _rate}
# The intake throttle counts in the database (config/throttling.py). The ``throttle`` cache
# holds the Slack endpoint's count of audited unsigned requests: per process by default;
# with several processes point it at a shared cache, e.g. dbcache://throttle_cache after
# `manage.py createcachetable`.
CACHES = {
    "default": env.cache_url("CACHE_URL", default="locmemcache://default"),
    "throttle": env.cache_url("THROTTLE_CACHE_URL", default="locmemcache://throttle"),
}

# API tokens: `Authorization: Token <key>`. The table holds each key's SHA-512 digest and
# first 15 characters, never the key (remediation.accounts). A token works for
# API_TOKEN_TTL_DAYS after it is made unless made with its own lifetime; 0: never expires.
API_TOKEN_TTL_DAYS = _number("API_TOKEN_TTL_DAYS", 365, low=0, high=3650, integer=True)
KNOX_TOKEN_MODEL = "remediation.ApiToken"  # noqa: S105 (a model name, no secret)
REST_KNOX = {
    "TOKEN_TTL": timedelta(days=API_TOKEN_TTL_DAYS) if API_TOKEN_TTL_DAYS else None,
    "AUTH_HEADER_PREFIX": "Token",
    "AUTO_REFRESH": False,
}
# knox's own migrations create its default token table even when KNOX_TOKEN_MODEL names
# another model; with the model swapped that table would only sit there, empty.
MIGRATION_MODULES = {"knox": None}

SPECTACULAR_SETTINGS = {
    "TITLE": "Auto-Remediation System API",
    "DESCRIPTION": (
        "Incident tickets, AI-proposed remediation, reliability scoring, policies, "
        "approvals and feedback. Authenticate with `Authorization: Token <key>`."
    ),
    "VERSION": "1.0.0",
    # 3.1 (JSON Schema 2020-12) can say what the API enforces, e.g. propertyNames.
    "OAS_VERSION": "3.1.0",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "config.api.forbid_unknown_request_fields",
        "remediation.alerts.api.publish_batch_limits",
    ],
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # The schema and Swagger UI need a login, and Swagger UI comes from our own static
    # files (drf-spectacular-sidecar): no CDN, so it works in an air-gapped datacenter.
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "AlertStatusEnum": "remediation.alerts.models.AlertStatus",
        "AlertOutcomeEnum": "remediation.alerts.services.ALERT_OUTCOMES",
    },
}

# --- Background work (django-q2) ---------------------------------------------------------

Q_CLUSTER = {
    "name": "remediation",
    # ORM broker: its enqueue commits or rolls back with the ticket (a transactional outbox)
    # and it is at-least-once; the Redis broker loses in-flight tasks when a worker dies.
    "orm": "default",
    # The ORM broker, with urgent tasks (an approved execution, notices for people) taken
    # before the analyses of a storm; otherwise first in, first out (config/queue.py).
    "broker_class": "config.queue.PriorityOrmBroker",
    "workers": env.int("Q_WORKERS", default=2),
    # Pre-fetch no more than one task per worker: time waiting in the cluster's in-memory
    # queue counts against `retry`, and a task that ages past it is handed out twice.
    "queue_limit": env.int("Q_WORKERS", default=2),
    # Longer than the slowest task: an analysis with the Anthropic client's own timeout and
    # retries ((1 + ANTHROPIC_MAX_RETRIES) * ANTHROPIC_TIMEOUT_SECONDS + backoff) or one
    # action over MCP. A task killed by this is retried after `retry`.
    "timeout": 240,
    # Well above `timeout` plus any queue wait, so a task still running is never handed out
    # a second time while the first copy runs.
    "retry": 600,
    # Failed (raising) tasks are retried a bounded number of times, not forever (the
    # default 0 re-runs a failing task every `retry` seconds without end). Our tasks catch
    # their own errors and record them on the ticket, so this only bounds true crashes.
    "max_attempts": 3,
    "ack_failures": False,
    # A missed schedule slot after downtime runs once, not once per missed slot.
    "catch_up": False,
    "save_limit": 1000,
    "label": "Background tasks",
    "time_zone": "UTC",
    "poll": 0.2,
}

# --- The design's variables --------------------------------------------------------------

# The emergency stop: false means nothing executes, approved and queued work included.
AUTO_REMEDIATION_ENABLED = _bool("AUTO_REMEDIATION_ENABLED", True)
# Executions per rolling hour across every category (each policy has its own cap too).
AUTO_REMEDIATION_MAX_ACTIONS_PER_HOUR = _number(
    "AUTO_REMEDIATION_MAX_ACTIONS_PER_HOUR", 10, low=0, high=100_000, integer=True
)
# True: a policy can waive human approval only through its auto_approve_threshold.
AUTO_REMEDIATION_REQUIRE_APPROVAL = _bool("AUTO_REMEDIATION_REQUIRE_APPROVAL", True)
# Below this reliability nothing runs without a person, whatever a policy says.
AUTO_REMEDIATION_MIN_RELIABILITY = _number(
    "AUTO_REMEDIATION_MIN_RELIABILITY", 85.0, low=0, high=100, integer=False
)
PATTERN_MIN_OCCURRENCES = _number("PATTERN_MIN_OCCURRENCES", 5, low=1, high=1_000_000, integer=True)
PATTERN_MIN_POSITIVE_RATE = _number("PATTERN_MIN_POSITIVE_RATE", 0.85, low=0, high=1, integer=False)
# Not in the design's list but named in its eligibility rule; same meaning, same defaults.
PATTERN_MIN_RELIABILITY = _number("PATTERN_MIN_RELIABILITY", 85.0, low=0, high=100, integer=False)
PATTERN_MIN_SUCCESS_RATE = _number("PATTERN_MIN_SUCCESS_RATE", 0.85, low=0, high=1, integer=False)
# A pattern's average reliability (held against PATTERN_MIN_RELIABILITY) is over its latest
# this many concluded tickets: how far its tickets are trusted now, not when the category
# had no history. 0: over every concluded ticket. A changed value reaches a pattern at its
# next concluded ticket, or every pattern at once with `manage.py recompute_patterns`.
PATTERN_RELIABILITY_WINDOW = _number(
    "PATTERN_RELIABILITY_WINDOW", 10, low=0, high=100_000, integer=True
)
# Shadow agreement as evidence of readiness (docs/learning.md): a pattern also needs this
# many tickets handled by people (approved, rejected, or fixed by hand with trusted
# feedback) whose verdicts agree with its proposals at PATTERN_MIN_SHADOW_AGREEMENT or
# more. 0 (the default) switches the check off, so no pattern loses eligibility by itself.
PATTERN_MIN_SHADOW_DECISIONS = _number(
    "PATTERN_MIN_SHADOW_DECISIONS", 0, low=0, high=1_000_000, integer=True
)
PATTERN_MIN_SHADOW_AGREEMENT = _number(
    "PATTERN_MIN_SHADOW_AGREEMENT", 0.9, low=0, high=1, integer=False
)
# Once a category has this many concluded, analyzed tickets in the calibration window, the
# reliability score's AI factor is the analyzer's confidence calibrated on that history
# (docs/reliability.md, "Calibration").
CALIBRATION_MIN_OUTCOMES = _number(
    "CALIBRATION_MIN_OUTCOMES", 30, low=1, high=1_000_000, integer=True
)

# --- Storm control (remediation.alerts) --------------------------------------------------

# A new incident (alert or ticket) with the pattern and target of an open ticket joins it as
# a repeat instead of starting a second analysis and remediation.
STORM_CONTROL_ENABLED = _bool("STORM_CONTROL_ENABLED", True)
# Once a ticket is closed, at most this many tickets per pattern + target start within the
# window; past that, repeats join the newest ticket (a flapping alert).
STORM_WINDOW_SECONDS = _number("STORM_WINDOW_SECONDS", 3600, low=1, high=30 * 86400, integer=True)
STORM_MAX_TICKETS_PER_WINDOW = _number(
    "STORM_MAX_TICKETS_PER_WINDOW", 3, low=1, high=100_000, integer=True
)
# An open ticket absorbs repeats for at most this long after it was opened; a later repeat
# starts a new ticket, so a ticket left open (auto-remediation off, nobody looking) cannot
# hide an incident for good. Repeats join only tickets of the same submitter.
STORM_MAX_OPEN_SECONDS = _number(
    "STORM_MAX_OPEN_SECONDS", 6 * 3600, low=60, high=30 * 86400, integer=True
)

# --- Analysis ----------------------------------------------------------------------------

AUTO_REMEDIATION_ANALYZER = _choice("AUTO_REMEDIATION_ANALYZER", "local", ("local", "anthropic"))
ANTHROPIC_API_KEY = env.str("ANTHROPIC_API_KEY", default="")
# The design names Sonnet 4.5, which the SDK retires on 2026-11-30; default to a current one.
ANTHROPIC_MODEL = env.str("ANTHROPIC_MODEL", default="claude-sonnet-5-5")
ANTHROPIC_BASE_URL = env.str("ANTHROPIC_BASE_URL", default="")
ANTHROPIC_TIMEOUT_SECONDS = _number(
    "ANTHROPIC_TIMEOUT_SECONDS", 60.0, low=1, high=180, integer=False
)
ANTHROPIC_MAX_RETRIES = _number("ANTHROPIC_MAX_RETRIES", 1, low=0, high=2, integer=True)
if AUTO_REMEDIATION_ANALYZER == "anthropic" and not ANTHROPIC_API_KEY:
    raise ImproperlyConfigured(
        "ANTHROPIC_API_KEY must be set when AUTO_REMEDIATION_ANALYZER=anthropic"
    )

# --- Execution (MCP connectors and the bundled lab) -----------------------------------------

# The lab's state file (SQLite). Handed to the lab's stdio process explicitly: a stdio MCP
# server inherits no environment from the application.
LAB_STATE_PATH = Path(env.str("LAB_STATE_PATH", default=str(VAR_DIR / "lab-state.sqlite3")))
# Where stdio MCP servers' stderr goes (their logs and tracebacks).
MCP_STDERR_LOG = Path(env.str("MCP_STDERR_LOG", default=str(VAR_DIR / "mcp-servers.log")))
# How long a stdio MCP server may take to start and answer the handshake (each call then
# has its connector's own timeout).
MCP_STARTUP_SECONDS = _number("MCP_STARTUP_SECONDS", 20.0, low=1, high=300, integer=False)
# Look before deciding: the worker calls the connectors' listed read-only tools for the
# objects a ticket names before the analysis (docs/investigation.md). Off: every proposal
# rests on the ticket's words alone, so none runs unattended.
INVESTIGATION_ENABLED = _bool("INVESTIGATION_ENABLED", True)
# Ask the platforms' own read tools (the lab's get_vm, get_pod...). Off: only the evidence
# sources (a Prometheus connector) investigate, and what they cannot show is said so.
INVESTIGATION_PLATFORM_READS = _bool("INVESTIGATION_PLATFORM_READS", True)
# Bounds of one investigation: calls and seconds for all of it.
INVESTIGATION_MAX_CALLS = _number("INVESTIGATION_MAX_CALLS", 16, low=1, high=64, integer=True)
INVESTIGATION_MAX_SECONDS = _number(
    "INVESTIGATION_MAX_SECONDS", 8.0, low=0.5, high=120, integer=False
)
# A fix measured by an execution is confirmed only if nothing comes back for this long: the
# same incident reported again, an alert of the ticket still firing, or the observed cause
# seen again at the delayed re-check. A fix that came back counts as a failure of its
# pattern (remediation/tickets/outcomes.py). 0: no hold, the post-checks alone decide.
OUTCOME_HOLD_SECONDS = _number("OUTCOME_HOLD_SECONDS", 3600, low=0, high=30 * 86400, integer=True)
# Fair turns in the analysis queue: a submitter that had this many tickets analyzed in the
# window yields to another submitter's waiting ticket (one token's burst cannot starve the
# rest). See remediation.analysis.services.analysis_may_start.
ANALYSIS_FAIR_SHARE = _number("ANALYSIS_FAIR_SHARE", 5, low=1, high=10_000, integer=True)
ANALYSIS_FAIR_WINDOW_SECONDS = _number(
    "ANALYSIS_FAIR_WINDOW_SECONDS", 60, low=1, high=3600, integer=True
)
# A real MCP server's read-only tools, by name (comma-separated), besides the bundled lab's:
# the only tools a connector's read roles may be mapped to and its investigation may list.
# A deployment setting on purpose: a connector row in the database cannot add to it.
EXTRA_READ_ONLY_TOOLS = tuple(env.list("EXTRA_READ_ONLY_TOOLS", default=[]))
_TOOL_NAME = re.compile(r"^[A-Za-z0-9_.\-/]{1,128}$")
for _tool in EXTRA_READ_ONLY_TOOLS:
    if not _TOOL_NAME.fullmatch(_tool):
        raise ImproperlyConfigured(f"EXTRA_READ_ONLY_TOOLS: {_tool[:60]!r} is not a tool name")
# An execution still running after this long was left by a worker that stopped: the sweep
# marks it unknown (a person reconciles; nothing re-runs a write by itself). Longer than the
# worker's task timeout.
EXECUTION_STALE_SECONDS = _number("EXECUTION_STALE_SECONDS", 600, low=60, high=86_400, integer=True)
# Key of the audit trail's hash chain; empty: derived from SECRET_KEY. Changing it makes
# verify_audit report every older row, anchor and seal.
AUDIT_HMAC_KEY = env.str("AUDIT_HMAC_KEY", default="")
