"""`evaluate`: one call from validated columns to the full, JSON-ready evaluation result."""

from __future__ import annotations

import dataclasses
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ._common import HIGHER_IS_BETTER, jsonable, warning
from .baselines import (
    BASELINE_THRESHOLD,
    _hard_log_loss,
    binary_baselines,
    lift,
    multiclass_baselines,
    ranking_baselines,
    regression_baselines,
)
from .binary import SortedScores, binary_report
from .errors import EvaluationInputError
from .multiclass import MULTICLASS_METRICS, multiclass_report
from .ranking import ranking_metrics
from .regression import regression_metrics, residual_distribution
from .rules import apply_rules, parse_rules
from .slices import evaluate_slices
from .tradeoff import tradeoff_curve
from .validation import PreparedData, normalize_labels, prepare_columns

#: Metric used to rank slices (worst first) for each task.
PRIMARY_METRIC: dict[str, str] = {
    "binary": "f1",
    "multiclass": "accuracy",
    "regression": "rmse",
    "ranking": "ndcg_at_k",
}

_TRADEOFF_KEYS = ("score_a", "score_b", "label_a", "label_b", "steps", "normalize")


@dataclass(frozen=True)
class EvaluationOptions:
    """Options of `evaluate` (pass a dict with these keys, all optional).

    * threshold: predict positive when score >= threshold (binary). Default 0.5.
    * k: cut-off for ranking metrics. Default 10.
    * cost_fn, cost_fp: cost of a false negative / false positive for the recommended
      threshold (binary). Default 1 each.
    * slice_columns: feature columns to slice by.
    * drop_invalid: drop rows with missing/non-finite values in required columns instead of
      failing (the number dropped is reported).
    * pos_label: the positive label when it is not obvious (binary).
    * score_kind: "probability" (scores must be in [0, 1]) or "score" (raw margins; log
      loss, Brier and calibration are skipped).
    * min_slice_rows, max_slice_values, slice_bins: see `slices`.
    * include_groups_without_relevant: count ranking groups without relevant items as 0
      (scikit-learn's averaged NDCG) instead of excluding them.
    * rules: a mapping name -> rule set (see `rules`); each becomes baseline
      "rule:<name>". A single rule set may be given directly; it is named "custom".
    * tradeoff: {"score_a", "score_b", "label_a", "label_b"} column names, optional
      "steps" (default 11) and "normalize" (None or "minmax"); see `tradeoff`.
    * baselines: compute the automatic baselines (default True).
    * curve_points: maximum points per curve (default 200). calibration_bins: default 10.
    """

    threshold: float = 0.5
    k: int = 10
    cost_fn: float = 1.0
    cost_fp: float = 1.0
    slice_columns: tuple[str, ...] = ()
    drop_invalid: bool = False
    pos_label: Any = None
    score_kind: str = "probability"
    min_slice_rows: int = 30
    max_slice_values: int = 10
    slice_bins: int = 5
    include_groups_without_relevant: bool = False
    rules: Mapping[str, Any] = field(default_factory=dict)
    tradeoff: Mapping[str, Any] | None = None
    baselines: bool = True
    curve_points: int = 200
    calibration_bins: int = 10

    @classmethod
    def parse(cls, options: Mapping[str, Any] | EvaluationOptions | None) -> EvaluationOptions:
        """Validate an options mapping; unknown keys and wrong types are input errors."""
        if options is None:
            return cls()
        if isinstance(options, EvaluationOptions):
            return options
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(options) - names)
        if unknown:
            raise EvaluationInputError(
                f"Unknown option(s): {', '.join(unknown)}. Known: {', '.join(sorted(names))}."
            )
        values = dict(options)
        for key in ("threshold", "cost_fn", "cost_fp"):
            if key in values:
                values[key] = _number(key, values[key])
        for key, low in (
            ("k", 1),
            ("min_slice_rows", 1),
            ("max_slice_values", 1),
            ("slice_bins", 1),
            ("curve_points", 2),
            ("calibration_bins", 1),
        ):
            if key in values:
                values[key] = _whole(key, values[key], low)
        for key in ("cost_fn", "cost_fp"):
            if key in values and values[key] < 0:
                raise EvaluationInputError(f"Option {key} must be >= 0.")
        for key in ("drop_invalid", "include_groups_without_relevant", "baselines"):
            if key in values and not isinstance(values[key], bool):
                raise EvaluationInputError(f"Option {key} must be true or false.")
        if "slice_columns" in values:
            cols = values["slice_columns"] or ()
            if isinstance(cols, str) or not isinstance(cols, Sequence):
                raise EvaluationInputError("Option slice_columns must be a list of column names.")
            values["slice_columns"] = tuple(str(c) for c in cols)
        if values.get("rules") is None:
            values.pop("rules", None)
        elif not isinstance(values["rules"], Mapping):
            raise EvaluationInputError("Option rules must be a rule set object.")
        elif "rules" in values["rules"] or "default" in values["rules"]:
            values["rules"] = {"custom": values["rules"]}  # one unnamed rule set
        tradeoff = values.get("tradeoff")
        if tradeoff is not None:
            if not isinstance(tradeoff, Mapping):
                raise EvaluationInputError("Option tradeoff must be an object.")
            unknown = sorted(set(tradeoff) - set(_TRADEOFF_KEYS))
            missing = [k for k in _TRADEOFF_KEYS[:4] if k not in tradeoff]
            if unknown or missing:
                raise EvaluationInputError(
                    "Option tradeoff needs score_a, score_b, label_a and label_b (column "
                    "names), and may have steps and normalize"
                    + (f"; unknown: {', '.join(unknown)}" if unknown else "")
                    + (f"; missing: {', '.join(missing)}" if missing else "")
                    + "."
                )
        return cls(**values)


def _number(key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value):
        raise EvaluationInputError(f"Option {key} must be a number, got {value!r}.")
    return float(value)


def _whole(key: str, value: Any, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise EvaluationInputError(f"Option {key} must be a whole number >= {low}, got {value!r}.")
    return int(value)


def _undefined_warnings(undefined: Mapping[str, str], scope: str) -> list[dict[str, Any]]:
    return [
        warning("metric_undefined", reason, metric=name, scope=scope)
        for name, reason in undefined.items()
    ]


def evaluate(
    *,
    task: str,
    columns: Mapping[str, np.ndarray] | None = None,
    options: Mapping[str, Any] | EvaluationOptions | None = None,
    prepared: PreparedData | None = None,
) -> dict[str, Any]:
    """Evaluate a model's predictions: metrics, baselines with lift, thresholds, curves,
    slices and the optional trade-off, as one JSON-serialisable dict.

    `task` is "binary", "multiclass", "regression" or "ranking". `columns` maps engine
    column names to 1-D arrays: ``y_true``, ``y_score``, ``y_pred``, ``proba:<class>``,
    ``group``, ``item`` and feature columns by name (as returned by `read_predictions`).
    `options`: see `EvaluationOptions`.

    Returns::

        {
          "metrics": {...},        # binary: accuracy, precision, recall, f1, specificity,
                                   #   roc_auc, average_precision, log_loss, brier
                                   # multiclass: accuracy, balanced_accuracy, f1_macro,
                                   #   f1_micro, f1_weighted, log_loss
                                   # regression: rmse, mae, mape, r2
                                   # ranking: precision_at_k, recall_at_k, map_at_k,
                                   #   ndcg_at_k, hit_rate, coverage
          "baselines": {name: {<same metric keys>, "lift": {metric: {"absolute",
                        "relative", "improvement", "better"}}}},
          "thresholds": [...],     # binary threshold table (else [])
          "curves": {...},         # binary: roc, pr, calibration, confusion_matrix;
                                   # multiclass: confusion_matrix, per_class;
                                   # regression: residuals; ranking: {}
          "slices": [...],         # worst first, see `slices.evaluate_slices`
          "tradeoff": [...] | None,
          "warnings": [{"code", "message", ...}],   # incl. each undefined metric's reason
          "info": {"task", "rows", "rows_in_file", "rows_dropped", ...},
        }

    Every number is a finite float/int or None (never NaN). Raises `EvaluationInputError`
    for input problems, with a message for the uploader.

    Instead of `columns`, a caller may pass `prepared`: the columns already validated for
    this task (``read_predictions(task=…).prepared``), so that it can drop the raw arrays
    before the metrics run and keep peak memory near one copy of the data.
    """
    opts = EvaluationOptions.parse(options)
    if prepared is not None:
        data = prepared
    elif columns is not None:
        data = prepare_columns(
            task=task,
            columns=columns,
            drop_invalid=opts.drop_invalid,
            pos_label=opts.pos_label,
            score_kind=opts.score_kind,
        )
    else:
        raise TypeError("evaluate() needs `columns` or `prepared`.")
    features = data.features()
    rule_sets = {
        name: parse_rules(spec, features=features, task=task) for name, spec in opts.rules.items()
    }
    result: dict[str, Any] = {
        "metrics": {},
        "baselines": {},
        "thresholds": [],
        "curves": {},
        "slices": [],
        "tradeoff": None,
        "warnings": list(data.warnings),
        "info": {
            "task": task,
            "rows": data.n,
            "rows_in_file": data.rows_in,
            "rows_dropped": data.rows_dropped,
        },
    }
    handler = {
        "binary": _evaluate_binary,
        "multiclass": _evaluate_multiclass,
        "regression": _evaluate_regression,
        "ranking": _evaluate_ranking,
    }[task]
    metric_fn, baselines = handler(data, opts, result)
    result["warnings"].extend(_undefined_warnings(result.pop("_undefined"), "model"))

    model_metrics = result["metrics"]
    if opts.baselines:
        for name, mset in baselines.items():
            result["baselines"][name] = _baseline_entry(model_metrics, mset)
            result["warnings"].extend(_undefined_warnings(mset["undefined"], f"baseline:{name}"))
    if rule_sets:
        result["info"]["rule_baselines"] = {}
    for name, rules in rule_sets.items():
        mset, usage = _rule_baseline(data, rules, opts)
        if mset is None:
            # A ranking rule set that ranks nothing: said, not scored (it would tie Random).
            result["baselines"][f"rule:{name}"] = {
                **dict.fromkeys(model_metrics),
                "lift": lift(model_metrics, dict.fromkeys(model_metrics)),
                "cannot_rank": usage["cannot_rank"],
            }
            result["warnings"].append(
                warning("rule_cannot_rank", usage["cannot_rank"], scope=f"baseline:rule:{name}")
            )
        else:
            result["baselines"][f"rule:{name}"] = _baseline_entry(model_metrics, mset)
        result["info"]["rule_baselines"][name] = usage

    if opts.slice_columns:
        primary = PRIMARY_METRIC[task]
        result["slices"] = evaluate_slices(
            columns=features,
            slice_columns=opts.slice_columns,
            metric_fn=metric_fn,
            primary=primary,
            higher_is_better=HIGHER_IS_BETTER[primary],
            overall=model_metrics.get(primary),
            min_rows=opts.min_slice_rows,
            max_values=opts.max_slice_values,
            bins=opts.slice_bins,
        )
    if opts.tradeoff is not None:
        result["tradeoff"], result["info"]["tradeoff"] = _tradeoff(data, features, opts)
    return jsonable(result)


def _baseline_entry(model_metrics: Mapping[str, Any], mset: Mapping[str, Any]) -> dict[str, Any]:
    return {**mset["metrics"], "lift": lift(model_metrics, mset["metrics"])}


# -- per task ---------------------------------------------------------------------------------


def _evaluate_binary(data: PreparedData, opts: EvaluationOptions, result: dict[str, Any]) -> Any:
    y = data.columns["y_true"]
    score = data.columns["y_score"]
    report = binary_report(
        y_true=y,
        y_score=score,
        threshold=opts.threshold,
        cost_fn=opts.cost_fn,
        cost_fp=opts.cost_fp,
        score_is_probability=data.score_is_probability,
        curve_points=opts.curve_points,
        calibration_bins=opts.calibration_bins,
        validate=False,
    )
    result["metrics"] = report["metrics"]
    result["_undefined"] = report["undefined"]
    result["thresholds"] = report["thresholds"]
    result["curves"] = {**report["curves"], "confusion_matrix": report["confusion_matrix"]}
    n_pos = int(np.count_nonzero(y))
    result["info"].update(
        {
            "threshold": opts.threshold,
            "positives": n_pos,
            "negatives": data.n - n_pos,
            "pos_label": data.pos_label,
            "score_kind": "probability" if data.score_is_probability else "score",
            "recommended_threshold": {
                **report["recommended_threshold"],
                "cost_fn": opts.cost_fn,
                "cost_fp": opts.cost_fp,
            },
            "baseline_threshold": BASELINE_THRESHOLD,
        }
    )

    def metric_fn(mask: np.ndarray) -> dict[str, Any]:
        scores = SortedScores.from_arrays(y_true=y[mask], y_score=score[mask], validate=False)
        return scores.metrics(
            threshold=opts.threshold, score_is_probability=data.score_is_probability
        )

    return metric_fn, binary_baselines(y_true=y)


def _evaluate_multiclass(
    data: PreparedData, opts: EvaluationOptions, result: dict[str, Any]
) -> Any:
    y = data.columns["y_true"]
    pred = data.columns.get("y_pred")
    report = multiclass_report(y_true=y, y_pred=pred, proba=data.proba or None)
    result["metrics"] = report["metrics"]
    result["_undefined"] = report["undefined"]
    result["warnings"].extend(report["warnings"])
    result["curves"] = {
        "confusion_matrix": report["confusion_matrix"],
        "per_class": report["per_class"],
    }
    result["info"].update(
        {"classes": report["confusion_matrix"]["labels"], "probability_classes": list(data.proba)}
    )

    def metric_fn(mask: np.ndarray) -> dict[str, Any]:
        proba = {c: col[mask] for c, col in data.proba.items()} or None
        sliced = multiclass_report(
            y_true=y[mask], y_pred=None if pred is None else pred[mask], proba=proba
        )
        return {"metrics": sliced["metrics"], "undefined": sliced["undefined"]}

    return metric_fn, multiclass_baselines(y_true=y, classes=list(data.proba))


def _evaluate_regression(
    data: PreparedData, opts: EvaluationOptions, result: dict[str, Any]
) -> Any:
    y = data.columns["y_true"]
    pred = data.columns["y_pred"]
    report = regression_metrics(y_true=y, y_pred=pred)
    result["metrics"] = report["metrics"]
    result["_undefined"] = report["undefined"]
    result["curves"] = {"residuals": residual_distribution(y_true=y, y_pred=pred)}
    result["info"]["mape_excluded_rows"] = report["mape_excluded_rows"]
    if report["mape_excluded_rows"]:
        result["warnings"].append(
            warning(
                "mape_excluded_rows",
                f"MAPE excludes {report['mape_excluded_rows']} row(s) whose target is 0 "
                "(a percentage error of a zero target is undefined).",
                metric="mape",
                rows=report["mape_excluded_rows"],
            )
        )

    def metric_fn(mask: np.ndarray) -> dict[str, Any]:
        sliced = regression_metrics(y_true=y[mask], y_pred=pred[mask])
        return {"metrics": sliced["metrics"], "undefined": sliced["undefined"]}

    return metric_fn, regression_baselines(y_true=y)


def _evaluate_ranking(data: PreparedData, opts: EvaluationOptions, result: dict[str, Any]) -> Any:
    cols = data.columns
    item = cols.get("item")
    report = ranking_metrics(
        group=cols["group"],
        y_true=cols["y_true"],
        y_score=cols["y_score"],
        k=opts.k,
        item=item,
        include_groups_without_relevant=opts.include_groups_without_relevant,
    )
    result["metrics"] = report["metrics"]
    result["_undefined"] = report["undefined"]
    result["info"].update(
        {
            "k": opts.k,
            "groups": report["groups"],
            "groups_without_relevant": report["groups_without_relevant"],
            "groups_evaluated": report["groups_evaluated"],
        }
    )
    if report["groups_without_relevant"]:
        how = (
            "counted as 0" if opts.include_groups_without_relevant else "excluded from the averages"
        )
        result["warnings"].append(
            warning(
                "groups_without_relevant",
                f"{report['groups_without_relevant']} of {report['groups']} groups have no "
                f"relevant item; they are {how}.",
            )
        )

    def metric_fn(mask: np.ndarray) -> dict[str, Any]:
        sliced = ranking_metrics(
            group=cols["group"][mask],
            y_true=cols["y_true"][mask],
            y_score=cols["y_score"][mask],
            k=opts.k,
            item=None if item is None else item[mask],
            include_groups_without_relevant=opts.include_groups_without_relevant,
        )
        return {"metrics": sliced["metrics"], "undefined": sliced["undefined"]}

    baselines = ranking_baselines(
        group=cols["group"],
        y_true=cols["y_true"],
        k=opts.k,
        item=item,
        include_groups_without_relevant=opts.include_groups_without_relevant,
    )
    if item is None:
        result["warnings"].append(
            warning(
                "no_item_column",
                "No item column: coverage and the popularity baseline are skipped.",
            )
        )
    return metric_fn, baselines


def _rule_baseline(
    data: PreparedData, rules: Any, opts: EvaluationOptions
) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """The metrics of a rule set as a baseline, and how many rows each rule took. For a
    ranking rule set that gives every item of each group the same score, the metrics are
    None and the usage says why (``"cannot_rank"``)."""
    cols = data.columns
    item = cols.get("item") if data.task == "ranking" else None
    pred, usage = apply_rules(rules, columns=cols, n_rows=data.n, item=item)
    if data.task == "binary":
        scores = SortedScores.from_arrays(
            y_true=cols["y_true"], y_score=pred.astype(np.float64), validate=False
        )
        return scores.metrics(threshold=BASELINE_THRESHOLD), usage
    if data.task == "multiclass":
        y = cols["y_true"]
        labels = normalize_labels(pred)
        if (labels.dtype.kind in "iufb") != (y.dtype.kind in "iufb"):
            raise EvaluationInputError(
                "Rule predictions must be class labels of the same kind as y_true "
                "(numbers or text)."
            )
        report = multiclass_report(y_true=y, y_pred=labels)
        metrics = dict(report["metrics"])
        correct = int(np.count_nonzero(labels == y))
        metrics["log_loss"] = _hard_log_loss(correct, data.n)
        return {"metrics": {k: metrics[k] for k in MULTICLASS_METRICS}, "undefined": {}}, usage
    if data.task == "regression":
        report = regression_metrics(y_true=cols["y_true"], y_pred=pred.astype(np.float64))
        return {"metrics": report["metrics"], "undefined": report["undefined"]}, usage
    scores = pred.astype(np.float64)
    if not _ranks_within_groups(cols["group"], scores):
        usage["cannot_rank"] = (
            "These rules give every item of a group the same score, so they cannot rank "
            "(they would score exactly like the random baseline). Add conditions on the "
            "items' own columns, or a rule that recommends items."
        )
        return None, usage
    report = ranking_metrics(
        group=cols["group"],
        y_true=cols["y_true"],
        y_score=scores,
        k=opts.k,
        item=cols.get("item"),
        include_groups_without_relevant=opts.include_groups_without_relevant,
    )
    return {"metrics": report["metrics"], "undefined": report["undefined"]}, usage


def _ranks_within_groups(group: np.ndarray, scores: np.ndarray) -> bool:
    """Whether some group's items get different scores (else the order is a tie)."""
    frame = pd.DataFrame({"group": group, "score": scores})
    return bool((frame.groupby("group", sort=False)["score"].nunique() > 1).any())


def _tradeoff(
    data: PreparedData, features: Mapping[str, np.ndarray], opts: EvaluationOptions
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    spec = dict(opts.tradeoff or {})
    arrays = {}
    for key in ("score_a", "score_b", "label_a", "label_b"):
        name = spec[key]
        if name in data.columns:
            arrays[key] = data.columns[name]
        else:
            available = ", ".join(sorted(data.columns))
            raise EvaluationInputError(
                f"Trade-off {key} column {name!r} is not in the data ({available})."
            )
    curve = tradeoff_curve(
        **arrays,
        group=data.columns["group"] if data.task == "ranking" else None,
        k=opts.k,
        steps=spec.get("steps", 11),
        normalize=spec.get("normalize"),
    )
    info = {
        "columns": {key: spec[key] for key in ("score_a", "score_b", "label_a", "label_b")},
        "metrics": curve["metrics"],
        "scaling": curve["scaling"],
    }
    return curve["points"], info


def compare(a_result: Mapping[str, Any], b_result: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Two evaluation results side by side, one row per metric.

    Returns ``[{"metric", "a", "b", "difference" (b − a), "higher_is_better",
    "better": "a" | "b" | "tie" | None}]`` in the order of `a_result`'s metrics. Both must be
    results of `evaluate` for the same task.
    """
    task_a = a_result.get("info", {}).get("task")
    task_b = b_result.get("info", {}).get("task")
    if task_a != task_b:
        raise EvaluationInputError(
            f"Cannot compare a {task_a} evaluation with a {task_b} evaluation."
        )
    metrics_a, metrics_b = a_result["metrics"], b_result["metrics"]
    names = list(metrics_a) + [n for n in metrics_b if n not in metrics_a]
    rows = []
    for name in names:
        va, vb = metrics_a.get(name), metrics_b.get(name)
        higher = HIGHER_IS_BETTER.get(name)
        diff = vb - va if va is not None and vb is not None else None
        if diff is None or higher is None:
            better = None
        elif diff == 0:
            better = "tie"
        else:
            better = "b" if (diff > 0) == higher else "a"
        rows.append(
            {
                "metric": name,
                "a": va,
                "b": vb,
                "difference": diff,
                "higher_is_better": higher,
                "better": better,
            }
        )
    return jsonable(rows)
