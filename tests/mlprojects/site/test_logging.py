"""Request ids: taken from a sane X-Request-ID or made up, returned on the response,
written on every log line (text or JSON), and carried to the worker with each task."""

import io
import json
import logging
import re
from types import SimpleNamespace

import pytest

from mlprojects.site import logs


@pytest.fixture
def captured():
    """The lines the console handler would print, as the configured formatter makes them."""

    def capture(log_format: str):
        stream = io.StringIO()
        handler = logging.StreamHandler(stream)
        handler.addFilter(logs.RequestIdFilter())
        handler.setFormatter(
            logs.JsonFormatter() if log_format == "json" else logging.Formatter(logs.TEXT_FORMAT)
        )
        logging.getLogger().addHandler(handler)
        handlers.append(handler)
        return stream

    handlers: list[logging.Handler] = []
    yield capture
    for handler in handlers:
        logging.getLogger().removeHandler(handler)


@pytest.mark.parametrize("log_format", ["json", "text"])
def test_the_console_handler_adds_the_request_id_in_either_format(log_format):
    config = logs.logging_config(log_format=log_format, level="INFO")
    console = config["handlers"]["console"]
    assert console["formatter"] == log_format
    assert console["filters"] == ["request_id"]
    assert config["filters"]["request_id"]["()"] == "mlprojects.site.logs.RequestIdFilter"


def test_every_response_carries_a_new_request_id(client, db):
    first = client.get("/healthz")["X-Request-ID"]
    second = client.get("/healthz")["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", first)
    assert first != second


def test_a_sane_request_id_from_the_caller_is_kept(client, db):
    response = client.get("/healthz", HTTP_X_REQUEST_ID="lb-7f3a.trace_01-x")
    assert response["X-Request-ID"] == "lb-7f3a.trace_01-x"


@pytest.mark.parametrize(
    "unsafe", ["a" * 201, "two words", "line\\nbreak", "<script>", "id;drop", ""]
)
def test_an_unsafe_or_overlong_request_id_is_replaced(client, db, unsafe):
    response = client.get("/healthz", HTTP_X_REQUEST_ID=unsafe)
    assert re.fullmatch(r"[0-9a-f]{32}", response["X-Request-ID"])


def test_json_log_lines_carry_the_request_id(client, db, captured):
    stream = captured("json")
    response = client.get("/no-such-page/", HTTP_X_REQUEST_ID="req-404")
    assert response.status_code == 404
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    not_found = next(line for line in lines if line["logger"] == "django.request")
    assert not_found["request_id"] == "req-404"
    assert not_found["level"] == "WARNING"
    assert not_found["message"] == "Not Found: /no-such-page/"
    assert {"time", "level", "logger", "message", "request_id"} <= set(not_found)


def test_text_log_lines_carry_the_request_id(client, db, captured):
    stream = captured("text")
    client.get("/no-such-page/", HTTP_X_REQUEST_ID="req-text")
    assert "WARNING [req-text] django.request: Not Found: /no-such-page/" in stream.getvalue()


def test_lines_outside_a_request_say_so(client, db, captured):
    stream = captured("text")
    client.get("/healthz", HTTP_X_REQUEST_ID="req-done")
    logging.getLogger("mlprojects.test").warning("between requests")
    assert "[-] mlprojects.test: between requests" in stream.getvalue()


def test_a_task_message_carries_the_request_id_to_the_worker():
    token = logs.request_id_var.set("req-task")
    try:
        headers: dict = {}
        logs.attach_request_id(headers=headers)
    finally:
        logs.request_id_var.reset(token)
    assert headers == {"request_id": "req-task"}
    worker_task = SimpleNamespace(request=SimpleNamespace(request_id="req-task", is_eager=False))
    logs.adopt_request_id(task=worker_task)
    assert logs.request_id_var.get() == "req-task"
    logs.forget_task_request_id(task=worker_task)
    assert logs.request_id_var.get() == "-"


def test_a_task_without_a_request_logs_without_an_id():
    headers: dict = {}
    logs.attach_request_id(headers=headers)
    assert headers == {}
    logs.adopt_request_id(task=SimpleNamespace(request=SimpleNamespace(is_eager=False)))
    assert logs.request_id_var.get() == "-"


def test_a_task_run_inline_keeps_the_request_id_of_its_request():
    token = logs.request_id_var.set("req-inline")
    try:
        eager = SimpleNamespace(request=SimpleNamespace(is_eager=True))
        logs.adopt_request_id(task=eager)
        logs.forget_task_request_id(task=eager)
        assert logs.request_id_var.get() == "req-inline"
    finally:
        logs.request_id_var.reset(token)


def test_the_gunicorn_access_line_becomes_json_fields():
    atoms = {
        "m": "GET",
        "U": "/healthz",
        "q": "",
        "s": "200",
        "M": 12,
        "B": 46,
        "h": "10.0.0.1",
        "a": "probe",
        "{x-request-id}o": "req-gunicorn",
    }
    record = logging.LogRecord("gunicorn.access", logging.INFO, "", 0, "%(m)s", (atoms,), None)
    line = json.loads(logs.AccessJsonFormatter().format(record))
    assert line["request_id"] == "req-gunicorn"
    assert line["status"] == 200
    assert line["duration_ms"] == 12
    assert line["path"] == "/healthz"
    assert line["message"] == "GET /healthz 200"
