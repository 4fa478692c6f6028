"""Production settings, each read in a fresh process with a realistic environment:
`check --deploy` is clean, nothing is written to disk at import (the image can be
read-only), HTTPS is enforced, logs are JSON, and Sentry starts only with a DSN."""

import json
import re
import secrets
import subprocess
import sys

import pytest

from tests.mlprojects.site.test_startup import BASE_DIR, clean_env


def production_env(**extra: str) -> dict[str, str]:
    realistic = {
        "DJANGO_SETTINGS_MODULE": "mlprojects.settings.production",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "DATABASE_URL": "sqlite:////tmp/mlprojects-production-settings.sqlite3",
        "ALLOWED_HOSTS": "ml.example.com",
        "CELERY_BROKER_URL": "redis://127.0.0.1:6379/15",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    return clean_env(**{**realistic, **extra})


def run_python(code: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def settings_values(*names: str, **extra_env: str) -> dict:
    code = (
        "import json, django; django.setup(); from django.conf import settings; "
        f"print(json.dumps({{n: getattr(settings, n) for n in {list(names)!r}}}, default=str))"
    )
    result = run_python(code, production_env(**extra_env))
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_check_deploy_is_clean_under_production_settings():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=BASE_DIR,
        env=production_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = result.stdout + result.stderr
    assert re.findall(r"\((\w+\.[WE]\d+)\)", output) == [], output
    assert result.returncode == 0, output
    assert "System check identified no issues" in output


def test_importing_production_settings_writes_nothing_to_disk():
    """An audit hook records every file opened for writing and every directory made while
    Django sets up with production settings."""
    code = """
import json, os, sys
writes = []
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND
def hook(event, args):
    if event == "open":
        path, mode, flags = args
        if (isinstance(mode, str) and set(mode) & set("wax+")) or (flags or 0) & WRITE_FLAGS:
            writes.append(f"open {path}")
    elif event in ("os.mkdir", "os.rename", "os.remove", "os.symlink", "shutil.rmtree"):
        writes.append(f"{event} {args[0]}")
sys.addaudithook(hook)
import django
django.setup()
from django.conf import settings
settings.STATIC_ROOT, settings.CACHES, settings.LOGGING
import mlprojects.wsgi
print(json.dumps(writes))
"""
    result = run_python(code, production_env())
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []


def test_production_enforces_https_with_hsts_except_for_health_probes():
    values = settings_values(
        "SECURE_SSL_REDIRECT",
        "SECURE_HSTS_SECONDS",
        "SECURE_HSTS_INCLUDE_SUBDOMAINS",
        "SECURE_HSTS_PRELOAD",
        "SECURE_REDIRECT_EXEMPT",
        "SESSION_COOKIE_SECURE",
        "CSRF_COOKIE_SECURE",
    )
    assert values["SECURE_SSL_REDIRECT"] is True
    assert values["SECURE_HSTS_SECONDS"] == 31_536_000
    assert values["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True
    assert values["SECURE_HSTS_PRELOAD"] is True
    assert values["SESSION_COOKIE_SECURE"] is values["CSRF_COOKIE_SECURE"] is True
    exempt = [re.compile(p) for p in values["SECURE_REDIRECT_EXEMPT"]]
    for probe in ("healthz", "readyz", "status/workers"):
        assert any(p.search(probe) for p in exempt), probe
    assert not any(p.search("accounts/login/") for p in exempt)


def test_the_https_settings_follow_the_environment():
    values = settings_values(
        "SECURE_SSL_REDIRECT",
        "SECURE_HSTS_SECONDS",
        "SECURE_HSTS_PRELOAD",
        SECURE_SSL_REDIRECT="false",
        SECURE_HSTS_SECONDS="3600",
        SECURE_HSTS_PRELOAD="no",
    )
    assert values == {
        "SECURE_SSL_REDIRECT": False,
        "SECURE_HSTS_SECONDS": 3600,
        "SECURE_HSTS_PRELOAD": False,
    }


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("SECURE_HSTS_PRELOAD", "maybe", "is not a boolean"),
        ("SECURE_HSTS_SECONDS", "a year", "is not an integer"),
        ("LOG_FORMAT", "yaml", "is not one of json, text"),
        ("LOGIN_FAILURE_LIMIT", "0", "LOGIN_FAILURE_LIMIT must be at least 1"),
        ("PASSWORD_RESET_RATE_PER_EMAIL", "3 per hour", "is not a rate"),
        ("TRUSTED_PROXY_COUNT", "one", "is not an integer"),
        ("CONN_MAX_AGE", "a minute", "is not an integer"),
        ("CONN_MAX_AGE", "-1", "CONN_MAX_AGE must be 0"),
    ],
)
def test_a_malformed_setting_stops_the_process_with_its_name(variable, value, message):
    result = run_python("import django; django.setup()", production_env(**{variable: value}))
    assert result.returncode != 0
    assert message in result.stderr
    assert variable in result.stderr


def test_production_logs_json_unless_told_otherwise():
    assert settings_values("LOG_FORMAT")["LOG_FORMAT"] == "json"
    values = settings_values("LOG_FORMAT", "LOGGING", LOG_FORMAT="text")
    assert values["LOG_FORMAT"] == "text"
    assert values["LOGGING"]["handlers"]["console"]["formatter"] == "text"


def test_production_keeps_database_connections_and_reads_sessions_from_the_cache():
    values = settings_values("DATABASES", "SESSION_ENGINE")
    database = values["DATABASES"]["default"]
    assert database["CONN_MAX_AGE"] == 60
    assert database["CONN_HEALTH_CHECKS"] is True
    assert values["SESSION_ENGINE"] == "django.contrib.sessions.backends.cached_db"
    database = settings_values("DATABASES", CONN_MAX_AGE="0")["DATABASES"]["default"]
    assert database["CONN_MAX_AGE"] == 0


def test_production_shares_its_cache_through_redis():
    cache = settings_values("CACHES")["CACHES"]["default"]
    assert cache["BACKEND"] == "django.core.cache.backends.redis.RedisCache"
    assert cache["LOCATION"] == "redis://127.0.0.1:6379/15"
    cache = settings_values("CACHES", REDIS_URL="redis://cache:6379/2")["CACHES"]["default"]
    assert cache["LOCATION"] == "redis://cache:6379/2"


def test_production_refuses_a_cache_that_other_processes_do_not_share():
    env = production_env(CELERY_BROKER_URL="amqp://guest@rabbit:5672//")
    result = run_python("import django; django.setup()", env)
    assert result.returncode != 0
    assert "REDIS_URL must be set in production" in result.stderr


SENTRY_STATE = """
import json, django
django.setup()
import sentry_sdk
client = sentry_sdk.get_client()
print(json.dumps({
    "active": client.is_active(),
    "pii": client.options.get("send_default_pii"),
    "environment": client.options.get("environment"),
    "release": client.options.get("release"),
    "integrations": sorted(getattr(client, "integrations", {})),
}))
"""


def test_sentry_starts_with_the_django_and_celery_integrations_when_a_dsn_is_set():
    env = production_env(
        SENTRY_DSN="https://public@127.0.0.1:9/1",  # a port nothing listens on
        SENTRY_ENVIRONMENT="staging",
        SENTRY_RELEASE="2026.12.1",
    )
    result = run_python(SENTRY_STATE, env)
    assert result.returncode == 0, result.stderr
    state = json.loads(result.stdout.strip().splitlines()[-1])
    assert state["active"] is True
    assert state["pii"] is False
    assert (state["environment"], state["release"]) == ("staging", "2026.12.1")
    assert {"django", "celery"} <= set(state["integrations"])


def test_sentry_is_not_started_without_a_dsn():
    result = run_python(SENTRY_STATE, production_env())
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1])["active"] is False
