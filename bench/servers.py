"""Starting and stopping the servers the benchmarks compare, shared by the bench scripts:
ours (gunicorn with `gunicorn.conf.py`, production settings on PostgreSQL) and a real
`mlflow server`, each on a free loopback port in a process group of its own, with their
databases created for the run and dropped afterwards; and the resident memory of a
server with all its worker processes.

Not a benchmark itself (`make bench` runs `bench/bench_*.py` only)."""

import importlib.metadata
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import psutil
import requests

ROOT = Path(__file__).resolve().parents[1]
MLFLOW_VENV = Path(tempfile.gettempdir()) / "mlprojects-bench-mlflow"
# The PostgreSQL driver for an `mlflow server` whose virtualenv has none (such as the one
# `make test` builds for MLflow's model server), installed here once, on its PYTHONPATH.
PG_DRIVER_DIR = Path(tempfile.gettempdir()) / "mlprojects-bench-pgdriver"
STARTUP_TIMEOUT = 300


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(url: str, proc: subprocess.Popen, log: Path, headers: dict | None = None) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"server exited with {proc.returncode}; its log ends:\n{tail}")
        try:
            if requests.get(url, headers=headers, timeout=2).status_code < 500:
                return
        except requests.RequestException:  # refused, or a busy server still starting
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{url} did not answer within {STARTUP_TIMEOUT}s")


def start(cmd: list[str], env: dict, log: Path) -> subprocess.Popen:
    # A process group of its own, so that stopping it also stops its worker processes.
    return subprocess.Popen(
        cmd, env=env, cwd=ROOT, stdout=log.open("wb"), stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def ensure_mlflow_server(postgres: bool) -> tuple[Path, dict]:
    """The `mlflow` server executable and the environment it needs. The virtualenv of
    MLFLOW_SERVE_PYTHON (which `make test` builds) when set, else one under /tmp made on
    first use, at the version of the mlflow client the project tests against."""
    serve_python = os.environ.get("MLFLOW_SERVE_PYTHON", "")
    env: dict = {}
    if serve_python and Path(serve_python).exists():
        python = Path(serve_python)
        if postgres and _missing(python, "psycopg"):
            if not (PG_DRIVER_DIR / "psycopg").is_dir():
                _pip(python, "--target", str(PG_DRIVER_DIR), "--no-deps", "psycopg[binary]")
            env["PYTHONPATH"] = str(PG_DRIVER_DIR)
        return python.parent / "mlflow", env
    version = importlib.metadata.version("mlflow-skinny")
    python = MLFLOW_VENV / "bin" / "python"
    packages = [f"mlflow=={version}"] + (["psycopg[binary]"] if postgres else [])
    if not python.exists():
        print(f"installing mlflow=={version} into {MLFLOW_VENV} (once)…", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(MLFLOW_VENV)], check=True)
    if _missing(python, "mlflow.server" + (", psycopg" if postgres else "")):
        _pip(python, *packages)
    return MLFLOW_VENV / "bin" / "mlflow", env


def _missing(python: Path, modules: str) -> bool:
    done = subprocess.run([str(python), "-c", f"import {modules}"], capture_output=True)
    return done.returncode != 0


def _pip(python: Path, *args: str) -> None:
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *args],
        check=True,
    )


class Database:
    """Empty databases of one engine, one per server, dropped at the end."""

    def __init__(self, engine: str, workdir: Path, postgres_url: str, prefix: str = "mlp_bench"):
        self.engine, self.workdir, self.postgres_url = engine, workdir, postgres_url.rstrip("/")
        self.prefix = prefix
        self.created: list[str] = []

    def new(self, name: str) -> tuple[str, str]:
        """(Django DATABASE_URL, SQLAlchemy URL) of a new database."""
        if self.engine == "sqlite":
            path = self.workdir / f"{name}.sqlite3"
            return f"sqlite:///{path}", f"sqlite:///{path}"
        import psycopg

        db = f"{self.prefix}_{name}_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(f"{self.postgres_url}/postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{db}"')
        self.created.append(db)
        url = f"{self.postgres_url}/{db}"
        return url, url.replace("postgres://", "postgresql://", 1)

    def drop_all(self) -> None:
        if not self.created:
            return
        import psycopg

        with psycopg.connect(f"{self.postgres_url}/postgres", autocommit=True) as conn:
            for db in self.created:
                conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')


def ours_env(
    *, database_url: str, port: int, workers: int, postgres: bool, redis_url: str, workdir: Path
) -> dict:
    """Our server's environment: production settings on PostgreSQL (as the README's
    production section runs it), local settings on SQLite; files under `workdir`."""
    env = {
        **os.environ,
        "DEBUG": "false",
        "DATABASE_URL": database_url,
        "API_THROTTLE_USER": "100000000/min",
        "LOG_LEVEL": "WARNING",
        "PORT": str(port),
        "HOST": "127.0.0.1",
        "WEB_CONCURRENCY": str(workers),
        "MEDIA_ROOT": str(workdir / "media"),
    }
    if postgres:
        env |= {
            "DJANGO_SETTINGS_MODULE": "mlprojects.settings.production",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": "127.0.0.1",
            "CELERY_BROKER_URL": redis_url,
            "REDIS_URL": redis_url,
            "SECURE_SSL_REDIRECT": "false",  # plain HTTP on loopback, no TLS proxy
            "CONN_MAX_AGE": "60",
        }
    else:
        env["DJANGO_SETTINGS_MODULE"] = "mlprojects.settings.local"
    return env


def setup_ours(env: dict) -> str:
    """Migrate, create an organization, a member, a project and a write token."""
    python = sys.executable
    subprocess.run([python, "manage.py", "migrate", "--noinput", "-v", "0"], env=env,
                   cwd=ROOT, check=True)  # fmt: skip
    script = (
        "from accounts.services import user_signup; from mlprojects.lifecycle.services import "
        "project_create; u, o = user_signup(email='bench@example.com', password='x-bench-pw-1',"
        " organization_name='Bench'); project_create(org=o, user=u, name='bench', slug='bench')"
    )
    subprocess.run(
        [python, "manage.py", "shell", "-v", "0", "-c", script], env=env, cwd=ROOT, check=True
    )
    token = subprocess.run(
        [python, "manage.py", "create_api_token", "--user", "bench@example.com", "--org",
         "bench", "--name", "bench", "--scope", "write"],
        env=env, cwd=ROOT, check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    return token


def start_ours(env: dict, log: Path) -> subprocess.Popen:
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    return start([gunicorn, "-c", "gunicorn.conf.py", "mlprojects.wsgi"], env, log)


def start_mlflow(
    exe: Path, env: dict, *, backend: str, port: int, workers: int, workdir: Path,
    artifacts: list[str],
) -> subprocess.Popen:  # fmt: skip
    """`mlflow server` on `backend`; `artifacts` are its artifact options."""
    cmd = [str(exe), "server", "--backend-store-uri", backend, *artifacts,
           "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]  # fmt: skip
    return start(cmd, {**os.environ, **env, "MLFLOW_HOME": str(workdir)}, workdir / "mlflow.log")


def tree_rss(pid: int) -> int:
    """Resident bytes of a server: its process and every descendant (the workers)."""
    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0
    total = 0
    for proc in procs:
        try:
            total += proc.memory_info().rss
        except psutil.NoSuchProcess:  # a worker replaced meanwhile
            pass
    return total


class PeakRss:
    """Samples `tree_rss(pid)` every `interval` seconds while in its `with` block: the
    resident size before it (`baseline`) and the highest seen (`peak`)."""

    def __init__(self, pid: int, interval: float = 0.02):
        self.pid, self.interval = pid, interval
        self.baseline = self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, tree_rss(self.pid))
            self._stop.wait(self.interval)

    def __enter__(self) -> "PeakRss":
        self.baseline = self.peak = tree_rss(self.pid)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, tree_rss(self.pid))

    @property
    def growth(self) -> int:
        return self.peak - self.baseline
