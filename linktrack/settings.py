"""linktrack settings, read from the environment.

Every value has a safe default for the embedded setup (SQLite, local-memory cache, direct click
recording). Bad values raise ImproperlyConfigured at start-up rather than misbehaving later.
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from linktrack.rates import parse_rate

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("LINKTRACK_VAR_DIR", BASE_DIR / "var"))


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (true/false/1/0/yes/no), got {raw!r}")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, got {raw!r}") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, got {value}")
    return value


def env_list(name: str, default: list[str] | None = None) -> list[str]:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return list(default or [])
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_url(name: str, default: str = "", *, schemes: tuple[str, ...]) -> str:
    raw = os.environ.get(name, default).strip()
    if not raw:
        return ""
    parts = urlsplit(raw)
    if parts.scheme not in schemes or not (parts.netloc or parts.path):
        raise ImproperlyConfigured(
            f"{name} must be a URL with scheme {' or '.join(schemes)}, got {raw!r}"
        )
    return raw


def env_choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    value = os.environ.get(name, "").strip() or default
    if value not in choices:
        raise ImproperlyConfigured(f"{name} must be one of {', '.join(choices)}, got {value!r}")
    return value


def env_rate(name: str, default: str) -> str:
    """A rate limit such as ``1000/m``, checked here so that every limit reads a valid one."""
    value = os.environ.get(name, "").strip() or default
    try:
        parse_rate(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} is not a valid rate limit: {exc}") from None
    return value


DEBUG = env_bool("DEBUG", False)

SECRET_KEY_FILE = VAR_DIR / "secret_key"


def secret_key_from_file(path: Path) -> str:
    """The key ``make run`` keeps in ``var/secret_key``, so that ``manage.py`` commands typed by
    hand after ``make run`` sign and read what the server does.

    Only read when ``SECRET_KEY`` is unset, and only from a file that is the owner's alone (mode
    0600, as ``make run`` creates it): a key other users can read is no secret, and a production
    host must not quietly sign with one.
    """
    try:
        status = path.stat()
    except FileNotFoundError:
        return ""
    if status.st_mode & 0o077 or status.st_uid != os.getuid():
        raise ImproperlyConfigured(
            f"{path} must belong to this user and be readable by it alone (chmod 600 {path}), "
            "or set SECRET_KEY"
        )
    return path.read_text(encoding="utf-8").strip()


SECRET_KEY = env_str("SECRET_KEY") or secret_key_from_file(SECRET_KEY_FILE)
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            f"SECRET_KEY is required unless DEBUG=true (make run keeps one in {SECRET_KEY_FILE})"
        )
    SECRET_KEY = "insecure-debug-only-key"  # noqa: S105 - only ever used with DEBUG on

TRACKING_BASE_URL = env_url(
    "TRACKING_BASE_URL", "http://127.0.0.1:8000", schemes=("http", "https")
).rstrip("/")
_tracking_host = urlsplit(TRACKING_BASE_URL).hostname or "127.0.0.1"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", [_tracking_host, "127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [TRACKING_BASE_URL])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_api_key",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    # Before django_tasks_db: its ``db_worker`` command starts the notification pass first.
    "notifications",
    "django_tasks",
    "django_tasks_db",
    "tracking",
    "analytics",
]

MIDDLEWARE = [
    # GET /track/<id> goes through REDIRECT_MIDDLEWARE below only, not through this whole list.
    "tracking.fastpath.RedirectFastPathMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "linktrack.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Marks signed-in staff users' browsers, so that their own clicks are not counted as people.
    "tracking.owner.OwnerCookieMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
# The middleware the redirect runs (in this order), a subset of MIDDLEWARE: it reads no session,
# user or messages and serves no static files or protected HTML. See tracking/fastpath.py.
REDIRECT_MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "linktrack.urls"
WSGI_APPLICATION = "linktrack.wsgi.application"
ASGI_APPLICATION = "linktrack.asgi.application"

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
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'linktrack.sqlite3'}"
_db_scheme = urlsplit(DATABASE_URL).scheme
if _db_scheme not in {"sqlite", "postgres", "postgresql", "pgsql"}:
    raise ImproperlyConfigured(
        f"DATABASE_URL must be a sqlite:// or postgres:// URL, got scheme {_db_scheme!r}"
    )
try:
    _default_db: dict[str, Any] = dict(dj_database_url.parse(DATABASE_URL))
except ValueError as exc:
    raise ImproperlyConfigured(f"DATABASE_URL is not a valid database URL: {exc}") from None
if _default_db["ENGINE"] == "django.db.backends.postgresql":
    # Persistent connections: the redirect must not pay a connection handshake per request.
    _default_db["CONN_MAX_AGE"] = env_int("DB_CONN_MAX_AGE", 600, minimum=0)
    _default_db["CONN_HEALTH_CHECKS"] = True
    _default_db.setdefault("OPTIONS", {})["connect_timeout"] = env_int(
        "DB_CONNECT_TIMEOUT", 5, minimum=1
    )
    # PostgreSQL compiles a query it estimates dear (JIT) before running it: ~20 ms a statement
    # here, more than most dashboard and rollup statements take to run. DB_JIT=server leaves it
    # to the server's setting (e.g. behind a pooler that refuses the startup option).
    if env_choice("DB_JIT", "off", ("off", "server")) == "off":
        _default_db["OPTIONS"].setdefault("options", "-c jit=off")
else:
    # Persistent connections matter even more here: when the last connection to a WAL database
    # closes, SQLite checkpoints and removes the WAL, which made every click cost a sync.
    _default_db["CONN_MAX_AGE"] = env_int("DB_CONN_MAX_AGE", 600, minimum=0)
    _default_db.setdefault("OPTIONS", {}).update(
        {
            # WAL lets the dashboard read while the redirect writes.
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        }
    )
DATABASES = {"default": _default_db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# Some indexes carry extra columns so that PostgreSQL answers from the index alone (``include``);
# SQLite builds them on their key columns, which is all it needs: nothing to warn about.
SILENCED_SYSTEM_CHECKS = ["models.W040"]

# --- Cache ----------------------------------------------------------------------------------
REDIS_URL = env_url("REDIS_URL", schemes=("redis", "rediss", "unix"))
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", "linktrack"),
            "OPTIONS": {
                "CLIENT_CLASS": "django_redis.client.DefaultClient",
                "PARSER_CLASS": "redis.connection._HiredisParser",
                # Short timeouts: a slow Redis must not hold the redirect hostage.
                "SOCKET_CONNECT_TIMEOUT": 0.5,
                "SOCKET_TIMEOUT": 0.5,
            },
        }
    }
    # A Redis outage degrades caching; it must not fail requests.
    DJANGO_REDIS_IGNORE_EXCEPTIONS = True
    DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "linktrack",
        }
    }

# --- Click recording ------------------------------------------------------------------------
CLICK_MODE = env_choice("CLICK_MODE", "buffered" if REDIS_URL else "direct", ("direct", "buffered"))
if CLICK_MODE == "buffered" and not REDIS_URL:
    raise ImproperlyConfigured("CLICK_MODE=buffered needs REDIS_URL")
TRUSTED_PROXIES = env_list("TRUSTED_PROXIES")
for _proxy in TRUSTED_PROXIES:
    try:
        ipaddress.ip_network(_proxy, strict=False)
    except ValueError:
        raise ImproperlyConfigured(
            f"TRUSTED_PROXIES must be IP addresses or CIDR networks, got {_proxy!r}"
        ) from None
RESPECT_DNT = env_bool("RESPECT_DNT", True)
# The owner's home or office networks: clicks from them are the owner's, never a person's.
OWNER_NETWORKS = env_list("OWNER_NETWORKS")
for _network in OWNER_NETWORKS:
    try:
        ipaddress.ip_network(_network, strict=False)
    except ValueError:
        raise ImproperlyConfigured(
            f"OWNER_NETWORKS must be IP addresses or CIDR networks, got {_network!r}"
        ) from None
SCANNER_WINDOW_SECONDS = env_int("SCANNER_WINDOW_SECONDS", 10, minimum=0)
# More email-security networks (one IP/CIDR a line, '#' comments), added to the built-in list.
SCANNER_NETWORKS_FILE = env_str("SCANNER_NETWORKS_FILE").strip()
if SCANNER_NETWORKS_FILE and not Path(SCANNER_NETWORKS_FILE).is_file():
    raise ImproperlyConfigured(
        f"SCANNER_NETWORKS_FILE must name a readable file, got {SCANNER_NETWORKS_FILE!r}"
    )
# Link lookups: in-process TTL (other processes see a change within it), shared-cache TTLs.
LINK_LOCAL_CACHE_SECONDS = env_int("LINK_LOCAL_CACHE_SECONDS", 5, minimum=0)
LINK_CACHE_SECONDS = env_int("LINK_CACHE_SECONDS", 300, minimum=1)
LINK_NEGATIVE_CACHE_SECONDS = env_int("LINK_NEGATIVE_CACHE_SECONDS", 30, minimum=1)
# Clicks from an external domain may carry a clicked_at this far in the future (clock skew).
CLICK_FUTURE_SKEW_SECONDS = env_int("CLICK_FUTURE_SKEW_SECONDS", 300, minimum=0)
CLICK_RATE_LIMIT = env_rate("CLICK_RATE_LIMIT", "1000/m")
# django-ratelimit's own settings, at its defaults: stated, because it reads each of them per
# counted request, and an unset one costs Django a raised AttributeError each time.
RATELIMIT_ENABLE = True
RATELIMIT_USE_CACHE = "default"
RATELIMIT_CACHE_PREFIX = "rl:"
RATELIMIT_HASH_ALGORITHM = hashlib.sha256
RATELIMIT_FAIL_OPEN = False
# Buffered mode: the Redis Stream the redirect appends to and the writer drains.
CLICK_STREAM_KEY = env_str("CLICK_STREAM_KEY", "linktrack:clicks")
# Short timeouts: when Redis stalls the redirect falls back to a direct INSERT instead of waiting.
CLICK_STREAM_SOCKET_TIMEOUT_MS = env_int("CLICK_STREAM_SOCKET_TIMEOUT_MS", 500, minimum=10)
# Clicks that could reach neither Redis nor the database are appended here; the writer replays them.
CLICK_SPOOL_DIR = Path(env_str("CLICK_SPOOL_DIR") or (VAR_DIR / "spool"))
# /track/health answers 503 when the oldest unwritten click is older than this.
CLICK_BACKLOG_MAX_AGE_SECONDS = env_int("CLICK_BACKLOG_MAX_AGE_SECONDS", 60, minimum=1)
CLICK_WRITER_BATCH_SIZE = env_int("CLICK_WRITER_BATCH_SIZE", 2000, minimum=1)
# After a batch smaller than that, the writer waits this long before reading again, so that under a
# steady stream it writes fewer, larger batches (each costs a fixed number of round trips).
CLICK_WRITER_LINGER_MS = env_int("CLICK_WRITER_LINGER_MS", 200, minimum=0)
# Entries a writer read but did not acknowledge for this long are taken over by another writer.
CLICK_WRITER_CLAIM_IDLE_SECONDS = env_int("CLICK_WRITER_CLAIM_IDLE_SECONDS", 60, minimum=1)
# Clicks stored by plain SQL without a classification: at most this many are classified per run
# of the classification pass (click writer, notifications worker, run_maintenance).
UNCLASSIFIED_PASS_LIMIT = env_int("UNCLASSIFIED_PASS_LIMIT", 2000, minimum=1)
ANALYTICS_RATE_LIMIT = env_rate("ANALYTICS_RATE_LIMIT", "100/m")

# --- Analytics ------------------------------------------------------------------------------
# Dashboard aggregates are cached this long, so a new click shows up within it (at most 60 s).
ANALYTICS_CACHE_SECONDS = env_int("ANALYTICS_CACHE_SECONDS", 30, minimum=0)
if ANALYTICS_CACHE_SECONDS > 60:
    raise ImproperlyConfigured("ANALYTICS_CACHE_SECONDS must be at most 60 (new clicks show up)")
# Each rollup run also rolls up today's clicks older than this; newer ones are read raw. A click
# stored later than this after it happened (a replayed spool, a reported click) shows at the next run.
ANALYTICS_ROLLUP_LAG_SECONDS = env_int("ANALYTICS_ROLLUP_LAG_SECONDS", 300, minimum=0)
# Distinct sessions over every link are counted exactly while a period's days hold at most this
# many (summed day by day); above, they are estimated from daily sketches, about 1.6 % off
# (analytics.session_sketches), and the figures say so.
ANALYTICS_EXACT_SESSIONS_UP_TO = env_int("ANALYTICS_EXACT_SESSIONS_UP_TO", 50_000, minimum=0)

# --- Geodata -------------------------------------------------------------------------------
# MaxMind-format databases the user downloads (docs/geo.md); empty: clicks keep no geo fields.
GEOIP_CITY_PATH = env_str("GEOIP_CITY_PATH")
GEOIP_ASN_PATH = env_str("GEOIP_ASN_PATH")
# The user's own ASN → network kind list (asn,kind,organisation,source); it wins over ours.
GEOIP_NETWORKS_PATH = env_str("GEOIP_NETWORKS_PATH")
# Where load_demo writes its made-up demo databases, used only while neither path is set.
GEOIP_DEMO_DIR = VAR_DIR / "geo-demo"

# --- Outcomes -------------------------------------------------------------------------------
# Which application status means which outcome stage (submitted, responded, interview, offer), as
# "status:stage" pairs; a stage implies the ones before it, so "interviewed" also means responded.
OUTCOME_STAGE_MAP = env_list(
    "OUTCOME_STAGE_MAP",
    [
        "submitted:submitted",
        "reviewing:submitted",
        "rejected:responded",
        "interviewed:interview",
        "offered:offer",
    ],
)
# Person clicks at most this long before a stage was reached are credited for it.
OUTCOME_LOOKBACK_DAYS = env_int("OUTCOME_LOOKBACK_DAYS", 30, minimum=1)
# Time-decay attribution: a click this many days before the stage counts half as much.
OUTCOME_HALF_LIFE_DAYS = env_int("OUTCOME_HALF_LIFE_DAYS", 7, minimum=1)

# --- Privacy --------------------------------------------------------------------------------
IP_RETENTION_DAYS = env_int("IP_RETENTION_DAYS", 90, minimum=1)
CLICK_RETENTION_DAYS = env_int("CLICK_RETENTION_DAYS", 730, minimum=1)

# --- Internationalisation -------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
# Storage is UTC; TIME_ZONE only decides day boundaries shown to the user.
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

# --- Static files ---------------------------------------------------------------------------
STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("STATIC_ROOT") or (VAR_DIR / "staticfiles"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

LOGIN_URL = "admin:login"

# --- Public endpoints -----------------------------------------------------------------------
# /track/health shows its full report (database vendor, cache backend, version, counters) to staff
# and to callers presenting this token; everyone else gets the status only. Empty: staff only.
HEALTH_TOKEN = env_str("HEALTH_TOKEN").strip()
if HEALTH_TOKEN and len(HEALTH_TOKEN) < 16:
    raise ImproperlyConfigured(
        "HEALTH_TOKEN must be at least 16 characters "
        "(python -c 'import secrets; print(secrets.token_urlsafe(32))')"
    )
# Admin sign-in attempts (POSTs) per client address (IPv6: per /64) and per username, in
# django-ratelimit's syntax ("20/10m": 20 per 10 minutes). Past either, the login answers 429.
ADMIN_LOGIN_RATE_PER_IP = env_rate("ADMIN_LOGIN_RATE_PER_IP", "20/10m")
ADMIN_LOGIN_RATE_PER_USERNAME = env_rate("ADMIN_LOGIN_RATE_PER_USERNAME", "10/10m")
# Wrong passwords on a password-protected link, per client address (IPv6: per /64) and per link.
# Past either, the form answers 429 without checking the password.
LINK_PASSWORD_RATE_PER_IP = env_rate("LINK_PASSWORD_RATE_PER_IP", "10/10m")
LINK_PASSWORD_RATE_PER_LINK = env_rate("LINK_PASSWORD_RATE_PER_LINK", "30/10m")

# --- Security -------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", TRACKING_BASE_URL.startswith("https"))
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", TRACKING_BASE_URL.startswith("https"))
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
# Only behind a TLS-terminating proxy that sets X-Forwarded-Proto itself (and strips the client's):
# otherwise any client could claim to be on https.
if env_bool("SECURE_PROXY_SSL_HEADER", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Paths (regular expressions, no leading slash) answered over plain http even with
# SECURE_SSL_REDIRECT, e.g. a load balancer's health probe.
SECURE_REDIRECT_EXEMPT = env_list("SECURE_REDIRECT_EXEMPT")

# Content security policy of the HTML pages (the dashboard and the admin): scripts only from this
# site, no inline scripts, no plugins, no framing. Styles allow inline blocks because Django's admin
# change list emits one; scripts, the real injection risk, stay strict.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
# URL prefixes that get the policy. The redirect and the API answer without HTML to protect.
CONTENT_SECURITY_POLICY_PATHS = ("/dashboard/", "/admin/")

# --- Events and notifications ---------------------------------------------------------------
# A person click after this many days without one on the application: "application.reopened".
APPLICATION_REOPENED_AFTER_DAYS = env_int("APPLICATION_REOPENED_AFTER_DAYS", 14, minimum=1)
# More person clicks than this on one link (or one job) within a clock hour: "clicks.spike".
# 0 turns the event off.
CLICK_SPIKE_PER_HOUR = env_int("CLICK_SPIKE_PER_HOUR", 20, minimum=0)
# How often the worker (manage.py db_worker) looks for due events and deliveries.
NOTIFICATIONS_POLL_SECONDS = env_int("NOTIFICATIONS_POLL_SECONDS", 5, minimum=1)
# Webhook endpoints on private, loopback or link-local addresses are refused (at creation and at
# every send, after DNS resolution) unless this is set, for a self-hoster's own network.
WEBHOOK_ALLOW_PRIVATE_NETWORKS = env_bool("WEBHOOK_ALLOW_PRIVATE_NETWORKS", False)
# An endpoint whose deliveries failed this many times in a row is disabled.
WEBHOOK_DISABLE_AFTER_FAILURES = env_int("WEBHOOK_DISABLE_AFTER_FAILURES", 5, minimum=1)
# E-mail (alerts, digests): unset prints messages on the console (so `make run` shows them);
# smtp://user:password@host:587 (STARTTLS with ?tls=true), smtps://…:465 (TLS).
EMAIL_URL = env_url("EMAIL_URL", schemes=("smtp", "smtps"))
_email = urlsplit(EMAIL_URL)
if _email.scheme in {"smtp", "smtps"}:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = _email.hostname or "localhost"
    try:
        EMAIL_PORT = _email.port or (465 if _email.scheme == "smtps" else 25)
    except ValueError:
        raise ImproperlyConfigured(f"EMAIL_URL has an invalid port: {EMAIL_URL!r}") from None
    EMAIL_HOST_USER = unquote(_email.username or "")
    EMAIL_HOST_PASSWORD = unquote(_email.password or "")
    EMAIL_USE_SSL = _email.scheme == "smtps"
    EMAIL_USE_TLS = not EMAIL_USE_SSL and "tls=true" in _email.query.lower()
    EMAIL_TIMEOUT = 10
else:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
DEFAULT_FROM_EMAIL = env_str("ALERT_EMAIL_FROM", "linktrack <linktrack@localhost>")
# Who receives alerts and digests; empty: the active superusers' addresses.
ALERT_EMAIL_TO = env_list("ALERT_EMAIL_TO")
# Background work (deliveries) runs as django-tasks on the database backend: the worker is
# ``manage.py db_worker``; a request or the click writer only ever writes rows.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

# --- REST framework -------------------------------------------------------------------------
REST_FRAMEWORK = {
    # API keys first (``Authorization: Api-Key <key>``), then staff sessions (CSRF enforced).
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "tracking.api.auth.APIKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["tracking.api.permissions.ScopeOrModelPermission"],
    "DEFAULT_PARSER_CLASSES": ["tracking.api.parsers.JSONBodyParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "tracking.api.parsers.JSONFallbackNegotiation",
    "EXCEPTION_HANDLER": "tracking.api.errors.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "tracking.api.pagination.Pagination",
    "PAGE_SIZE": 50,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "linktrack API",
    "DESCRIPTION": "Tracked links for job applications: create links, record clicks, read analytics.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "ApplicationStatusEnum": "tracking.models.ApplicationStatus",
        "ClickBatchStatusEnum": ["stored", "rejected"],
        "ClassificationEnum": "tracking.models.Classification",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "tracking.api.schema.add_error_responses",
    ],
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {
        "handlers": ["console"],
        "level": env_choice("LOG_LEVEL", "INFO", ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")),
    },
}

LINKTRACK_VERSION = "0.1.0"
