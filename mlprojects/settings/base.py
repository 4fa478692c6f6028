"""Settings shared by every mode. Every value that differs between machines comes from
the environment through the one reader below; a malformed value raises
ImproperlyConfigured at start-up instead of surfacing later."""

from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

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


SECRET_KEY = env.str("SECRET_KEY", default="insecure-dev-key-change-me-in-production")
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
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
    "django.middleware.security.SecurityMiddleware",
    # 413 in the API's error shape for an oversized body, before anything reads it.
    "mlprojects.site.middleware.RequestSizeLimitMiddleware",
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

VAR_DIR.mkdir(exist_ok=True)
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

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)  # whitenoise warns on every request without it
# Third-party front-end assets come from npm (package-lock.json) and are served from
# node_modules through the staticfiles finders; nothing is loaded from a CDN.
STATICFILES_DIRS = [
    BASE_DIR / "static",
    ("vendor/htmx", BASE_DIR / "node_modules" / "htmx.org" / "dist"),
    ("vendor/pico", BASE_DIR / "node_modules" / "@picocss" / "pico" / "css"),
    ("vendor/chartjs", BASE_DIR / "node_modules" / "chart.js" / "dist"),
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
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
    _broker_dir = VAR_DIR / "broker"
    for sub in ("queue", "processed", "control"):
        (_broker_dir / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    # Redis hands an unacknowledged task (its worker died) to another worker only after
    # this many seconds; it must exceed the longest task, or a slow task runs twice.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 2 * 60 * 60)
    }
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_EAGER_PROPAGATES = CELERY_TASK_ALWAYS_EAGER
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_TASK_DEFAULT_QUEUE", default="mlprojects")

# Metric evaluation: the largest predictions file accepted, and how long one evaluation
# may run before it is stopped and marked failed.
EVALUATION_MAX_UPLOAD_BYTES = env_int("EVALUATION_MAX_UPLOAD_BYTES", 2 * 1024**3)
EVALUATION_TIME_LIMIT_SECONDS = env_int("EVALUATION_TIME_LIMIT_SECONDS", 50 * 60)
# How often evaluations whose worker was lost (still `running` past the time limit) are
# looked for and marked failed.
EVALUATION_STUCK_SWEEP_SECONDS = env_int("EVALUATION_STUCK_SWEEP_SECONDS", 60)
for _name in (
    "EVALUATION_MAX_UPLOAD_BYTES",
    "EVALUATION_TIME_LIMIT_SECONDS",
    "EVALUATION_STUCK_SWEEP_SECONDS",
):
    if vars()[_name] <= 0:
        raise ImproperlyConfigured(f"{_name} must be a positive number.")

# Periodic tasks, sent by the one `celery beat` process (Procfile). A message that waited
# longer than its interval is dropped: the next one does the same work.
CELERY_BEAT_SCHEDULE = {
    "fail-stuck-evaluations": {
        "task": "evaluation.evaluations.tasks.fail_stuck_evaluations_task",
        "schedule": EVALUATION_STUCK_SWEEP_SECONDS,
        "options": {"expires": EVALUATION_STUCK_SWEEP_SECONDS},
    },
}

if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

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
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
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
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    # kombu's filesystem transport has no host and says so on every connection.
    "loggers": {"kombu.connection": {"level": "ERROR"}}
    if CELERY_BROKER_URL.startswith("filesystem://")
    else {},
}
