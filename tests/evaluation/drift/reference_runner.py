"""Computes reference values with Evidently and NannyML, in their own interpreter.

Not a test module: `_reference.run_reference` runs it with the reference environment's
Python (see requirements-monitoring-reference.txt) as

    python reference_runner.py JOB.json OUT.json

JOB.json holds {"kind": "drift" | "cbpe" | "calibration", "cases": [...]}, each case
naming parquet files written by the tests. OUT.json gets one result per case, keyed by the
case id. Evidently's Report with DataDriftPreset, NannyML's CBPE and its
``nannyml.calibration.needs_calibration`` are used with their defaults.
"""

from __future__ import annotations

import json
import sys
import warnings

import numpy as np
import pandas as pd

DISPLAY_TO_METHOD = {
    "K-S p_value": "ks",
    "Wasserstein distance (normed)": "wasserstein",
    "Jensen-Shannon distance": "jensenshannon",
    "chi-square p_value": "chisquare",
    "Z-test p_value": "z",
    "PSI": "psi",
    "psi": "psi",
}


def evidently_drift(case: dict) -> dict:
    from evidently import DataDefinition, Dataset, Report
    from evidently.metrics import ValueDrift
    from evidently.presets import DataDriftPreset

    reference = pd.read_parquet(case["reference"])
    current = pd.read_parquet(case["current"])
    definition = DataDefinition(
        numerical_columns=case["numerical"], categorical_columns=case["categorical"]
    )
    columns = case["numerical"] + case["categorical"]
    report = Report(
        [DataDriftPreset()] + [ValueDrift(column=c, method="psi") for c in columns],
        include_tests=True,
    )
    snapshot = report.run(
        Dataset.from_pandas(current, data_definition=definition),
        Dataset.from_pandas(reference, data_definition=definition),
    ).dict()
    status = {t["metric_config"]["metric_id"]: t["status"] for t in snapshot["tests"]}
    out: dict = {"columns": {}}
    for metric in snapshot["metrics"]:
        config = metric["config"]
        failed = str(status.get(metric["id"])).endswith("FAIL")
        if config["type"].endswith("DriftedColumnsCount"):
            out["drifted_columns"] = int(metric["value"]["count"])
            out["share_drifted"] = float(metric["value"]["share"])
            out["dataset_drifted"] = failed
            continue
        entry = out["columns"].setdefault(config["column"], {})
        method = DISPLAY_TO_METHOD[config["method"]]
        if method == "psi" and "method" in entry:
            entry["psi"] = float(metric["value"])
        else:
            if method == "psi":  # PSI chosen by default cannot happen; kept for clarity
                entry["psi"] = float(metric["value"])
            entry.update(
                method=method,
                statistic=float(metric["value"]),
                threshold=float(config["threshold"]),
                drifted=failed,
            )
    return out


def nannyml_cbpe(case: dict) -> dict:
    import nannyml

    reference = pd.read_parquet(case["reference"])
    analysis = pd.read_parquet(case["analysis"])
    estimator = nannyml.CBPE(
        y_pred_proba="score",
        y_pred="pred",
        y_true="y",
        problem_type="classification_binary",
        metrics=[
            "roc_auc",
            "f1",
            "precision",
            "recall",
            "specificity",
            "accuracy",
            "confusion_matrix",
        ],
        chunk_number=1,
    )
    estimator.fit(reference)
    data = estimator.estimate(analysis).filter(period="analysis").data
    values = {
        name: float(data[(name, "value")].iloc[0])
        for name in (
            "roc_auc",
            "f1",
            "precision",
            "recall",
            "specificity",
            "accuracy",
            "true_positive",
            "false_positive",
            "false_negative",
            "true_negative",
        )
    }
    out = {"needs_calibration": bool(estimator.needs_calibration), "estimates": values}
    if estimator.needs_calibration:
        out["calibrated"] = estimator.calibrator.calibrate(analysis["score"].to_numpy()).tolist()
    return out


def nannyml_needs_calibration(case: dict) -> dict:
    from nannyml.calibration import IsotonicCalibrator, needs_calibration

    reference = pd.read_parquet(case["reference"]).reset_index(drop=True)
    decision = needs_calibration(
        y_true=reference["y"], y_pred_proba=reference["score"], calibrator=IsotonicCalibrator()
    )
    return {"needs_calibration": bool(decision)}


def main() -> None:
    job_path, out_path = sys.argv[1], sys.argv[2]
    with open(job_path) as handle:
        job = json.load(handle)
    run = {
        "drift": evidently_drift,
        "cbpe": nannyml_cbpe,
        "calibration": nannyml_needs_calibration,
    }[job["kind"]]
    results = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        np.seterr(all="ignore")
        for case in job["cases"]:
            results[case["id"]] = run(case)
    with open(out_path, "w") as handle:
        json.dump(results, handle)


if __name__ == "__main__":
    main()
