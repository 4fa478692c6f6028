"""Benchmark: a whole evaluation, submit to succeeded, against the irreducible work.

Usage::

    .venv/bin/python bench/bench_evaluation.py [--rows 10000000]

Writes a seeded binary predictions CSV (label, score, and an id column the evaluation
does not use) with numpy + pyarrow.csv into a temporary directory, then measures, each in
a fresh process so that peak memory belongs to one stage only:

* ours, end to end: `evaluation_create` (the file goes through the storage API into a
  temporary media root, the row into a temporary SQLite database) and the Celery task
  `run_evaluation_task`, run in-process by eager mode on commit (the same code a worker
  runs) until the evaluation is `succeeded`; with the process's peak RSS above what it
  held before the submit;
* the irreducible work: pyarrow reading the two used columns of the same file, plus one
  `np.argsort` of the score column;
* scikit-learn computing the same metric set on the same in-memory arrays, against our
  `binary_report` on them (see bench_metrics.py).

and prints the ratios with their targets: metrics vs scikit-learn (>= 3x), end to end vs
irreducible (<= 2x), peak memory vs the raw bytes of the used columns (<= 3x). All files
are removed at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def rss_bytes() -> int:
    with Path("/proc/self/statm").open() as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def peak_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


def write_csv(path: Path, rows: int, seed: int) -> None:
    import pyarrow as pa
    import pyarrow.csv as pcsv

    from bench.bench_metrics import make_data

    y, score = make_data(rows, seed=seed, ties=False)
    table = pa.table({"id": np.arange(rows), "label": y, "score": score})
    pcsv.write_csv(table, path)


def stage_ours(path: Path, workdir: Path) -> dict:
    os.environ.update(
        DJANGO_SETTINGS_MODULE="mlprojects.settings.base",
        DATABASE_URL=f"sqlite:///{workdir / 'bench.sqlite3'}",
        MEDIA_ROOT=str(workdir / "media"),
        CELERY_TASK_ALWAYS_EAGER="true",
        CELERY_BROKER_URL="memory://",
        LOG_LEVEL="WARNING",
    )
    import django

    django.setup()
    from django.core.files import File
    from django.core.management import call_command

    from accounts.services import organization_create, user_signup
    from evaluation.evaluations.services import evaluation_create
    from evaluation.models import Evaluation
    from mlprojects.lifecycle.services import project_create

    call_command("migrate", verbosity=0)
    user, org = user_signup(email="bench@example.com", password="x" * 20, organization_name="Bench")
    org = org or organization_create(name="Bench", owner=user)
    project = project_create(org=org, user=user, name="Bench")
    before = rss_bytes()
    start = time.perf_counter()
    with path.open("rb") as fh:
        evaluation = evaluation_create(
            project=project,
            user=user,
            upload=File(fh, name="bench.csv"),
            task="binary",
            columns={"y_true": "label", "y_score": "score"},
            options={"threshold": 0.5},
        )
    elapsed = time.perf_counter() - start
    evaluation = Evaluation.objects.get(pk=evaluation.pk)
    if evaluation.status != "succeeded":
        raise SystemExit(f"the evaluation ended {evaluation.status}: {evaluation.error}")
    return {
        "seconds": elapsed,
        "peak_above_start": peak_rss_bytes() - before,
        "rows": evaluation.result["info"]["rows"],
        "metrics": evaluation.result["metrics"],
    }


def stage_irreducible(path: Path) -> dict:
    import pyarrow.csv as pcsv

    start = time.perf_counter()
    table = pcsv.read_csv(
        path, convert_options=pcsv.ConvertOptions(include_columns=["label", "score"])
    )
    score = table.column("score").to_numpy()
    np.argsort(score)
    return {"seconds": time.perf_counter() - start}


def stage_sklearn(rows: int, seed: int) -> dict:
    from bench.bench_metrics import make_data, sklearn_metric_set
    from evaluation.metrics.binary import binary_report

    y, score = make_data(rows, seed=seed, ties=False)
    start = time.perf_counter()
    reference = sklearn_metric_set(y, score, 0.5)
    t_sklearn = time.perf_counter() - start
    start = time.perf_counter()
    binary_report(y_true=y, y_score=score, threshold=0.5)
    t_ours = time.perf_counter() - start
    return {"sklearn_seconds": t_sklearn, "ours_seconds": t_ours, "reference": reference}


def run_stage(name: str, args: argparse.Namespace, path: Path, workdir: Path) -> dict:
    command = [sys.executable, __file__, "--stage", name, "--rows", str(args.rows)]
    command += ["--seed", str(args.seed), "--path", str(path), "--workdir", str(workdir)]
    out = subprocess.run(command, check=True, capture_output=True, text=True, cwd=ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--stage", choices=["ours", "irreducible", "sklearn"])
    parser.add_argument("--path", type=Path)
    parser.add_argument("--workdir", type=Path)
    args = parser.parse_args()

    if args.stage == "ours":
        print(json.dumps(stage_ours(args.path, args.workdir)))
        return
    if args.stage == "irreducible":
        print(json.dumps(stage_irreducible(args.path)))
        return
    if args.stage == "sklearn":
        print(json.dumps(stage_sklearn(args.rows, args.seed)))
        return

    with tempfile.TemporaryDirectory(prefix="bench-evaluation-") as tmp:
        workdir = Path(tmp)
        path = workdir / "predictions.csv"
        start = time.perf_counter()
        write_csv(path, args.rows, args.seed)
        size = path.stat().st_size
        print(f"rows: {args.rows:,}  file: {size / 1e6:.0f} MB  written in "
              f"{time.perf_counter() - start:.1f} s")  # fmt: skip
        ours = run_stage("ours", args, path, workdir)
        irreducible = run_stage("irreducible", args, path, workdir)
        sk = run_stage("sklearn", args, path, workdir)

    raw_bytes = args.rows * 2 * 8  # label and score as float64 arrays
    max_diff = max(
        abs(ours["metrics"][k] - v) for k, v in sk["reference"].items() if ours["metrics"][k]
    )
    print("end_to_end_mode: service + task in-process (eager Celery, temporary SQLite/media)")
    print(f"ours_end_to_end_s: {ours['seconds']:.2f}")
    print(f"irreducible_read_plus_argsort_s: {irreducible['seconds']:.2f}")
    print(f"ours_binary_report_s: {sk['ours_seconds']:.3f}")
    print(f"sklearn_metric_set_s: {sk['sklearn_seconds']:.3f}")
    print(f"max_abs_diff_vs_sklearn: {max_diff:.2e}")
    print(f"peak_memory_above_start_mb: {ours['peak_above_start'] / 1e6:.0f}")
    print(f"raw_used_columns_mb: {raw_bytes / 1e6:.0f}")
    speedup = sk["sklearn_seconds"] / sk["ours_seconds"]
    overhead = ours["seconds"] / irreducible["seconds"]
    memory = ours["peak_above_start"] / raw_bytes
    print(f"metrics_vs_sklearn_speedup: {speedup:.1f}x (target >= 3x)")
    print(f"end_to_end_vs_irreducible: {overhead:.2f}x (target <= 2x)")
    print(f"peak_memory_vs_raw_columns: {memory:.2f}x (target <= 3x)")


if __name__ == "__main__":
    main()
