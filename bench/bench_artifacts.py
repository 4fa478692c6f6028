"""Artifact throughput and server memory: one large file uploaded with `mlflow.log_artifact`
and downloaded with `mlflow.artifacts.download_artifacts` — the unchanged MLflow client —
through our `/mlflow` artifact proxy and through a real `mlflow server` serving artifacts
(`--artifacts-destination`), both started here, each with the same number of web worker
processes (--workers).

    python bench/bench_artifacts.py                     # 200 MB, production mode, PostgreSQL
    python bench/bench_artifacts.py --size-mb 50 --rounds 1

Ours runs as in production: gunicorn with `gunicorn.conf.py` and production settings
(PostgreSQL, Redis cache, files in MEDIA_ROOT). While each server transfers, the resident
memory of its whole process tree (master and workers, psutil) is sampled every 20 ms; the
growth is its peak minus its size just before (after a warm-up transfer of 1 MB).
Prints MB/s (upload + download) per server, the ratio ours / MLflow (target ≥ 1) and the
memory growth (target < 50 MB for ours). Every download is checked against the file's
SHA-256. Exits 1 when a target is missed. Both servers are stopped, and their databases
dropped, when it ends."""

import argparse
import contextlib
import hashlib
import io
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import mlflow
import requests
from mlflow.artifacts import download_artifacts
from servers import (
    Database,
    PeakRss,
    ensure_mlflow_server,
    free_port,
    ours_env,
    setup_ours,
    start_mlflow,
    start_ours,
    stop,
    wait_until_up,
)

MB = 1024 * 1024
TARGET_RATIO = 1.0
TARGET_GROWTH_MB = 50
WRITE_CHUNK = 4 * MB


def make_file(path: Path, size: int) -> str:
    """A file of `size` random bytes (incompressible); its SHA-256."""
    digest = hashlib.sha256()
    with path.open("wb") as f:
        left = size
        while left:
            block = os.urandom(min(WRITE_CHUNK, left))
            digest.update(block)
            f.write(block)
            left -= len(block)
    return digest.hexdigest()


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(WRITE_CHUNK):
            digest.update(block)
    return digest.hexdigest()


class Side:
    """One server as the MLflow client sees it: its tracking URI, token, experiment."""

    def __init__(self, label: str, uri: str, experiment_id: str, token: str | None):
        self.label, self.uri, self.experiment_id, self.token = label, uri, experiment_id, token
        self.seconds = {"upload": 0.0, "download": 0.0}

    def activate(self) -> None:
        mlflow.set_tracking_uri(self.uri)
        if self.token:
            os.environ["MLFLOW_TRACKING_TOKEN"] = self.token
        else:
            os.environ.pop("MLFLOW_TRACKING_TOKEN", None)

    def transfer(self, path: Path, workdir: Path, expected: str, timed: bool = True) -> None:
        """Upload `path` to a new run, download it back, check it; time both halves."""
        self.activate()
        # The client prints the run's URL when it ends; not part of the report.
        with contextlib.redirect_stdout(io.StringIO()):
            with mlflow.start_run(experiment_id=self.experiment_id) as run:
                started = time.perf_counter()
                mlflow.log_artifact(str(path))
                uploaded = time.perf_counter()
        target = Path(tempfile.mkdtemp(dir=workdir, prefix="download-"))
        downloaded_at = time.perf_counter()
        local = download_artifacts(
            run_id=run.info.run_id, artifact_path=path.name, dst_path=str(target)
        )
        done = time.perf_counter()
        if timed:
            self.seconds["upload"] += uploaded - started
            self.seconds["download"] += done - downloaded_at
        if sha256(Path(local)) != expected:
            raise RuntimeError(f"{self.label}: the downloaded file differs from the upload")
        shutil.rmtree(target)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mb", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=2, help="transfers per server")
    parser.add_argument("--workers", type=int, default=2, help="web worker processes per server")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/14")
    parser.add_argument("--postgres-url", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--db-prefix", default="mlp_bench", help="names of the scratch databases")
    args = parser.parse_args()
    logging.getLogger("mlflow").setLevel(logging.WARNING)  # no "View run …" per transfer

    workdir = Path(tempfile.mkdtemp(prefix="mlp-bench-artifacts-"))
    db = Database("postgres", workdir, args.postgres_url, prefix=args.db_prefix)
    procs: list[subprocess.Popen] = []
    try:
        mlflow_exe, mlflow_env = ensure_mlflow_server(postgres=True)
        size = args.size_mb * MB
        big = workdir / "model.bin"
        expected = make_file(big, size)
        small = workdir / "warmup.bin"
        small_sha = make_file(small, MB)
        print(f"workload: {args.rounds} × upload + download of {args.size_mb} MB per server, "
              f"{args.workers} workers each", flush=True)  # fmt: skip

        ours_url, _ = db.new("ours")
        port = free_port()
        env = ours_env(
            database_url=ours_url, port=port, workers=args.workers, postgres=True,
            redis_url=args.redis_url, workdir=workdir,
        )  # fmt: skip
        token = setup_ours(env)
        procs.append(start_ours(env, workdir / "ours.log"))
        ours = f"http://127.0.0.1:{port}"
        headers = {"Authorization": f"Bearer {token}"}
        wait_until_up(f"{ours}/api/v1/me/", procs[-1], workdir / "ours.log", headers)
        project = requests.get(f"{ours}/api/v1/projects/", headers=headers, timeout=30).json()

        _, mlflow_db = db.new("mlflow")
        mlflow_port = free_port()
        artifacts = ["--serve-artifacts", "--artifacts-destination", str(workdir / "mlflow-art")]
        procs.append(start_mlflow(
            mlflow_exe, mlflow_env, backend=mlflow_db, port=mlflow_port, workers=args.workers,
            workdir=workdir, artifacts=artifacts,
        ))  # fmt: skip
        mlflow_url = f"http://127.0.0.1:{mlflow_port}"
        wait_until_up(f"{mlflow_url}/health", procs[-1], workdir / "mlflow.log")
        os.environ.pop("MLFLOW_TRACKING_TOKEN", None)
        mlflow.set_tracking_uri(mlflow_url)
        experiment = mlflow.create_experiment("bench-artifacts")

        sides = {
            procs[0].pid: Side("ours (/mlflow, gunicorn)", f"{ours}/mlflow",
                               str(project["results"][0]["id"]), token),
            procs[1].pid: Side("MLflow server", mlflow_url, experiment, None),
        }  # fmt: skip
        # Warm-up: imports, first connections and each worker's first request, unmeasured.
        for side in sides.values():
            for _ in range(args.workers):
                side.transfer(small, workdir, small_sha, timed=False)
        growth = {}
        samplers = {pid: PeakRss(pid) for pid in sides}
        with contextlib.ExitStack() as sampling:
            for sampler in samplers.values():
                sampling.enter_context(sampler)
            # The servers take turns, so a burst of load from elsewhere on the machine does
            # not fall on one of them only; each one's memory is sampled throughout.
            for _ in range(args.rounds):
                for side in sides.values():
                    side.transfer(big, workdir, expected)
        rates = {}
        for pid, side in sides.items():
            spent = sum(side.seconds.values())
            rates[pid] = 2 * args.rounds * args.size_mb / spent
            growth[pid] = samplers[pid].growth / MB
            up, down = (args.rounds * args.size_mb / s for s in side.seconds.values())
            print(f"  {side.label:<26} {rates[pid]:7.1f} MB/s (upload {up:6.1f}, download "
                  f"{down:6.1f}); server memory {samplers[pid].baseline / MB:6.0f} MB, "
                  f"peak growth {growth[pid]:6.1f} MB", flush=True)  # fmt: skip
        ours_pid, mlflow_pid = sides
        ratio = rates[ours_pid] / rates[mlflow_pid]
        print(
            f"ratio ours/MLflow: {ratio:.2f}× (target ≥ {TARGET_RATIO:.0f}×); our peak memory "
            f"growth {growth[ours_pid]:.1f} MB (target < {TARGET_GROWTH_MB} MB)"
        )
        return 0 if ratio >= TARGET_RATIO and growth[ours_pid] < TARGET_GROWTH_MB else 1
    finally:
        for proc in procs:
            stop(proc)
        db.drop_all()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
