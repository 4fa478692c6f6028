"""A real Celery worker process for integration tests: it consumes from Redis and writes
to the same test database as the test (which must therefore use `transactional_db`)."""

import os
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from mlprojects.celery import app

BASE_DIR = Path(__file__).resolve().parent.parent


def services_required() -> bool:
    return os.environ.get("REQUIRE_SERVICES") == "1"


def redis_available(url: str) -> bool:
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.RedisError:
        return False
    return True


def database_url() -> str:
    """The URL of the test database this process is using right now."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    user = db.get("USER") or ""
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    auth = f"{user}{password}@" if user else ""
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgres://{auth}{db.get('HOST') or '127.0.0.1'}{port}/{db['NAME']}"


class Worker:
    def __init__(self, process: subprocess.Popen, log_path: Path, mail_dir: Path):
        self.process = process
        self.log_path = log_path
        self.mail_dir = mail_dir

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL the whole worker (main process and pool children): a crash, not a
        shutdown, so unacknowledged tasks go back to the queue."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, 9)
            self.process.wait(timeout=10)


START_TIMEOUT_S = 90
#: Settings for the fault tests: a heartbeat every second, a worker silent for 8 s is
#: lost, and beat sweeps every second (production: 15 s, 120 s, 30 s).
FAST_JOBS = {
    "JOB_HEARTBEAT_SECONDS": "1",
    "JOB_RECLAIM_AFTER_SECONDS": "8",
    "JOB_DISPATCH_SWEEP_SECONDS": "1",
}
#: The embedded broker of `make run` (kombu's filesystem transport, under var/broker/).
EMBEDDED_BROKER = "filesystem://"


def embedded_broker_folders() -> None:
    for folder in ("queue", "processed", "control"):
        (settings.VAR_DIR / "broker" / folder).mkdir(parents=True, exist_ok=True)


@contextmanager
def broker_unreachable():
    """Tasks sent by this test process go, for real, to a broker that refuses
    connections (nothing listens on port 1) instead of running inline."""
    saved = app.conf.broker_url, app.conf.broker_write_url
    app.conf.task_always_eager = False
    app.conf.broker_url = app.conf.broker_write_url = "redis://127.0.0.1:1/0"
    app._pool = None
    app.amqp._producer_pool = None
    try:
        yield
    finally:
        app.conf.broker_url, app.conf.broker_write_url = saved
        app.conf.task_always_eager = True
        app._pool = None
        app.amqp._producer_pool = None


def start_worker(
    tmp_path: Path,
    *,
    concurrency: int = 1,
    extra_env: dict | None = None,
    beat: bool = False,
    broker: str | None = None,
) -> Worker:
    """A worker process; with `beat`, it also runs Celery beat (the periodic tasks). It
    consumes from Redis, or from `broker` (e.g. EMBEDDED_BROKER)."""
    broker = broker or settings.CELERY_BROKER_URL
    if broker == EMBEDDED_BROKER:
        embedded_broker_folders()
    elif not broker.startswith("redis") or not redis_available(broker):
        if services_required():
            pytest.fail(f"Redis is required but not reachable at {broker}")
        pytest.skip(f"no Redis reachable at {broker}: the worker tests need one")
    mail_dir = tmp_path / "mail"
    mail_dir.mkdir(exist_ok=True)
    log_path = tmp_path / "worker.log"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "mlprojects.settings.base",
        "DATABASE_URL": database_url(),
        "CELERY_BROKER_URL": broker,
        "CELERY_TASK_DEFAULT_QUEUE": settings.CELERY_TASK_DEFAULT_QUEUE,
        "EMAIL_URL": f"filemail://{mail_dir}",
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        **(extra_env or {}),
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "mlprojects.celery",
            "worker",
            "--loglevel=INFO",
            f"--concurrency={concurrency}",
            "-Q",
            settings.CELERY_TASK_DEFAULT_QUEUE,
            "--without-gossip",
            "--without-mingle",
            "-n",
            f"test-{os.getpid()}@%h",
            *(["--beat", f"--schedule={tmp_path / 'beat-schedule'}"] if beat else []),
        ],
        cwd=BASE_DIR,
        env=env,
        stdout=log_path.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    worker = Worker(process, log_path, mail_dir)
    # Generous: on a loaded 2-core machine a cold start can take most of a minute.
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the worker exited at start-up:\n{worker.log()}")
        if " ready." in worker.log():
            return worker
        time.sleep(0.2)
    worker.kill()
    pytest.fail(f"the worker did not become ready in {START_TIMEOUT_S} s:\n{worker.log()}")


def wait_for(predicate, *, timeout: float = 30, interval: float = 0.2, message: str = ""):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(message or "condition not met in time")


@pytest.fixture
def celery_worker_process(transactional_db, tmp_path):
    """A running worker; tasks are sent to it through Redis instead of running inline."""
    worker = start_worker(tmp_path)
    app.conf.task_always_eager = False
    try:
        yield worker
    finally:
        app.conf.task_always_eager = True
        worker.kill()
