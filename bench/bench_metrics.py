"""Benchmark: our binary metric set vs scikit-learn computing the same set.

Usage::

    .venv/bin/python bench/bench_metrics.py [--rows 10000000] [--ties] [--repeat 1]

Generates seeded synthetic binary labels and probability scores in memory, then times

* ours: `binary_report` (accuracy, precision, recall, F1, specificity, ROC-AUC, average
  precision, log loss, Brier, confusion matrix, the cost-minimising threshold over every
  threshold, the capped threshold table, ROC/PR curves and the calibration curve);
* ours, end to end: `evaluate(task="binary")` (adds validation and the baselines);
* scikit-learn: accuracy, precision, recall, F1, confusion_matrix (for specificity),
  roc_auc_score, average_precision_score, log_loss, brier_score_loss and
  precision_recall_curve (its threshold sweep) on the same arrays;
* the "irreducible work": one `np.argsort` of the score column.

and prints ``metrics_vs_sklearn_speedup: <sklearn / ours>x`` (target >= 3).
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from evaluation.metrics import evaluate  # noqa: E402
from evaluation.metrics.binary import binary_report  # noqa: E402


def make_data(rows: int, *, seed: int, ties: bool) -> tuple[np.ndarray, np.ndarray]:
    """Labels with ~30 % positives and scores that separate them imperfectly."""
    rng = np.random.default_rng(seed)
    latent = rng.normal(size=rows)
    y = (latent + rng.normal(scale=1.2, size=rows) > 0.7).astype(np.int8)
    score = 1.0 / (1.0 + np.exp(-(latent - 0.6)))
    if ties:
        score = np.round(score, 3)  # ~1000 distinct values: heavy ties
    return y, score


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    best, out = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def sklearn_metric_set(y: np.ndarray, score: np.ndarray, threshold: float) -> dict[str, float]:
    from sklearn import metrics as skm

    pred = (score >= threshold).astype(np.int8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tn, fp, _, _ = skm.confusion_matrix(y, pred).ravel()
        out = {
            "accuracy": skm.accuracy_score(y, pred),
            "precision": skm.precision_score(y, pred),
            "recall": skm.recall_score(y, pred),
            "f1": skm.f1_score(y, pred),
            "specificity": tn / (tn + fp),
            "roc_auc": skm.roc_auc_score(y, score),
            "average_precision": skm.average_precision_score(y, score),
            "log_loss": skm.log_loss(y, score),
            "brier": skm.brier_score_loss(y, score),
        }
        skm.precision_recall_curve(y, score)
    return {k: float(v) for k, v in out.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--ties", action="store_true", help="round scores to 3 decimals")
    parser.add_argument("--repeat", type=int, default=1, help="best of N runs per timing")
    parser.add_argument("--threshold", type=float, default=0.5)
    args = parser.parse_args()

    y, score = make_data(args.rows, seed=args.seed, ties=args.ties)
    print(f"rows: {args.rows:,}  positives: {int(y.sum()):,}  ties: {args.ties}")

    t_argsort, _ = timed(lambda: np.argsort(score), args.repeat)
    t_ours, report = timed(
        lambda: binary_report(y_true=y, y_score=score, threshold=args.threshold), args.repeat
    )
    t_engine, _ = timed(
        lambda: evaluate(
            task="binary",
            columns={"y_true": y, "y_score": score},
            options={"threshold": args.threshold},
        ),
        args.repeat,
    )
    t_sklearn, reference = timed(lambda: sklearn_metric_set(y, score, args.threshold), args.repeat)

    ours = report["metrics"]
    max_diff = max(abs(ours[k] - reference[k]) for k in reference if ours[k] is not None)
    print(f"argsort_s: {t_argsort:.3f}")
    print(f"ours_binary_report_s: {t_ours:.3f}")
    print(f"ours_evaluate_end_to_end_s: {t_engine:.3f}")
    print(f"sklearn_metric_set_s: {t_sklearn:.3f}")
    print(f"max_abs_diff_vs_sklearn: {max_diff:.2e}")
    print(f"ours_vs_one_argsort: {t_ours / t_argsort:.2f}x")
    print(f"evaluate_vs_sklearn_speedup: {t_sklearn / t_engine:.1f}x")
    print(f"metrics_vs_sklearn_speedup: {t_sklearn / t_ours:.1f}x")


if __name__ == "__main__":
    main()
