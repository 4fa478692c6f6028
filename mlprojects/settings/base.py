"""Settings shared by every mode. Every value that differs between machines comes from
the environment through the one reader below; a malformed value raises
ImproperlyConfigured at start-up instead of surfacing later."""

import os
from datetime import timedelta
from pathlib import Path

import environ
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from mlprojects.site.logs import logging_config
from mlprojects.site.sentry import init_sentry

from .storage import default_storage_backend

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
if (BASE_DIR / ".env").exists():
    environ.Env.read_env(BASE_DIR / ".env")


def env_bool(name: str, default: bool) -> bool:
    """Strict boolean parsing: 'yes', 'maybe' or a typo must not silently mean False."""
    raw = env.str(name, default="")
    if raw == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "on", "yes"}:
        return True
    if value in {"0", "false", "off", "no"}:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean (use true or false).")


def env_rate(name: str, default: str) -> str:
    """A DRF throttle rate such as `600/min` (per second, minute, hour or day)."""
    raw = env.str(name, default=default).strip()
    number, _, period = raw.partition("/")
    if not number.isdigit() or period[:1] not in {"s", "m", "h", "d"}:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a rate such as 600/min.")
    return raw


def env_int(name: str, default: int) -> int:
    raw = env.str(name, default="")
    if raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name}={raw!r} is not an integer.") from exc


def env_choice(name: str, default: str, choices: set[str]) -> str:
    value = env.str(name, default=default).strip().lower()
    if value not in choices:
        raise ImproperlyConfigured(f"{name}={value!r} is not one of {', '.join(sorted(choices))}.")
    return value


SECRET_KEY = env.str("SECRET_KEY", default="insecure-dev-key-change-me-in-production")
# Fernet key (`Fernet.generate_key()`) that encrypts A/B data-source credentials at rest;
# empty: a key derived from SECRET_KEY (rotating SECRET_KEY then needs the URLs re-entered).
ABTEST_DATA_SOURCE_KEY = env.str("ABTEST_DATA_SOURCE_KEY", default="")
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# Base of the links in emails; empty: the scheme and host of the request that sends them.
SITE_URL = env.str("SITE_URL", default="").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "axes",
    "csp",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "template_partials",
    "accounts",
    "mlprojects",
    "evaluation",
]

MIDDLEWARE = [
    # First, so that every log line of the request, and its response, carry the id.
    "mlprojects.site.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_permissions_policy.PermissionsPolicyMiddleware",
    # 413 in the API's error shape for an oversized body, before anything reads it.
    "mlprojects.site.middleware.RequestSizeLimitMiddleware",
    # 429 for an address whose API calls keep failing authentication.
    "mlprojects.site.middleware.FailedAuthenticationThrottleMiddleware",
    # 400 for a NUL character in the URL or a form, which PostgreSQL cannot take.
    "mlprojects.site.nul.RejectNulMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Resolves /o/<org_slug>/… to the caller's membership before any view runs.
    "accounts.middleware.OrganizationMiddleware",
    # Emails composed during a request link to the host it was served on (SITE_URL unset).
    "accounts.links.SiteUrlMiddleware",
    # Last: turns a login attempt refused by the lockout into the login page's message.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "mlprojects.urls"
WSGI_APPLICATION = "mlprojects.wsgi.application"

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
                "accounts.context_processors.organization",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"].setdefault("CONN_MAX_AGE", env_int("CONN_MAX_AGE", 0))
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the Celery worker write while the web process reads.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"init_command": "PRAGMA journal_mode=WAL;", "transaction_mode": "IMMEDIATE"}
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
# Axes' backend first: it refuses a locked-out account or address before any password
# is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "accounts:login"
# An organization's landing page (a URL name taking `org_slug`): where accounts sends
# someone who just created or joined one, without knowing which app serves it.
ORGANIZATION_HOME_URL = "mlprojects:dashboard"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
PASSWORD_RESET_TIMEOUT = 60 * 60 * 24
INVITATION_MAX_AGE_DAYS = env_int("INVITATION_MAX_AGE_DAYS", 7)

# Limits on logging in, signing up and password resets, per account and per client
# address. Failed logins are kept in the database (django-axes); the other counters live
# in the cache, which every web process shares in production (Redis).
#
# How many reverse proxies that append to X-Forwarded-For stand in front of the app
# (0: the connection's own address is the client's). Every per-address limit reads it.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)
# Login: after LOGIN_FAILURE_LIMIT wrong passwords for one account, or from one address,
# logging in is refused (even with the right password) for LOGIN_COOLOFF_MINUTES.
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
LOGIN_COOLOFF_MINUTES = env_int("LOGIN_COOLOFF_MINUTES", 15)
AXES_COOLOFF_TIME = timedelta(minutes=LOGIN_COOLOFF_MINUTES)
AXES_LOCKOUT_PARAMETERS = ["ip_address", "username"]
AXES_USERNAME_FORM_FIELD = "username"  # the email field of EmailAuthenticationForm
AXES_USERNAME_CALLABLE = "accounts.lockout.attempted_email"
AXES_CLIENT_IP_CALLABLE = "mlprojects.site.client_ip.client_ip"
AXES_LOCKOUT_CALLABLE = "accounts.lockout.lockout_response"
# Successful logins are not stored (the table would grow forever); failures are, until
# their cool-off ends.
AXES_DISABLE_ACCESS_LOG = True
# Sign-up and password-reset posts per client address and per email address (a reset
# past its limit sends nothing but answers the same page, so it reveals no account).
RATELIMIT_IP_META_KEY = "mlprojects.site.client_ip.client_ip"
SIGNUP_RATE_PER_IP = env_rate("SIGNUP_RATE_PER_IP", "10/hour")
SIGNUP_RATE_PER_EMAIL = env_rate("SIGNUP_RATE_PER_EMAIL", "5/hour")
PASSWORD_RESET_RATE_PER_IP = env_rate("PASSWORD_RESET_RATE_PER_IP", "20/hour")
PASSWORD_RESET_RATE_PER_EMAIL = env_rate("PASSWORD_RESET_RATE_PER_EMAIL", "3/hour")
for _name, _value, _least in (
    ("LOGIN_FAILURE_LIMIT", AXES_FAILURE_LIMIT, 1),
    ("LOGIN_COOLOFF_MINUTES", LOGIN_COOLOFF_MINUTES, 1),
    ("TRUSTED_PROXY_COUNT", TRUSTED_PROXY_COUNT, 0),
):
    if _value < _least:
        raise ImproperlyConfigured(f"{_name} must be at least {_least}.")

# Content-Security-Policy: our own origin only, no inline script anywhere (templates
# attach behaviour from static/ files; htmx is configured in _base.html not to eval or
# inject styles), and no style="" attributes either. Pico's stylesheet draws its icons
# with data: URIs. Swagger UI (/api/docs/) works under the same policy
# (templates/drf_spectacular/).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}
# Powerful browser features the app never uses, switched off for it and anything it
# could embed; the clipboard is used by "Copy" buttons.
PERMISSIONS_POLICY = {
    "accelerometer": [],
    "camera": [],
    "clipboard-write": ["self"],
    "display-capture": [],
    "geolocation": [],
    "gyroscope": [],
    "magnetometer": [],
    "microphone": [],
    "payment": [],
    "usb": [],
}
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# Written by `collectstatic` (production) only; settings never create directories, so
# a production image can be read-only.
STATIC_ROOT = BASE_DIR / "staticfiles"
# Third-party front-end assets come from npm (package-lock.json) and are served from
# node_modules through the staticfiles finders; nothing is loaded from a CDN.
STATICFILES_DIRS = [
    BASE_DIR / "static",
    ("vendor/htmx", BASE_DIR / "node_modules" / "htmx.org" / "dist"),
    ("vendor/pico", BASE_DIR / "node_modules" / "@picocss" / "pico" / "css"),
    ("vendor/chartjs", BASE_DIR / "node_modules" / "chart.js" / "dist"),
]
# Uploaded files: MEDIA_ROOT by default, or an S3-compatible bucket (STORAGE_URL or
# AWS_STORAGE_BUCKET_NAME; see mlprojects/settings/storage.py) that every node shares.
STORAGES = {
    "default": default_storage_backend(os.environ),
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
MEDIA_ROOT = env.path("MEDIA_ROOT", default=str(VAR_DIR / "media"))
MEDIA_URL = "media/"
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 10 * 1024 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

# Email: console by default; EMAIL_URL (e.g. smtp+tls://user:pass@host:587) for real mail.
EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
if EMAIL_CONFIG.get("EMAIL_FILE_PATH"):
    # django-environ drops the leading slash of filemail:///absolute/path.
    EMAIL_CONFIG["EMAIL_FILE_PATH"] = "/" + EMAIL_CONFIG["EMAIL_FILE_PATH"].lstrip("/")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="mlprojects <noreply@localhost>")

# Celery. With no broker configured, kombu's filesystem transport under var/ lets a real
# worker process run with zero setup; production and CI point CELERY_BROKER_URL at Redis.
REDIS_URL = env.str("REDIS_URL", default="")
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL or "filesystem://")
CELERY_BROKER_TRANSPORT_OPTIONS: dict = {}
if CELERY_BROKER_URL.startswith("filesystem://"):
    # The folders are made by the local settings (`make run`), not here.
    _broker_dir = VAR_DIR / "broker"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    # Redis hands an unacknowledged task (its worker died) to another worker after this
    # many seconds. Jobs do not depend on it (the job sweep reclaims them within
    # JOB_RECLAIM_AFTER_SECONDS, and a redelivered job that is still running does
    # nothing), so it only bounds how long another task's message can stay lost. The
    # socket timeouts keep a request from hanging on an unreachable broker.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 60 * 60),
        "socket_connect_timeout": 3,
        "socket_timeout": 10,
    }
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_EAGER_PROPAGATES = CELERY_TASK_ALWAYS_EAGER
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_TASK_DEFAULT_QUEUE", default="mlprojects")
# (Acknowledging late, rejecting on a lost worker and a prefetch of one are set in
# mlprojects/celery.py.) Sending a task gives up after about a second when the broker is
# down: the job stays queued in the database and the job sweep sends it later.
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.3,
    "interval_max": 0.5,
}

# Background jobs (accounts.jobs): a running job writes a heartbeat every
# JOB_HEARTBEAT_SECONDS; one silent for JOB_RECLAIM_AFTER_SECONDS has lost its worker and
# is queued again, at most JOB_MAX_ATTEMPTS starts in all. Every JOB_DISPATCH_SWEEP_SECONDS
# beat sends the queued jobs whose message was never sent (broker down) or was lost.
JOB_HEARTBEAT_SECONDS = env_int("JOB_HEARTBEAT_SECONDS", 15)
JOB_RECLAIM_AFTER_SECONDS = env_int("JOB_RECLAIM_AFTER_SECONDS", 120)
JOB_MAX_ATTEMPTS = env_int("JOB_MAX_ATTEMPTS", 3)
JOB_DISPATCH_SWEEP_SECONDS = env_int("JOB_DISPATCH_SWEEP_SECONDS", 30)
for _name in (
    "JOB_HEARTBEAT_SECONDS",
    "JOB_RECLAIM_AFTER_SECONDS",
    "JOB_MAX_ATTEMPTS",
    "JOB_DISPATCH_SWEEP_SECONDS",
):
    if vars()[_name] <= 0:
        raise ImproperlyConfigured(f"{_name} must be a positive number.")
if JOB_RECLAIM_AFTER_SECONDS < 2 * JOB_HEARTBEAT_SECONDS:
    raise ImproperlyConfigured(
        "JOB_RECLAIM_AFTER_SECONDS must be at least twice JOB_HEARTBEAT_SECONDS, or a live "
        "job whose heartbeat is a little late would be started twice."
    )

# Metric evaluation: the largest predictions file accepted, and how long one evaluation
# may run before it is stopped and marked failed.
EVALUATION_MAX_UPLOAD_BYTES = env_int("EVALUATION_MAX_UPLOAD_BYTES", 2 * 1024**3)
EVALUATION_TIME_LIMIT_SECONDS = env_int("EVALUATION_TIME_LIMIT_SECONDS", 50 * 60)
# What one evaluation may read and produce. A 570 KB gzip CSV can hold 50M rows; the
# worker stops reading at these limits and fails the evaluation, naming the setting.
EVALUATION_MAX_ROWS = env_int("EVALUATION_MAX_ROWS", 10_000_000)
EVALUATION_MAX_DECOMPRESSED_BYTES = env_int("EVALUATION_MAX_DECOMPRESSED_BYTES", 2 * 1024**3)
# Options that multiply the size of the result are refused (400) above these.
EVALUATION_MAX_SLICE_VALUES = env_int("EVALUATION_MAX_SLICE_VALUES", 50)
EVALUATION_MAX_SLICE_COLUMNS = env_int("EVALUATION_MAX_SLICE_COLUMNS", 20)
EVALUATION_MAX_CURVE_POINTS = env_int("EVALUATION_MAX_CURVE_POINTS", 1000)
# A result larger than this (as JSON) fails the evaluation instead of being stored.
EVALUATION_MAX_RESULT_BYTES = env_int("EVALUATION_MAX_RESULT_BYTES", 8 * 1024 * 1024)
# A/B tests: the largest raw per-user file accepted, and the most rows aggregated from one.
ABTEST_MAX_UPLOAD_BYTES = env_int("ABTEST_MAX_UPLOAD_BYTES", 200 * 1024 * 1024)
ABTEST_MAX_ROWS = env_int("ABTEST_MAX_ROWS", 50_000_000)
for _name in (
    "EVALUATION_MAX_UPLOAD_BYTES",
    "EVALUATION_TIME_LIMIT_SECONDS",
    "EVALUATION_MAX_ROWS",
    "EVALUATION_MAX_DECOMPRESSED_BYTES",
    "EVALUATION_MAX_SLICE_VALUES",
    "EVALUATION_MAX_SLICE_COLUMNS",
    "EVALUATION_MAX_CURVE_POINTS",
    "EVALUATION_MAX_RESULT_BYTES",
    "ABTEST_MAX_UPLOAD_BYTES",
    "ABTEST_MAX_ROWS",
):
    if vars()[_name] <= 0:
        raise ImproperlyConfigured(f"{_name} must be a positive number.")

# MLflow artifacts (files logged with the mlflow client, stored through `default_storage`):
# the largest single file accepted, checked while the upload streams in.
MLFLOW_ARTIFACT_MAX_BYTES = env_int("MLFLOW_ARTIFACT_MAX_BYTES", 5 * 1024**3)
if MLFLOW_ARTIFACT_MAX_BYTES <= 0:
    raise ImproperlyConfigured("MLFLOW_ARTIFACT_MAX_BYTES must be a positive number.")


# Monitoring: the largest file a drift report or a prediction upload accepts, and how long
# one drift report may run before it is stopped and marked failed.
MONITORING_MAX_UPLOAD_BYTES = env_int("MONITORING_MAX_UPLOAD_BYTES", 2 * 1024**3)
MONITORING_TIME_LIMIT_SECONDS = env_int("MONITORING_TIME_LIMIT_SECONDS", 50 * 60)
# How often beat checks every monitored project's alert rules (values also trigger a check).
MONITORING_ALERT_SWEEP_SECONDS = env_int("MONITORING_ALERT_SWEEP_SECONDS", 15 * 60)
for _name in (
    "MONITORING_MAX_UPLOAD_BYTES",
    "MONITORING_TIME_LIMIT_SECONDS",
    "MONITORING_ALERT_SWEEP_SECONDS",
):
    if vars()[_name] <= 0:
        raise ImproperlyConfigured(f"{_name} must be a positive number.")

# Periodic tasks, sent by the one `celery beat` process (Procfile). A message that waited
# longer than its interval is dropped: the next one does the same work.
# The prototype page of step 6 (evaluation.prototypes): outbound calls to a team's model
# server. Hosts must also be on the organization's allow-list.
PROTOTYPE_TIMEOUT_SECONDS = env_int("PROTOTYPE_TIMEOUT_SECONDS", 10)
PROTOTYPE_MAX_RESPONSE_BYTES = env_int("PROTOTYPE_MAX_RESPONSE_BYTES", 1024 * 1024)
PROTOTYPE_RATE_PER_USER = env_rate("PROTOTYPE_RATE_PER_USER", "30/m")
PROTOTYPE_SHARE_RATE = env_rate("PROTOTYPE_SHARE_RATE", "10/m")
PROTOTYPE_SHARE_MAX_DAYS = env_int("PROTOTYPE_SHARE_MAX_DAYS", 30)
PROTOTYPE_EXAMPLE_MAX_BYTES = env_int("PROTOTYPE_EXAMPLE_MAX_BYTES", 2 * 1024 * 1024)
# Fernet keys for the endpoints' stored headers, newest first; empty: derived from SECRET_KEY.
PROTOTYPE_HEADERS_KEYS = env.list("PROTOTYPE_HEADERS_KEYS", default=[])
# `builtin://` demo models answer in process; only the local and demo settings turn them on.
PROTOTYPE_BUILTIN_MODELS = env_bool("PROTOTYPE_BUILTIN_MODELS", False)

CELERY_BEAT_SCHEDULE = {
    "sweep-jobs": {
        "task": "accounts.tasks.sweep_jobs_task",
        "schedule": JOB_DISPATCH_SWEEP_SECONDS,
        "options": {"expires": JOB_DISPATCH_SWEEP_SECONDS},
    },
    # Running A/B tests with a warehouse data source get fresh results every day.
    "refresh-running-abtests": {
        "task": "evaluation.abtests.tasks.refresh_running_abtests_task",
        "schedule": 24 * 60 * 60,
        "options": {"expires": 60 * 60},
    },
    "evaluate-monitoring-alerts": {
        "task": "evaluation.monitoring.tasks.evaluate_all_alerts_task",
        "schedule": MONITORING_ALERT_SWEEP_SECONDS,
        "options": {"expires": MONITORING_ALERT_SWEEP_SECONDS},
    },
    # /status/workers reads the time this task stores to tell whether beat is alive.
    "beat-heartbeat": {
        "task": "mlprojects.site.tasks.record_beat_heartbeat_task",
        "schedule": 60,
        "options": {"expires": 60},
    },
}

if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Seconds a rendered project workspace is kept in the cache (any write to the project
# forgets it sooner: mlprojects.lifecycle.page_cache); 0 renders it on every request. Off
# by default without Redis: a per-process cache would not hear the worker's writes.
PROJECT_PAGE_CACHE_SECONDS = env_int("PROJECT_PAGE_CACHE_SECONDS", 3600 if REDIS_URL else 0)
if PROJECT_PAGE_CACHE_SECONDS < 0:
    raise ImproperlyConfigured("PROJECT_PAGE_CACHE_SECONDS must be 0 (off) or more.")

# The deepest nesting of arrays and objects a JSON body of the API or /mlflow may have;
# deeper bodies answer 400 (the Python JSON decoder and everything that walks the data
# recursively would otherwise run out of stack near 1,000).
API_MAX_JSON_DEPTH = env_int("API_MAX_JSON_DEPTH", 64)
if not 1 <= API_MAX_JSON_DEPTH <= 500:
    raise ImproperlyConfigured("API_MAX_JSON_DEPTH must be between 1 and 500.")

REST_FRAMEWORK = {
    # The token scheme comes first: its `WWW-Authenticate` header makes DRF answer 401.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.api.auth.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env_rate("API_THROTTLE_ANON", "60/min"),
        "user": env_rate("API_THROTTLE_USER", "6000/min"),
    },
    # Counted per client address as mlprojects.site.client_ip counts it.
    "NUM_PROXIES": TRUSTED_PROXY_COUNT,
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # JSON bodies only; the endpoints that take files name their own parsers. A form or
    # multipart body on a JSON endpoint is refused with 415 instead of being read as an
    # empty (valid) partial update.
    "DEFAULT_PARSER_CLASSES": ["accounts.api.parsers.DepthLimitedJSONParser"],
    "DEFAULT_METADATA_CLASS": "accounts.api.metadata.ApiMetadata",
    "DEFAULT_SCHEMA_CLASS": "accounts.api.schema.ApiAutoSchema",
    "EXCEPTION_HANDLER": "accounts.api.base.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 100,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "mlprojects API",
    "DESCRIPTION": "Projects, experiment runs, evaluations and A/B tests of an organization.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # One schema name per set of choices that fields of several models share ("status"
    # means four different things).
    "ENUM_NAME_OVERRIDES": {
        "ABTestStatusEnum": "evaluation.models.ABTestStatus",
        "JobStatusEnum": "evaluation.models.JobStatus",
        "EvaluationStatusEnum": "evaluation.models.EvaluationStatus",
        "RunStatusEnum": "evaluation.models.RunStatus",
        "MetricTypeEnum": "evaluation.models.MetricType",
        "MetricRoleEnum": "evaluation.models.MetricRole",
        "LevelEnum": "mlprojects.lifecycle.models.sections.Level",
        "MetricDirectionEnum": "mlprojects.lifecycle.models.sections.Direction",
        # A/B tests' words for a metric's direction.
        "ChangeDirectionEnum": [("increase", "Increase is good"), ("decrease", "Decrease is good")],
        "PrototypeVerdictEnum": "evaluation.prototypes.models.Verdict",
        "ABQueryKindEnum": "evaluation.models.QueryKind",
    },
}

# Logs go to the console, one line per record with the request id: `text` for people,
# `json` for a log collector (the default in production).
LOG_FORMAT = env_choice("LOG_FORMAT", "text", {"text", "json"})
LOGGING = logging_config(
    log_format=LOG_FORMAT,
    level=env.str("LOG_LEVEL", default="INFO"),
    # kombu's filesystem transport has no host and says so on every connection.
    quiet_loggers={"kombu.connection": {"level": "ERROR"}}
    if CELERY_BROKER_URL.startswith("filesystem://")
    else {},
)

# Error tracking, only when SENTRY_DSN is set. No personal data is sent (no user emails,
# cookies or request bodies); each error is tagged with its request id.
SENTRY_DSN = env.str("SENTRY_DSN", default="")
if SENTRY_DSN:
    init_sentry(
        dsn=SENTRY_DSN,
        environment=env.str("SENTRY_ENVIRONMENT", default="production"),
        release=env.str("SENTRY_RELEASE", default="") or None,
    )
