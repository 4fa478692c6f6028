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
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests
from servers import (
    Database,
    ensure_mlflow_server,
    free_port,
    ours_env,
    setup_ours,
    start_mlflow,
    start_ours,
    stop,
    wait_until_up,
)

TARGET_RATIO = {"postgres": 3.0, "sqlite": 2.0}
WARMUP_RUNS = 2
ROUNDS = 5


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
    parser.add_argument("--db-prefix", default="mlp_bench", help="names of the scratch databases")
    args = parser.parse_args()
    if not 1 <= args.batch <= 1000:
        parser.error("--batch must be 1 to 1000 (the API's and MLflow's limit)")

    workdir = Path(tempfile.mkdtemp(prefix="mlp-bench-tracking-"))
    db = Database(args.db, workdir, args.postgres_url, prefix=args.db_prefix)
    procs: list[subprocess.Popen] = []
    ours_session, mlflow_session = requests.Session(), requests.Session()
    try:
        mlflow_exe, mlflow_env = ensure_mlflow_server(args.db == "postgres")
        batches = metric_batches(args.metrics, args.batch)
        total = args.runs * args.metrics
        print(f"workload: {args.runs} runs × {args.metrics} metric values in batches of "
              f"{args.batch} ({total:,} values), database: {args.db}", flush=True)  # fmt: skip

        ours_url, _ = db.new("ours")
        port = free_port()
        env = ours_env(
            database_url=ours_url, port=port, workers=args.workers,
            postgres=args.db == "postgres", redis_url=args.redis_url, workdir=workdir,
        )  # fmt: skip
        token = setup_ours(env)
        procs.append(start_ours(env, workdir / "ours.log"))
        ours = f"http://127.0.0.1:{port}"
        headers = {"Authorization": f"Bearer {token}"}
        wait_until_up(f"{ours}/api/v1/me/", procs[-1], workdir / "ours.log", headers)

        _, mlflow_db = db.new("mlflow")
        mlflow_port = free_port()
        procs.append(start_mlflow(
            mlflow_exe, mlflow_env, backend=mlflow_db, port=mlflow_port, workers=args.workers,
            workdir=workdir, artifacts=["--default-artifact-root", str(workdir / "artifacts")],
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
