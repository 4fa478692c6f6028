"""Health endpoints, one question each:

- `GET /healthz` (liveness, for the load balancer): is this web process up and can it
  reach the database? Nothing else, so a broker or worker outage does not take every web
  node out of the load balancer.
- `GET /readyz` (readiness, e.g. before a new release takes traffic): database, broker
  reachable and every migration applied.
- `GET /status/workers` (for alerting): the broker, the workers consuming our queue, the
  beat scheduler's last heartbeat, and background jobs queued too long or whose worker
  stopped beating; 503 when no worker consumes the queue or jobs are overdue.

Each answers `{"status": "ok" | "error", "checks": {name: "ok…" | "error: …"}}`, 200 or
503. None of them reads tenant data, so none needs a login."""

import time
from collections.abc import Callable

from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache

from accounts.jobs import jobs_overdue
from mlprojects.celery import app

BEAT_HEARTBEAT_KEY = "mlprojects:beat-heartbeat"
# Beat enqueues the heartbeat task every BEAT_HEARTBEAT_SECONDS; a heartbeat older than
# three periods means beat (or every worker that would run the task) has stopped.
BEAT_HEARTBEAT_SECONDS = 60
BEAT_STALE_AFTER_SECONDS = 3 * BEAT_HEARTBEAT_SECONDS
WORKER_REPLY_TIMEOUT = 1.5


class Unknown(Exception):
    """A check that cannot tell (reported, but not a failure)."""


def check_database() -> str:
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return "ok"


_migrations_applied = False


def check_migrations() -> str:
    """Loading the migration graph is slow, so once a process has seen every migration
    applied it says so without looking again (a new release is a new process)."""
    global _migrations_applied
    if not _migrations_applied:
        executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
        pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
        if pending:
            raise RuntimeError(f"{len(pending)} unapplied migration(s); run `manage.py migrate`")
        _migrations_applied = True
    return "ok"


def check_broker() -> str:
    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)
    return "ok"


def check_workers() -> str:
    """At least one worker must consume the queue this process sends tasks to."""
    queue = app.conf.task_default_queue
    replies = app.control.inspect(timeout=WORKER_REPLY_TIMEOUT).active_queues() or {}
    consuming = [
        name
        for name, queues in replies.items()
        if any(q.get("name") == queue for q in queues or [])
    ]
    if not consuming:
        raise RuntimeError(
            f"no worker consuming queue {queue!r} answered within {WORKER_REPLY_TIMEOUT} s"
        )
    return f"ok ({len(consuming)} worker{'s' if len(consuming) != 1 else ''})"


def check_beat() -> str:
    """Beat runs `record_beat_heartbeat_task` every minute; the task stores the time in the
    cache. No heartbeat at all (beat never ran, or the cache is not shared with the
    workers) is "unknown"; one that stopped coming is an error."""
    last = cache.get(BEAT_HEARTBEAT_KEY)
    if last is None:
        raise Unknown("no heartbeat recorded (beat not running, or no shared cache)")
    age = time.time() - float(last)
    if age > BEAT_STALE_AFTER_SECONDS:
        raise RuntimeError(f"last heartbeat {age:.0f} s ago")
    return f"ok (last heartbeat {age:.0f} s ago)"


def check_jobs() -> str:
    """Jobs queued, or running without a heartbeat, for longer than
    JOB_RECLAIM_AFTER_SECONDS: the job sweep should have sent or reclaimed them, so
    workers are missing, overloaded, or beat is not running."""
    overdue = jobs_overdue()
    summary = (
        f"{overdue['queued_too_long']} queued too long, {overdue['stale']} without a heartbeat"
    )
    if any(overdue.values()):
        raise RuntimeError(summary)
    return f"ok ({summary})"


def _report(checks: dict[str, Callable[[], str]]) -> JsonResponse:
    results: dict[str, str] = {}
    healthy = True
    for name, check in checks.items():
        try:
            results[name] = check()
        except Unknown as exc:
            results[name] = f"unknown: {exc}"
        except Exception as exc:  # a health check reports every failure, whatever it is
            results[name] = f"error: {exc}"
            healthy = False
    return JsonResponse(
        {"status": "ok" if healthy else "error", "checks": results},
        status=200 if healthy else 503,
    )


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    return _report({"database": check_database})


@never_cache
def readyz(request: HttpRequest) -> JsonResponse:
    return _report(
        {"database": check_database, "migrations": check_migrations, "broker": check_broker}
    )


@never_cache
def worker_status(request: HttpRequest) -> JsonResponse:
    return _report(
        {
            "broker": check_broker,
            "workers": check_workers,
            "beat": check_beat,
            "jobs": check_jobs,
        }
    )
