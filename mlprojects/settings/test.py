"""Test settings: SQLite unless DATABASE_URL is set (CI sets PostgreSQL), fast hashing,
mail kept in memory, a cache of the test process's own. The directories under var/ are
made by tests/conftest.py, not here."""

import os

from .base import *  # noqa: F403

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# A file-backed SQLite test database, so that a real worker process can share it.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}  # noqa: F405
# One folder per test process when the suite runs in parallel (pytest-xdist names them).
MEDIA_ROOT = VAR_DIR / f"test-media{os.environ.get('PYTEST_XDIST_WORKER', '')}"  # noqa: F405
# Rate-limit and throttle counters start empty in each test (tests/conftest.py clears
# it), whatever REDIS_URL says.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# One process (tasks run inline): the project page's cache is on, so every test that
# writes and then reads the page checks that the write shows.
PROJECT_PAGE_CACHE_SECONDS = 3600
# Tasks run inline in ordinary tests; tests marked `worker` start a real worker process.
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True

# Tests with a real worker use Redis; a queue of their own keeps concurrent test runs on
# the same Redis from taking each other's tasks.
import uuid  # noqa: E402

CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="redis://127.0.0.1:6379/15")  # noqa: F405
CELERY_BROKER_TRANSPORT_OPTIONS = {}
CELERY_TASK_DEFAULT_QUEUE = env.str(  # noqa: F405
    "CELERY_TASK_DEFAULT_QUEUE", default=f"test-{uuid.uuid4().hex[:12]}"
)

# The demo's built-in prototype model answers in tests (it makes no network call).
PROTOTYPE_BUILTIN_MODELS = True
