"""gunicorn settings for the web process: `gunicorn mlprojects.wsgi` reads this file from
the working directory. Every number comes from the environment; a malformed value stops
gunicorn at start-up with the variable's name.

| variable | default | |
|---|---|---|
| PORT (and HOST) | 8000 (0.0.0.0) | where to listen |
| WEB_CONCURRENCY | number of CPUs | worker processes |
| GUNICORN_THREADS | 4 | threads per worker (each may hold a database connection) |
| GUNICORN_TIMEOUT | 60 | seconds a silent worker lives before it is killed and replaced |
| GUNICORN_GRACEFUL_TIMEOUT | 30 | seconds to finish requests on restart or shutdown |
| GUNICORN_KEEPALIVE | 5 | seconds an idle client connection stays open |
| GUNICORN_MAX_REQUESTS | 1000 | requests after which a worker is replaced (bounds leaks) |
| FORWARDED_ALLOW_IPS | 127.0.0.1,::1 | proxies trusted for X-Forwarded-Proto |
| LOG_FORMAT | json | access and error log lines as JSON or text |
"""

import os
from pathlib import Path

from mlprojects.site.logs import TEXT_FORMAT


def _int(name: str, default: int, *, least: int) -> int:
    raw = os.environ.get(name, "").strip()
    if raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SystemExit(f"{name}={raw!r} is not an integer.") from None
    if value < least:
        raise SystemExit(f"{name}={raw!r} must be at least {least}.")
    return value


bind = f"{os.environ.get('HOST', '0.0.0.0')}:{_int('PORT', 8000, least=1)}"  # noqa: S104
workers = _int("WEB_CONCURRENCY", os.cpu_count() or 1, least=1)
threads = _int("GUNICORN_THREADS", 4, least=1)
timeout = _int("GUNICORN_TIMEOUT", 60, least=1)
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 30, least=1)
keepalive = _int("GUNICORN_KEEPALIVE", 5, least=0)
max_requests = _int("GUNICORN_MAX_REQUESTS", 1000, least=0)
max_requests_jitter = max_requests // 10
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
# Nothing written to disk, so the image's filesystem can be read-only: workers' heartbeat
# files in memory, and no control socket (gunicornc is not used) under $HOME.
worker_tmp_dir = "/dev/shm" if Path("/dev/shm").is_dir() else None  # noqa: S108
control_socket_disable = True

LOG_FORMAT = os.environ.get("LOG_FORMAT", "json").strip().lower()
if LOG_FORMAT not in {"json", "text"}:
    raise SystemExit(f"LOG_FORMAT={LOG_FORMAT!r} is not one of json, text.")

# Access log on stdout, one line per request with its request id (set by the app's
# RequestIdMiddleware) and duration in milliseconds; errors on stderr.
accesslog = "-"
errorlog = "-"
access_log_format = '%(h)s "%(r)s" %(s)s %(B)s %(M)sms request_id=%({x-request-id}o)s "%(a)s"'
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "mlprojects.site.logs.RequestIdFilter"}},
    "formatters": {
        "text": {"format": TEXT_FORMAT},
        "access_text": {"format": "%(asctime)s %(message)s"},
        "json": {"()": "mlprojects.site.logs.JsonFormatter"},
        "access_json": {"()": "mlprojects.site.logs.AccessJsonFormatter"},
    },
    "handlers": {
        "error": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stderr",
            "filters": ["request_id"],
            "formatter": LOG_FORMAT,
        },
        "access": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stdout",
            "formatter": f"access_{LOG_FORMAT}",
        },
    },
    "root": {"handlers": ["error"], "level": "INFO"},
    "loggers": {
        "gunicorn.error": {"handlers": ["error"], "level": "INFO", "propagate": False},
        "gunicorn.access": {"handlers": ["access"], "level": "INFO", "propagate": False},
    },
}
