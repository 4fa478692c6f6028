"""Production: DEBUG off, and the process refuses to start without its required settings."""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import env, env_bool

DEBUG = env_bool("DEBUG", False)
for _required in ("SECRET_KEY", "DATABASE_URL", "ALLOWED_HOSTS", "CELERY_BROKER_URL"):
    if not env.str(_required, default=""):
        raise ImproperlyConfigured(f"{_required} must be set in production.")
if SECRET_KEY.startswith("insecure-"):  # noqa: F405
    raise ImproperlyConfigured("SECRET_KEY must be a real secret in production.")

STORAGES["staticfiles"] = {  # noqa: F405
    "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
}
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", True)
CSRF_COOKIE_SECURE = env_bool("SECURE_COOKIES", True)
SECURE_CONTENT_TYPE_NOSNIFF = True
