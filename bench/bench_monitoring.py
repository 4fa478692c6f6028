"""Benchmark: production predictions in, monitoring windows out, end to end.

Usage::

    .venv/bin/python bench/bench_monitoring.py [--rows 5000000] [--days 7]
        [--broker redis://127.0.0.1:6379/0 --concurrency 2] [--drift-rows 1000000]

`--rows` defaults to $BENCH_MONITORING_ROWS, else 5,000,000. Writes a seeded Parquet file
of `rows` scored predictions (prediction_id, timestamp spread over `days` days, score, 20
features: 14 numeric, 6 categorical strings; the last day shifted on a few features) and
a labels file for the first half of the days, then, in a fresh process (a temporary
SQLite database and media root):

1. `POST /api/v1/projects/{id}/predictions/` with the file (multipart, a write token,
   streamed over HTTP to a real web process: `manage.py runserver --noreload
   --nothreading`), which streams the rows per day partition and queues one window task
   per day (a fan-out whose last task evaluates the alert rules);
2. the worker computes every day's windows — by default in this process (eager Celery,
   the code a worker runs); with `--broker` a real `celery worker` process
   (`--concurrency` children) consuming from that broker, the benchmark polling the
   database until every day's window is written;
3. `POST /api/v1/projects/{id}/labels/` with the labels file, and the same wait for the
   labelled days to be recomputed.

Prints the seconds of each stage, rows per second end to end, the windows written, and
the web process's peak RSS (VmHWM) above its RSS after a first request, against the raw
bytes of the file's columns in memory: with `--broker` the web process only ingests, and
the growth stays flat as --rows grows (one batch of `windows.INGEST_BATCH_ROWS` rows at a
time); without it the windows are computed in the web process too (eager Celery). With
`--broker` it also prints the highest peak RSS of the worker's children (each computes
one day partition at a time) and its growth above the worker's RSS when it started
(children are forks of it), against the raw column bytes of one day partition.
Then, in the same run, `bench_drift.py --rows <--drift-rows>` (0 skips it): our drift of
that many rows × 20 columns against Evidently's report on the same frames. All files are
removed at the end.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

NUMERIC, CATEGORICAL = 14, 6
DEFAULT_ROWS = int(os.environ.get("BENCH_MONITORING_ROWS", "5000000"))


def memory_bytes(pid: int) -> dict[str, int]:
    """RSS now and its peak (VmRSS, VmHWM) of a process."""
    found = {}
    with Path(f"/proc/{pid}/status").open() as fh:
        for line in fh:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                found[key] = int(value.split()[0]) * 1024
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def post_file(port: int, url: str, token: str, path: Path) -> tuple[int, dict]:
    """POST `path` as the multipart field `file`, streamed from disk 1 MB at a time."""
    boundary = "bench-monitoring-boundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
        f'filename="{path.name}"\r\nContent-Type: application/octet-stream\r\n\r\n'
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()

    def body():
        yield head
        with path.open("rb") as fh:
            while chunk := fh.read(1024 * 1024):
                yield chunk
        yield tail

    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=3600)
    connection.request(
        "POST",
        url,
        body=body(),
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": f"multipart/form-data; boundary={boundary}",
            "Content-Length": str(len(head) + path.stat().st_size + len(tail)),
        },
    )
    response = connection.getresponse()
    status, content = response.status, response.read()
    connection.close()
    try:
        return status, json.loads(content)
    except ValueError:
        return status, {"content": content[:500].decode(errors="replace")}


def start_web(env: dict, workdir: Path) -> tuple[subprocess.Popen, int]:
    port = free_port()
    web = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", "--noreload", "--nothreading",
         f"127.0.0.1:{port}"],
        env={**os.environ, **env}, cwd=ROOT, stdout=subprocess.DEVNULL,
        stderr=open(workdir / "web.log", "w"),  # noqa: SIM115 (closed with the process)
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while True:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/healthz")
            connection.getresponse().read()
            return web, port
        except OSError:
            if time.monotonic() > deadline or web.poll() is not None:
                raise SystemExit("the web process did not start: see web.log") from None
            time.sleep(0.5)


def write_files(workdir: Path, rows: int, days: int, seed: int) -> dict:
    """The predictions and labels Parquet files, written a chunk at a time."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    start = np.datetime64("2026-11-01T00:00:00", "us")
    chunk = 500_000
    predictions, labels = workdir / "predictions.parquet", workdir / "labels.parquet"
    writer = label_writer = None
    raw = 0
    for offset in range(0, rows, chunk):
        n = min(chunk, rows - offset)
        day = (np.arange(offset, offset + n) * days) // rows  # rows in time order
        shifted = day == days - 1
        seconds = rng.integers(0, 86_400, n)
        columns = {
            "prediction_id": pa.array([f"p{i}" for i in range(offset, offset + n)]),
            "timestamp": pa.array(
                start + (day * 86_400 + seconds).astype("timedelta64[s]"), pa.timestamp("us", "UTC")
            ),
        }
        for i in range(NUMERIC):
            columns[f"num_{i}"] = rng.normal(0.5 * shifted * (i % 4 == 0), 1.0 + i / 10, n)
        for i in range(CATEGORICAL):
            levels = np.array([f"level_{k}" for k in range(3 + 2 * i)])
            columns[f"cat_{i}"] = pa.array(levels[rng.integers(0, levels.size, n)])
        label = (rng.random(n) < 0.1).astype(np.int8)
        columns["score"] = np.clip(0.4 * label + 0.6 * rng.random(n), 0, 1)
        table = pa.table(columns)
        raw += table.nbytes
        writer = writer or pq.ParquetWriter(predictions, table.schema)
        writer.write_table(table)
        keep = day < days // 2  # labels for the first half of the days
        labelled = pa.table(
            {"prediction_id": table.column("prediction_id").filter(keep), "label": label[keep]}
        )
        label_writer = label_writer or pq.ParquetWriter(labels, labelled.schema)
        label_writer.write_table(labelled)
    writer.close()
    label_writer.close()
    return {"predictions": predictions, "labels": labels, "raw_bytes": raw}


def _wait_for_windows(project, days: list[str], since, timeout: float) -> int:
    """Poll until every one of `days` has its windows written after `since`."""
    from evaluation.models import MonitoringWindow

    deadline = time.monotonic() + timeout
    while True:
        done = {
            w.start.date().isoformat()
            for w in MonitoringWindow.objects.filter(project=project, computed_at__gte=since)
        }
        if set(days) <= done:
            return len(done)
        if time.monotonic() > deadline:
            raise SystemExit(f"windows of {sorted(set(days) - done)} not computed in {timeout} s")
        time.sleep(0.5)


def stage_ours(args: argparse.Namespace) -> dict:
    workdir = args.workdir
    env = {
        "DJANGO_SETTINGS_MODULE": "mlprojects.settings.base",
        "DATABASE_URL": f"sqlite:///{workdir / 'bench.sqlite3'}",
        "MEDIA_ROOT": str(workdir / "media"),
        "CELERY_TASK_ALWAYS_EAGER": "false" if args.broker else "true",
        "CELERY_BROKER_URL": args.broker or "memory://",
        "API_THROTTLE_USER": "100000000/min",
        "LOG_LEVEL": "WARNING",
        "MONITORING_MAX_UPLOAD_BYTES": str(20 * 1024**3),
    }
    os.environ.update(env)
    import django

    django.setup()
    from django.core.management import call_command
    from django.utils import timezone

    from accounts.services import api_token_create, organization_create, user_signup
    from mlprojects.lifecycle.services import project_create

    call_command("migrate", verbosity=0)
    user, org = user_signup(email="bench@example.com", password="x" * 20, organization_name="Bench")
    org = org or organization_create(name="Bench", owner=user)
    project = project_create(org=org, user=user, name="Bench")
    _, token = api_token_create(org=org, user=user, name="bench", scope="write")
    web, port = start_web(env, workdir)
    auth = {"Authorization": f"Bearer {token}"}
    worker = None
    child_start = 0
    if args.broker:
        from mlprojects.celery import app

        app.control.purge()  # before the worker starts: a purge after would drop our tasks
        worker = subprocess.Popen(
            [str(Path(sys.executable).parent / "celery"), "-A", "mlprojects", "worker",
             "--concurrency", str(args.concurrency), "--loglevel", "WARNING", "--without-gossip",
             "--without-mingle"],
            env={**os.environ, **env}, cwd=ROOT, stdout=subprocess.DEVNULL,
            stderr=open(workdir / "worker.log", "w"),  # noqa: SIM115 (closed with the process)
        )  # fmt: skip
        # Post only once the worker consumes: its start takes seconds on a busy machine.
        deadline = time.monotonic() + 120
        while not app.control.ping(timeout=1.0):
            if time.monotonic() > deadline or worker.poll() is not None:
                web.terminate()
                worker.terminate()
                raise SystemExit("the worker did not start: see worker.log")
        # A child starts as a fork of the parent: its growth is measured from this.
        child_start = memory_bytes(worker.pid)["VmRSS"]
    stages = {}
    child_peak = 0
    try:
        # A first request loads the API code: the growth measured is the ingest's.
        warm = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        warm.request("GET", f"/api/v1/projects/{project.pk}/monitoring/", headers=auth)
        warm.getresponse().read()
        before = memory_bytes(web.pid)["VmRSS"]
        for kind, path in (("predictions", args.path), ("labels", args.labels)):
            since = timezone.now()
            start = time.perf_counter()
            status, body = post_file(port, f"/api/v1/projects/{project.pk}/{kind}/", token, path)
            if status != 202:
                raise SystemExit(f"{kind}: {status} {body}")
            posted = time.perf_counter() - start
            days = body["recomputing"]
            windows = _wait_for_windows(project, days, since, timeout=args.timeout)
            stages[kind] = {
                "post_seconds": posted,
                "total_seconds": time.perf_counter() - start,
                "rows": body["received"],
                "days": len(days),
                "windows": windows,
            }
        peak = memory_bytes(web.pid)["VmHWM"]
        if worker is not None:
            # The prefork children compute the windows; their peak RSS, not the parent's.
            listed = Path(f"/proc/{worker.pid}/task/{worker.pid}/children").read_text().split()
            child_peak = max((memory_bytes(int(pid))["VmHWM"] for pid in listed), default=0)
    finally:
        for process in (worker, web):
            if process is not None:
                process.terminate()
                process.wait(timeout=60)
    from evaluation.models import MonitoringWindow

    window = MonitoringWindow.objects.filter(project=project).order_by("-start").first()
    drift = window.result.get("drift") or {}
    return {
        "stages": stages,
        "peak_above_start": peak - before,
        "worker_child_peak": child_peak,
        "worker_child_start": child_start,
        "last_window_drifted": [c["column"] for c in drift.get("columns", []) if c["drifted"]],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=DEFAULT_ROWS)
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--broker", help="run a real Celery worker on this broker URL")
    parser.add_argument("--concurrency", type=int, default=2, help="worker children")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds to wait")
    parser.add_argument(
        "--drift-rows", type=int, default=1_000_000, help="rows of the drift run (0: skip)"
    )
    parser.add_argument("--stage", choices=["ours"])
    parser.add_argument("--path", type=Path)
    parser.add_argument("--labels", type=Path)
    parser.add_argument("--workdir", type=Path)
    args = parser.parse_args()
    if args.stage == "ours":
        print(json.dumps(stage_ours(args)))
        return

    with tempfile.TemporaryDirectory(prefix="bench-monitoring-") as tmp:
        workdir = Path(tmp)
        start = time.perf_counter()
        files = write_files(workdir, args.rows, args.days, args.seed)
        size = files["predictions"].stat().st_size
        took = time.perf_counter() - start
        print(f"rows: {args.rows:,} x {NUMERIC + CATEGORICAL} features over {args.days} days; "
              f"file {size / 1e6:.0f} MB, written in {took:.1f} s")  # fmt: skip
        command = [sys.executable, __file__, "--stage", "ours", "--path", str(files["predictions"])]
        command += ["--labels", str(files["labels"]), "--workdir", str(workdir)]
        command += ["--timeout", str(args.timeout), "--concurrency", str(args.concurrency)]
        if args.broker:
            command += ["--broker", args.broker]
        out = subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True, cwd=ROOT)
        ours = json.loads(out.stdout.strip().splitlines()[-1])

    mode = f"a celery worker ({args.concurrency} children) on {args.broker}" if args.broker else (
        "in-process (eager Celery: the worker's code)"
    )  # fmt: skip
    print(f"worker: {mode}; temporary SQLite and media root")
    for kind, stage in ours["stages"].items():
        print(
            f"{kind:<12} POST {stage['post_seconds']:8.2f} s   until windows computed "
            f"{stage['total_seconds']:8.2f} s   ({stage['rows']:,} rows, {stage['days']} days "
            f"recomputed)"
        )
    total = sum(s["total_seconds"] for s in ours["stages"].values())
    rows = ours["stages"]["predictions"]["rows"]
    print(f"monitoring_end_to_end_s: {total:.2f}")
    print(f"monitoring_rows_per_s: {rows / ours['stages']['predictions']['total_seconds']:,.0f}")
    print(f"last window drifted: {', '.join(ours['last_window_drifted']) or 'nothing'}")
    print(f"web_peak_memory_growth_mb: {ours['peak_above_start'] / 1e6:.0f}")
    print(f"raw_column_bytes_mb: {files['raw_bytes'] / 1e6:.0f}")
    print(f"web_peak_growth_vs_raw_columns: {ours['peak_above_start'] / files['raw_bytes']:.2f}x")
    if ours["worker_child_peak"]:
        partition = files["raw_bytes"] / args.days
        growth = ours["worker_child_peak"] - ours["worker_child_start"]
        print(f"worker_child_peak_memory_mb: {ours['worker_child_peak'] / 1e6:.0f}")
        print(f"worker_child_peak_growth_mb: {growth / 1e6:.0f}")
        print(f"raw_column_bytes_per_day_partition_mb: {partition / 1e6:.0f}")
        print(f"worker_child_growth_vs_partition: {growth / partition:.2f}x")
    if args.drift_rows:
        print(f"== drift alone: bench_drift.py --rows {args.drift_rows}", flush=True)
        drift = [sys.executable, str(ROOT / "bench" / "bench_drift.py")]
        subprocess.run([*drift, "--rows", str(args.drift_rows)], check=True, cwd=ROOT)


if __name__ == "__main__":
    main()
