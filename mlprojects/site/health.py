"""GET /healthz: can we reach the database, the broker and at least one worker?"""

from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache

from mlprojects.celery import app


def _check_database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return "ok"


def _check_broker() -> str:
    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)
    return "ok"


def _check_worker() -> str:
    """At least one worker must consume the queue this process sends tasks to."""
    queue = app.conf.task_default_queue
    replies = app.control.inspect(timeout=1.5).active_queues() or {}
    consuming = [
        name
        for name, queues in replies.items()
        if any(q.get("name") == queue for q in queues or [])
    ]
    if not consuming:
        raise RuntimeError(f"no worker consuming queue {queue!r} answered within 1.5 s")
    return f"ok ({len(consuming)} worker{'s' if len(consuming) != 1 else ''})"


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    checks: dict[str, str] = {}
    healthy = True
    for name, check in (
        ("database", _check_database),
        ("broker", _check_broker),
        ("worker", _check_worker),
    ):
        try:
            checks[name] = check()
        except Exception as exc:  # a health check reports every failure, whatever it is
            checks[name] = f"error: {exc}"
            healthy = False
    return JsonResponse(
        {"status": "ok" if healthy else "error", "checks": checks}, status=200 if healthy else 503
    )
