"""Experiment-tracking throughput: the same workload logged through our REST API, through
our MLflow-compatible endpoint, and through a real MLflow tracking server, all on the same
database engine, each with the same number of web worker processes (--workers).

    python bench/bench_tracking.py                      # production mode on PostgreSQL
    python bench/bench_tracking.py --runs 10 --metrics 200
    python bench/bench_tracking.py --db sqlite          # local settings, SQLite files

On PostgreSQL both sides run as in production: ours is gunicorn with `gunicorn.conf.py` and
production settings (Redis cache, JSON logs), MLflow is `mlflow server` with its
PostgreSQL backend store.

Workload per run: create the run, log its metrics with log-batch (up to --batch values per
request, MLflow's own limit is 1,000), finish the run. Prints metric values per second for
each server and the ratio ours / MLflow (target ≥ 3 on PostgreSQL, 2 on SQLite). The full
`mlflow` package (the server) is installed once into its own virtualenv under /tmp, never
into the project's.
Both servers are started here and stopped, and their databases removed, when it ends."""

import argparse
import importlib.metadata
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
MLFLOW_VENV = Path(tempfile.gettempdir()) / "mlprojects-bench-mlflow"
STARTUP_TIMEOUT = 300
TARGET_RATIO = {"postgres": 3.0, "sqlite": 2.0}
WARMUP_RUNS = 2
ROUNDS = 5


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


def ensure_mlflow_server(postgres: bool) -> Path:
    """The `mlflow` server executable, from a virtualenv under /tmp made on first use, at
    the version of the mlflow client the project tests against."""
    version = importlib.metadata.version("mlflow-skinny")
    python = MLFLOW_VENV / "bin" / "python"
    packages = [f"mlflow=={version}"] + (["psycopg[binary]"] if postgres else [])
    if not python.exists():
        print(f"installing mlflow=={version} into {MLFLOW_VENV} (once)…", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(MLFLOW_VENV)], check=True)
    missing = subprocess.run(
        [str(python), "-c", "import mlflow.server" + (", psycopg" if postgres else "")],
        capture_output=True,
    ).returncode
    if missing:
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
             *packages],
            check=True,
        )  # fmt: skip
    return MLFLOW_VENV / "bin" / "mlflow"


class Database:
    """Two empty databases of one engine: one for our server, one for MLflow's."""

    def __init__(self, engine: str, workdir: Path, postgres_url: str):
        self.engine, self.workdir, self.postgres_url = engine, workdir, postgres_url.rstrip("/")
        self.created: list[str] = []

    def new(self, name: str) -> tuple[str, str]:
        """(Django DATABASE_URL, SQLAlchemy URL) of a new database."""
        if self.engine == "sqlite":
            path = self.workdir / f"{name}.sqlite3"
            return f"sqlite:///{path}", f"sqlite:///{path}"
        import psycopg

        db = f"mlp_bench_{name}_{uuid.uuid4().hex[:8]}"
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


def metric_batches(metrics: int, batch: int, keys: int = 10):
    now = int(time.time() * 1000)
    points = [
        {"key": f"metric_{i % keys}", "value": (i * 7919 % 1000) / 1000, "step": i // keys,
         "timestamp": now + i}
        for i in range(metrics)
    ]  # fmt: skip
    return [points[i : i + batch] for i in range(0, metrics, batch)]


def check(response: requests.Response) -> dict:
    if response.status_code >= 300:
        raise RuntimeError(f"{response.request.method} {response.url}: {response.status_code} "
                           f"{response.text[:300]}")  # fmt: skip
    return response.json() if response.content else {}


def workload_ours(session, base: str, project_id: int, runs: int, batches) -> None:
    for r in range(runs):
        run = check(session.post(f"{base}/api/v1/projects/{project_id}/runs/",
                                 json={"name": f"run-{r}", "params": {"lr": "0.01"}}))  # fmt: skip
        for batch in batches:
            check(session.post(f"{base}/api/v1/runs/{run['id']}/log-batch/",
                               json={"metrics": batch}))  # fmt: skip
        check(session.patch(f"{base}/api/v1/runs/{run['id']}/", json={"status": "finished"}))


def workload_mlflow(session, base: str, experiment_id: str, runs: int, batches) -> None:
    api = f"{base}/api/2.0/mlflow"
    for r in range(runs):
        run = check(session.post(f"{api}/runs/create", json={
            "experiment_id": experiment_id, "run_name": f"run-{r}",
            "start_time": int(time.time() * 1000),
            "tags": [{"key": "lr", "value": "0.01"}]}))  # fmt: skip
        run_id = run["run"]["info"]["run_id"]
        for batch in batches:
            check(session.post(f"{api}/runs/log-batch", json={"run_id": run_id,
                                                              "metrics": batch}))  # fmt: skip
        check(session.post(f"{api}/runs/update", json={
            "run_id": run_id, "status": "FINISHED",
            "end_time": int(time.time() * 1000)}))  # fmt: skip


def mlflow_experiment(session, base: str) -> str:
    """Creates the benchmark's experiment. MLflow's workers set up their store on first use
    and may drop that first connection on a busy machine: asked again, not measured."""
    for attempt in range(5):
        try:
            return check(session.post(f"{base}/api/2.0/mlflow/experiments/create",
                                      json={"name": "b"}))["experiment_id"]  # fmt: skip
        except requests.ConnectionError:
            if attempt == 4:
                raise
            time.sleep(2)
    raise AssertionError("unreachable")


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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--metrics", type=int, default=1000, help="metric values per run")
    parser.add_argument("--batch", type=int, default=1000, help="values per log-batch request")
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="postgres")
    parser.add_argument("--workers", type=int, default=2, help="web worker processes per server")
    parser.add_argument(
        "--redis-url",
        default="redis://127.0.0.1:6379/14",
        help="the cache of our production settings (PostgreSQL runs only)",
    )
    parser.add_argument("--postgres-url", default="postgres://postgres@127.0.0.1:5432")
    args = parser.parse_args()
    if not 1 <= args.batch <= 1000:
        parser.error("--batch must be 1 to 1000 (the API's and MLflow's limit)")

    workdir = Path(tempfile.mkdtemp(prefix="mlp-bench-tracking-"))
    db = Database(args.db, workdir, args.postgres_url)
    procs: list[subprocess.Popen] = []
    ours_session, mlflow_session = requests.Session(), requests.Session()
    try:
        mlflow_exe = ensure_mlflow_server(args.db == "postgres")
        batches = metric_batches(args.metrics, args.batch)
        total = args.runs * args.metrics
        print(f"workload: {args.runs} runs × {args.metrics} metric values in batches of "
              f"{args.batch} ({total:,} values), database: {args.db}", flush=True)  # fmt: skip

        ours_url, _ = db.new("ours")
        port = free_port()
        env = {
            **os.environ,
            "DEBUG": "false",
            "DATABASE_URL": ours_url,
            "API_THROTTLE_USER": "100000000/min",
            "LOG_LEVEL": "WARNING",
            "PORT": str(port),
            "HOST": "127.0.0.1",
            "WEB_CONCURRENCY": str(args.workers),
        }
        if args.db == "postgres":  # as the README's production section runs it
            env |= {
                "DJANGO_SETTINGS_MODULE": "mlprojects.settings.production",
                "SECRET_KEY": secrets.token_urlsafe(50),
                "ALLOWED_HOSTS": "127.0.0.1",
                "CELERY_BROKER_URL": args.redis_url,
                "REDIS_URL": args.redis_url,
                "SECURE_SSL_REDIRECT": "false",  # plain HTTP on loopback, no TLS proxy
                "CONN_MAX_AGE": "60",
            }
        else:
            env["DJANGO_SETTINGS_MODULE"] = "mlprojects.settings.local"
        token = setup_ours(env)
        procs.append(start(
            [str(Path(sys.executable).parent / "gunicorn"), "-c", "gunicorn.conf.py",
             "mlprojects.wsgi"],
            env, workdir / "ours.log",
        ))  # fmt: skip
        ours = f"http://127.0.0.1:{port}"
        headers = {"Authorization": f"Bearer {token}"}
        wait_until_up(f"{ours}/api/v1/me/", procs[-1], workdir / "ours.log", headers)

        _, mlflow_db = db.new("mlflow")
        mlflow_port = free_port()
        procs.append(start(
            [str(mlflow_exe), "server", "--backend-store-uri", mlflow_db,
             "--default-artifact-root", str(workdir / "artifacts"),
             "--host", "127.0.0.1", "--port", str(mlflow_port), "--workers", str(args.workers)],
            {**os.environ, "MLFLOW_HOME": str(workdir)}, workdir / "mlflow.log",
        ))  # fmt: skip
        mlflow = f"http://127.0.0.1:{mlflow_port}"
        wait_until_up(f"{mlflow}/health", procs[-1], workdir / "mlflow.log")

        ours_session.headers.update(headers)
        project = check(ours_session.get(f"{ours}/api/v1/projects/"))["results"][0]["id"]
        experiment = mlflow_experiment(mlflow_session, mlflow)
        workloads = {
            "ours, REST API (/api/v1/)": lambda n: workload_ours(
                ours_session, ours, project, n, batches),
            "ours, MLflow endpoint (/mlflow/)": lambda n: workload_mlflow(
                ours_session, f"{ours}/mlflow", str(project), n, batches),
            "MLflow tracking server": lambda n: workload_mlflow(
                mlflow_session, mlflow, experiment, n, batches),
        }  # fmt: skip
        # Warm-up (imports, first connections; MLflow initialises its store on first use)
        # is not measured. The servers then take turns in rounds, so that a burst of load
        # from elsewhere on the machine does not fall on one of them only.
        for work in workloads.values():
            work(WARMUP_RUNS)
        seconds = dict.fromkeys(workloads, 0.0)
        rounds = min(ROUNDS, args.runs)
        for r in range(rounds):
            n = args.runs // rounds + (1 if r < args.runs % rounds else 0)
            for label, work in workloads.items():
                started = time.perf_counter()
                work(n)
                seconds[label] += time.perf_counter() - started
        rates = {}
        for label, spent in seconds.items():
            rates[label] = total / spent
            print(f"  {label:<34} {spent:8.2f} s {rates[label]:10,.0f} metric values/s")
        rate_ours, rate_compat, rate_mlflow = rates.values()
        ratio, compat_ratio = rate_ours / rate_mlflow, rate_compat / rate_mlflow
        target = TARGET_RATIO[args.db]
        print(f"ratio ours/MLflow: REST API {ratio:.2f}×, MLflow endpoint {compat_ratio:.2f}× "
              f"(target ≥ {target:.0f}×)")  # fmt: skip
        return 0 if min(ratio, compat_ratio) >= target else 1
    finally:
        ours_session.close()
        mlflow_session.close()
        for proc in procs:
            stop(proc)
        db.drop_all()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
