"""The web process as production runs it: `gunicorn mlprojects.wsgi` with gunicorn.conf.py
from the working directory and production settings, on a loopback port."""

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.mlprojects.site.test_production import production_env
from tests.mlprojects.site.test_startup import BASE_DIR, GUNICORN


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(port: int, path: str, headers: dict | None = None) -> http.client.HTTPResponse:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("GET", path, headers={"Host": "127.0.0.1", **(headers or {})})
    response = connection.getresponse()
    response.body = response.read()
    connection.close()
    return response


@pytest.fixture
def gunicorn(tmp_path: Path):
    port = free_port()
    env = production_env(
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        ALLOWED_HOSTS="127.0.0.1",
        HOST="127.0.0.1",
        PORT=str(port),
        WEB_CONCURRENCY="1",
        GUNICORN_THREADS="2",
    )
    stdout, stderr = tmp_path / "access.log", tmp_path / "error.log"
    process = subprocess.Popen(
        [str(GUNICORN), "mlprojects.wsgi"],
        cwd=BASE_DIR,
        env=env,
        stdout=stdout.open("w"),
        stderr=stderr.open("w"),
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            get(port, "/healthz")
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"gunicorn did not start:\n{stderr.read_text()}")
            time.sleep(0.3)
    try:
        yield port, stdout, stderr
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def test_gunicorn_serves_healthz_and_echoes_the_request_id(gunicorn):
    port, stdout, _ = gunicorn
    response = get(port, "/healthz", {"X-Request-ID": "lb-probe-1"})
    assert response.status == 200
    assert response.getheader("X-Request-ID") == "lb-probe-1"
    assert json.loads(response.body) == {"status": "ok", "checks": {"database": "ok"}}


def test_gunicorn_redirects_plain_http_pages_to_https_but_not_the_probes(gunicorn):
    port, _, _ = gunicorn
    page = get(port, "/accounts/login/")
    assert page.status == 301
    assert page.getheader("Location") == "https://127.0.0.1/accounts/login/"
    assert page.getheader("X-Request-ID")
    secure = get(port, "/healthz", {"X-Forwarded-Proto": "https"})
    assert secure.getheader("Strict-Transport-Security") == (
        "max-age=31536000; includeSubDomains; preload"
    )
    for probe in ("/healthz", "/readyz"):
        assert get(port, probe).status != 301, probe


def test_the_access_log_is_json_with_the_request_id_and_duration(gunicorn):
    port, stdout, _ = gunicorn
    get(port, "/healthz?from=test", {"X-Request-ID": "access-log-1"})

    def line():
        for raw in stdout.read_text().splitlines():
            record = json.loads(raw)
            if record.get("request_id") == "access-log-1":
                return record
        return None

    deadline = time.monotonic() + 10
    while (record := line()) is None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert record is not None, stdout.read_text()
    assert record["logger"] == "gunicorn.access"
    assert (record["method"], record["path"], record["query"]) == ("GET", "/healthz", "from=test")
    assert record["status"] == 200
    assert isinstance(record["duration_ms"], int)


CONFIG = """
import json, runpy
config = runpy.run_path("gunicorn.conf.py")
names = ["bind", "workers", "threads", "timeout", "graceful_timeout", "keepalive",
         "forwarded_allow_ips", "accesslog", "control_socket_disable"]
print(json.dumps({name: config[name] for name in names}))
"""


def read_config(**env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", CONFIG],
        cwd=BASE_DIR,
        env={"PATH": os.environ.get("PATH", ""), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_gunicorn_config_reads_its_numbers_from_the_environment():
    result = read_config(
        PORT="9001",
        WEB_CONCURRENCY="3",
        GUNICORN_THREADS="8",
        GUNICORN_TIMEOUT="90",
        GUNICORN_GRACEFUL_TIMEOUT="20",
        GUNICORN_KEEPALIVE="75",
        FORWARDED_ALLOW_IPS="10.0.0.1",
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "bind": "0.0.0.0:9001",
        "workers": 3,
        "threads": 8,
        "timeout": 90,
        "graceful_timeout": 20,
        "keepalive": 75,
        "forwarded_allow_ips": "10.0.0.1",
        "accesslog": "-",
        "control_socket_disable": True,
    }


@pytest.mark.parametrize(
    ("variable", "value"),
    [("WEB_CONCURRENCY", "four"), ("WEB_CONCURRENCY", "0"), ("GUNICORN_THREADS", "2.5")],
)
def test_a_malformed_gunicorn_variable_stops_it_with_the_name(variable, value):
    result = read_config(**{variable: value})
    assert result.returncode != 0
    assert variable in result.stderr
