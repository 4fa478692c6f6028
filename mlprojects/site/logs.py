"""Request ids and log formats, for the web, worker and gunicorn processes alike.

Every request gets an id (the caller's `X-Request-ID` when it is a sane token, else a new
one) that `RequestIdMiddleware` keeps in a context variable and returns as a response
header. `RequestIdFilter` copies it onto every log record, so one request's lines can be
found together; a task enqueued during a request carries the id in its message headers,
and the worker's lines about that task carry it too.

This module is imported by the logging configuration and by gunicorn.conf.py, before
Django is set up: it imports nothing from Django at module level."""

import contextvars
import logging
import re
import uuid

from pythonjsonlogger.json import JsonFormatter as BaseJsonFormatter

from mlprojects.site.sentry import tag_request_id

REQUEST_ID_HEADER = "X-Request-ID"
# Letters, digits and `-_.`, at most 200 characters: what proxies and tracing tools send,
# and nothing that could forge a log line or a header.
VALID_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,200}")
NO_REQUEST = "-"

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar(
    "request_id", default=NO_REQUEST
)


def new_request_id() -> str:
    return uuid.uuid4().hex


def clean_request_id(raw: str | None) -> str | None:
    """The caller's id if it is acceptable, else None (and a new one is made)."""
    if raw and VALID_REQUEST_ID.fullmatch(raw):
        return raw
    return None


class RequestIdFilter(logging.Filter):
    """Adds `request_id` to every record that passes through a handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id_var.get()
        return True


TEXT_FORMAT = "%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"
JSON_FIELDS = ["asctime", "levelname", "name", "message", "request_id"]
JSON_RENAMES = {"asctime": "time", "levelname": "level", "name": "logger"}


class JsonFormatter(BaseJsonFormatter):
    """One JSON object per line: time, level, logger, message, request_id, and any
    `extra` fields of the record."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("rename_fields", JSON_RENAMES)
        super().__init__(JSON_FIELDS, *args, **kwargs)


class AccessJsonFormatter(JsonFormatter):
    """gunicorn's access log as JSON. gunicorn logs each request with its "atoms" (a dict
    of request and response values) as the record's arguments; this picks the useful ones
    as fields instead of flattening them into one string."""

    def add_fields(self, log_record: dict, record: logging.LogRecord, message_dict: dict) -> None:
        super().add_fields(log_record, record, message_dict)
        atoms = record.args if isinstance(record.args, dict) else {}
        if not atoms:
            return
        status = str(atoms.get("s", ""))
        log_record.update(
            {
                "message": f"{atoms.get('m')} {atoms.get('U')} {status}",
                "request_id": atoms.get("{x-request-id}o", NO_REQUEST),
                "method": atoms.get("m"),
                "path": atoms.get("U"),
                "query": atoms.get("q") or "",
                "status": int(status) if status.isdigit() else status,
                "duration_ms": atoms.get("M"),
                "bytes": atoms.get("B"),
                "remote_addr": atoms.get("h"),
                "user_agent": atoms.get("a"),
            }
        )


def logging_config(*, log_format: str, level: str, quiet_loggers: dict | None = None) -> dict:
    """The dictConfig of Django's processes (web and worker): one console handler whose
    format is `text` or `json`, and the request id on every record."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": "mlprojects.site.logs.RequestIdFilter"}},
        "formatters": {
            "text": {"format": TEXT_FORMAT},
            "json": {"()": "mlprojects.site.logs.JsonFormatter"},
        },
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "filters": ["request_id"],
                "formatter": log_format,
            }
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": quiet_loggers or {},
    }


# -- Celery: the enqueuing request's id travels with the task ---------------------------

TASK_HEADER = "request_id"


def attach_request_id(headers: dict | None = None, **kwargs) -> None:
    """`before_task_publish`: put the current request id in the message headers."""
    current = request_id_var.get()
    if headers is not None and current != NO_REQUEST:
        headers.setdefault(TASK_HEADER, current)


def _eager(task) -> bool:
    # A task run inline (CELERY_TASK_ALWAYS_EAGER) is part of the request that called it.
    return bool(getattr(getattr(task, "request", None), "is_eager", False))


def adopt_request_id(task=None, **kwargs) -> None:
    """`task_prerun`: the worker logs the task under the id of the request behind it."""
    if _eager(task):
        return
    raw = getattr(getattr(task, "request", None), TASK_HEADER, None)
    request_id = clean_request_id(raw) or NO_REQUEST
    request_id_var.set(request_id)
    tag_request_id(request_id)


def forget_request_id(**kwargs) -> None:
    """`request_finished`: lines after a response belong to no request."""
    request_id_var.set(NO_REQUEST)


def forget_task_request_id(task=None, **kwargs) -> None:
    """`task_postrun`: lines between tasks belong to no request."""
    if not _eager(task):
        request_id_var.set(NO_REQUEST)


def connect_celery_signals() -> None:
    from celery import signals

    signals.before_task_publish.connect(attach_request_id, weak=False, dispatch_uid="request_id")
    signals.task_prerun.connect(adopt_request_id, weak=False, dispatch_uid="request_id")
    signals.task_postrun.connect(forget_task_request_id, weak=False, dispatch_uid="request_id")
