"""Production: DEBUG off, HTTPS enforced, JSON logs, and the process refuses to start
without its required settings. `manage.py check --deploy` is clean with these settings
(tests/mlprojects/site/test_production.py)."""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import env, env_bool, env_choice, env_int

DEBUG = env_bool("DEBUG", False)
for _required in ("SECRET_KEY", "DATABASE_URL", "ALLOWED_HOSTS", "CELERY_BROKER_URL"):
    if not env.str(_required, default=""):
        raise ImproperlyConfigured(f"{_required} must be set in production.")
if SECRET_KEY.startswith("insecure-"):  # noqa: F405
    raise ImproperlyConfigured("SECRET_KEY must be a real secret in production.")

# Login lockouts, rate limits and API throttles are counted in the cache, so every web
# process must share one: REDIS_URL, or else the broker's Redis.
if not REDIS_URL:  # noqa: F405
    if not CELERY_BROKER_URL.startswith(("redis://", "rediss://")):  # noqa: F405
        raise ImproperlyConfigured(
            "REDIS_URL must be set in production: login lockouts and rate limits are "
            "counted in a cache that every web process shares."
        )
    CACHES = {  # noqa: F405
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": CELERY_BROKER_URL,  # noqa: F405
        }
    }
    PROJECT_PAGE_CACHE_SECONDS = env_int("PROJECT_PAGE_CACHE_SECONDS", 3600)

# A database connection outlives its request (each gunicorn thread and Celery process keeps
# one, for CONN_MAX_AGE seconds): opening one per request cost a quarter of a cached project
# page. It is checked before reuse, so a restarted database costs a reconnect, not an error.
DATABASES["default"]["CONN_MAX_AGE"] = env_int("CONN_MAX_AGE", 60)  # noqa: F405
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True  # noqa: F405
if DATABASES["default"]["CONN_MAX_AGE"] < 0:  # noqa: F405
    raise ImproperlyConfigured("CONN_MAX_AGE must be 0 (a connection per request) or more.")
# Sessions are read from the shared cache and written through to the database, so a
# signed-in request does not query the database for its session.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"

STORAGES["staticfiles"] = {  # noqa: F405
    "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
}

# HTTPS. The load balancer or proxy terminates TLS and says so in X-Forwarded-Proto.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
# Health probes come over plain HTTP from inside the network (paths without the "/").
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^status/workers$"]
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
if SECURE_HSTS_SECONDS < 0:
    raise ImproperlyConfigured("SECURE_HSTS_SECONDS must be 0 (off) or more.")
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", True)
CSRF_COOKIE_SECURE = env_bool("SECURE_COOKIES", True)

LOG_FORMAT = env_choice("LOG_FORMAT", "json", {"text", "json"})
LOGGING["handlers"]["console"]["formatter"] = LOG_FORMAT  # noqa: F405
