"""Benchmark: our data drift vs Evidently's DataDriftPreset report on the same frames.

Usage::

    .venv/bin/python bench/bench_drift.py [--rows 1000000] [--numeric 14] [--categorical 6]

Generates a seeded reference and current frame of `rows` rows each (numeric columns with
some missing values, categorical string columns of 3–12 values, current shifted on a few
columns), writes them to parquet once, then times

* ours: `data_drift` (method per column as Evidently picks it, plus PSI for every column),
  with its peak traced memory (tracemalloc sees numpy's allocations) against the raw
  column bytes of both frames;
* ours per window: drift of the current frame against reference partials prepared once
  (what a monitor does for every new window);
* Evidently: ``Report([DataDriftPreset()]).run(current, reference)`` with the same column
  types, in the reference environment's interpreter (requirements-monitoring-reference.txt;
  ``$MONITORING_REFERENCE_PYTHON`` or var/refs-venv), loading the same parquet files; only
  the report run is timed.

and prints ``drift_vs_evidently_speedup: <evidently / ours>x`` (target >= 5) and
``drift_peak_memory_vs_raw: <peak / raw bytes>x`` (target <= 3). Without the reference
environment the Evidently part is skipped with a message.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from evaluation.drift import data_drift, drift_from_partials, frame_partials  # noqa: E402

EVIDENTLY_SCRIPT = """
import json, sys, time, warnings
import numpy as np, pandas as pd
from evidently import DataDefinition, Dataset, Report
from evidently.presets import DataDriftPreset
spec = json.loads(sys.argv[1])
reference = pd.read_parquet(spec["reference"])
current = pd.read_parquet(spec["current"])
definition = DataDefinition(
    numerical_columns=spec["numeric"], categorical_columns=spec["categorical"]
)
warnings.simplefilter("ignore")
np.seterr(all="ignore")
start = time.perf_counter()
snapshot = Report([DataDriftPreset()]).run(
    Dataset.from_pandas(current, data_definition=definition),
    Dataset.from_pandas(reference, data_definition=definition),
)
result = snapshot.dict()
seconds = time.perf_counter() - start
counts = [m for m in result["metrics"] if "DriftedColumnsCount" in m["metric_name"]]
share = counts[0]["value"]["share"]
print(json.dumps({"seconds": seconds, "share": share}))
"""


def make_frame(
    rows: int, numeric: int, categorical: int, *, seed: int, shifted: bool
) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    columns: dict[str, np.ndarray] = {}
    for i in range(numeric):
        drift = 0.2 if shifted and i % 4 == 0 else 0.0
        values = rng.normal(loc=drift, scale=1.0 + i / 10, size=rows)
        if i % 3 == 0:
            values[rng.random(rows) < 0.02] = np.nan
        columns[f"num_{i}"] = values
    for i in range(categorical):
        levels = np.array([f"level_{k}" for k in range(3 + 2 * i)])
        weights = np.linspace(1.0, 2.0, levels.size)
        if shifted and i % 3 == 0:
            weights = weights[::-1]
        columns[f"cat_{i}"] = rng.choice(levels, p=weights / weights.sum(), size=rows)
    return pd.DataFrame(columns)


def raw_bytes(frame: pd.DataFrame) -> int:
    return int(frame.memory_usage(index=False, deep=True).sum())


def best_of(repeat: int, run: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(max(1, repeat)):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


def reference_python() -> str | None:
    candidate = os.environ.get("MONITORING_REFERENCE_PYTHON")
    if not candidate:
        local = ROOT / "var" / "refs-venv" / "bin" / "python"
        dot_git = ROOT / ".git"
        if not local.exists() and dot_git.is_file():  # a git worktree: look in the main checkout
            gitdir = Path(dot_git.read_text().split("gitdir:", 1)[-1].strip())
            local = gitdir.parents[2] / "var" / "refs-venv" / "bin" / "python"
        candidate = str(local)
    if not Path(candidate).exists():
        return None
    probe = subprocess.run([candidate, "-c", "import evidently"], capture_output=True, check=False)
    return candidate if probe.returncode == 0 else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--numeric", type=int, default=14)
    parser.add_argument("--categorical", type=int, default=6)
    parser.add_argument("--repeat", type=int, default=3, help="best of N for our timings")
    args = parser.parse_args()

    reference = make_frame(args.rows, args.numeric, args.categorical, seed=1, shifted=False)
    current = make_frame(args.rows, args.numeric, args.categorical, seed=2, shifted=True)
    numeric = [c for c in reference if c.startswith("num_")]
    categorical = [c for c in reference if c.startswith("cat_")]
    types = {**dict.fromkeys(numeric, "numeric"), **dict.fromkeys(categorical, "categorical")}
    raw = raw_bytes(reference) + raw_bytes(current)
    print(
        f"frames: reference and current, {args.rows:,} rows x {len(types)} columns "
        f"({len(numeric)} numeric, {len(categorical)} categorical); "
        f"raw column bytes {raw / 1e6:,.0f} MB"
    )

    # Memory first, on its own: tracemalloc slows allocation-heavy code, so the timings
    # below run without it (best of --repeat, as the machine is shared).
    tracemalloc.start()
    report = data_drift(reference, current, column_types=types)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    ours = best_of(args.repeat, lambda: data_drift(reference, current, column_types=types))
    print(
        f"ours (data_drift, one shot):        {ours:8.2f} s   "
        f"share drifted {report.share_drifted:.3f}"
    )
    print(f"ours peak traced memory:            {peak / 1e6:8.0f} MB")

    profile = frame_partials(reference, column_types=types)
    window = drift_from_partials(profile, frame_partials(current, column_types=types))
    assert window.as_dict() == report.as_dict()
    per_window = best_of(
        args.repeat,
        lambda: drift_from_partials(profile, frame_partials(current, column_types=types)),
    )
    print(f"ours per window (stored reference): {per_window:8.2f} s")

    python = reference_python()
    if python is None:
        print(
            "evidently: skipped - no reference interpreter with evidently (build var/refs-venv "
            "per requirements-monitoring-reference.txt or set MONITORING_REFERENCE_PYTHON)"
        )
        print(f"drift_peak_memory_vs_raw: {peak / raw:.2f}x (target <= 3)")
        return
    with tempfile.TemporaryDirectory() as tmp:
        paths = {"reference": f"{tmp}/reference.parquet", "current": f"{tmp}/current.parquet"}
        reference.to_parquet(paths["reference"])
        current.to_parquet(paths["current"])
        spec = json.dumps({**paths, "numeric": numeric, "categorical": categorical})
        done = subprocess.run(
            [python, "-c", EVIDENTLY_SCRIPT, spec], capture_output=True, text=True, check=True
        )
    theirs = json.loads(done.stdout.strip().splitlines()[-1])
    print(
        f"evidently (DataDriftPreset report): {theirs['seconds']:8.2f} s   "
        f"share drifted {theirs['share']:.3f}"
    )
    print(f"drift_vs_evidently_speedup: {theirs['seconds'] / ours:.1f}x (target >= 5)")
    print(f"drift_peak_memory_vs_raw: {peak / raw:.2f}x (target <= 3)")


if __name__ == "__main__":
    main()
