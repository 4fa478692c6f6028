"""Checks that a set of columns can be evaluated for a task, with fixable error messages.

Column naming convention (shared by the reader, `evaluate`, slices and rules):

* role columns: ``y_true``, ``y_score``, ``y_pred``, ``group``, ``item``;
* per-class probabilities: ``proba:<class>`` (e.g. ``proba:cat``);
* anything else is a feature column, addressed by its own name.

Row numbers in messages are 1-based data rows (the header is not counted).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ._common import TASKS, format_value, warning
from .errors import EvaluationInputError

PROBA_PREFIX = "proba:"
ROLES: tuple[str, ...] = ("y_true", "y_score", "y_pred", "group", "item")
SCORE_KINDS: tuple[str, ...] = ("probability", "score")

# Label pairs whose positive member is obvious (compared case-insensitively as text).
_NATURAL_POSITIVE: tuple[tuple[str, str], ...] = (
    ("1", "0"),
    ("1", "-1"),
    ("true", "false"),
    ("yes", "no"),
    ("y", "n"),
    ("positive", "negative"),
    ("pos", "neg"),
)

_ROLE_HELP = {
    "y_true": "the true label / target / relevance",
    "y_score": "the model's score or probability of the positive class",
    "y_pred": "the model's predicted label or value",
    "group": "the query / user / session id that groups the ranked rows",
    "item": "the ranked item id",
}


@dataclass
class PreparedData:
    """Validated, cleaned columns ready for the metric functions.

    ``y_true`` is a bool array for binary, labels (int64 or object of str) for multiclass,
    float64 for regression and ranking. ``y_score`` is float64. ``proba`` maps each class
    label to its float64 column (multiclass).
    """

    task: str
    columns: dict[str, np.ndarray]
    proba: dict[Any, np.ndarray] = field(default_factory=dict)
    rows_in: int = 0
    rows_dropped: int = 0
    pos_label: Any = None
    score_is_probability: bool = True
    warnings: list[dict[str, Any]] = field(default_factory=list)

    @property
    def n(self) -> int:
        return int(self.columns["y_true"].size)

    def features(self) -> dict[str, np.ndarray]:
        return {
            name: col
            for name, col in self.columns.items()
            if name not in ROLES and not name.startswith(PROBA_PREFIX)
        }


def _row(index: int) -> int:
    return int(index) + 1


def _first(mask: np.ndarray) -> int:
    return int(np.argmax(mask))


def is_numeric(arr: np.ndarray) -> bool:
    return np.asarray(arr).dtype.kind in "iufb"


def _to_float(name: str, arr: np.ndarray) -> np.ndarray:
    """float64 view/copy of a numeric column; object columns must hold numbers only."""
    a = np.asarray(arr)
    if a.dtype.kind in "iufb":
        return a.astype(np.float64, copy=False)
    converted = pd.to_numeric(pd.Series(a, copy=False), errors="coerce").to_numpy(
        dtype=np.float64, na_value=np.nan
    )
    present = pd.Series(a, copy=False).notna().to_numpy()
    bad = present & np.isnan(converted)
    if bad.any():
        i = _first(bad)
        raise EvaluationInputError(
            f"Column {name!r} ({_ROLE_HELP.get(name, 'a numeric column')}) must be numeric, "
            f"but row {_row(i)} holds {a[i]!r}."
        )
    return converted


def _missing_mask(arr: np.ndarray) -> np.ndarray:
    a = np.asarray(arr)
    if a.dtype.kind == "f":
        return ~np.isfinite(a)
    if a.dtype.kind in "iub":
        return np.zeros(a.size, dtype=bool)
    return pd.Series(a, copy=False).isna().to_numpy()


def normalize_labels(arr: np.ndarray) -> np.ndarray:
    """Class labels as int64 when they are whole numbers, else bool or text (object)."""
    a = np.asarray(arr)
    if a.dtype.kind in "bi":
        return a.astype(np.int64, copy=False) if a.dtype.kind == "i" else a
    if a.dtype.kind == "u":
        return a.astype(np.int64)
    if a.dtype.kind == "f":
        if np.all(np.mod(a, 1) == 0):
            return a.astype(np.int64)
        return a
    series = pd.Series(a, copy=False)
    numeric = pd.to_numeric(series, errors="coerce")
    if numeric.notna().all():
        return normalize_labels(numeric.to_numpy(dtype=np.float64))
    return series.astype(str).to_numpy(dtype=object)


def _describe_values(values: list[Any], limit: int = 8) -> str:
    shown = ", ".join(format_value(v) for v in values[:limit])
    return shown + (f", … ({len(values)} in total)" if len(values) > limit else "")


def _check_lengths(columns: Mapping[str, np.ndarray]) -> int:
    lengths = {}
    for name, col in columns.items():
        arr = np.asarray(col)
        if arr.ndim != 1:
            raise EvaluationInputError(f"Column {name!r} must be one-dimensional.")
        lengths[name] = arr.size
    if len(set(lengths.values())) > 1:
        detail = ", ".join(f"{k}={v}" for k, v in lengths.items())
        raise EvaluationInputError(f"All columns must have the same number of rows ({detail}).")
    return next(iter(lengths.values()))


def _require(task: str, columns: Mapping[str, np.ndarray], role: str) -> None:
    if role not in columns:
        given = ", ".join(sorted(columns)) or "(none)"
        raise EvaluationInputError(
            f"The {task} task needs a {role!r} column ({_ROLE_HELP[role]}). Columns given: {given}."
        )


def _proba_columns(columns: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {
        name[len(PROBA_PREFIX) :]: col
        for name, col in columns.items()
        if name.startswith(PROBA_PREFIX)
    }


def _task_columns(task: str, columns: Mapping[str, np.ndarray]) -> list[str]:
    """Columns that must be present and valid on every row for this task."""
    names = ["y_true"]
    if task == "binary":
        names.append("y_score" if "y_score" in columns else "y_pred")
    elif task == "multiclass":
        names += [n for n in columns if n.startswith(PROBA_PREFIX)]
        if "y_pred" in columns:
            names.append("y_pred")
    elif task == "regression":
        names.append("y_pred" if "y_pred" in columns else "y_score")
    else:
        names += ["y_score", "group"] + (["item"] if "item" in columns else [])
    return names


def prepare_columns(
    *,
    task: str,
    columns: Mapping[str, np.ndarray],
    drop_invalid: bool = False,
    pos_label: Any = None,
    score_kind: str = "probability",
) -> PreparedData:
    """Validate `columns` for `task` and return cleaned arrays.

    Raises `EvaluationInputError` for: unknown task, no rows, columns of different lengths,
    a missing role column, non-numeric values in a numeric column, NaN / empty / infinite
    values in a task column (unless ``drop_invalid=True``, which drops those rows and
    reports how many), labels that do not fit the task (binary with other than two label
    values; a label without a probability column), probabilities outside [0, 1], a single
    class (ROC-AUC, average precision and log loss are undefined), negative relevance, and
    duplicate (group, item) pairs. Feature columns may contain missing values.
    """
    if task not in TASKS:
        raise EvaluationInputError(f"Unknown task {task!r}; choose one of {', '.join(TASKS)}.")
    if score_kind not in SCORE_KINDS:
        raise EvaluationInputError(
            f"Unknown score kind {score_kind!r}; choose 'probability' (scores in [0, 1]) or "
            "'score' (any real number, e.g. a margin)."
        )
    if not columns:
        raise EvaluationInputError("No columns were given.")
    rows_in = _check_lengths(columns)
    if rows_in == 0:
        raise EvaluationInputError("The file has no data rows.")
    _require(task, columns, "y_true")
    if task == "binary" and "y_score" not in columns:
        _require(task, columns, "y_pred")
    if task == "multiclass" and "y_pred" not in columns and not _proba_columns(columns):
        raise EvaluationInputError(
            "The multiclass task needs a predicted label column ('y_pred') or one "
            "probability column per class (e.g. 'proba_cat', 'proba_dog')."
        )
    if task == "regression" and "y_pred" not in columns:
        _require(task, columns, "y_score" if "y_score" in columns else "y_pred")
    if task == "ranking":
        for role in ("group", "y_score"):
            _require(task, columns, role)

    cols = {name: np.asarray(col) for name, col in columns.items()}
    numeric = ["y_score"] + [n for n in cols if n.startswith(PROBA_PREFIX)]
    if task in ("regression", "ranking"):
        numeric += ["y_true", "y_pred"]
    for name in numeric:
        if name in cols:
            cols[name] = _to_float(name, cols[name])

    out_warnings: list[dict[str, Any]] = []
    rows_dropped = 0
    checked = _task_columns(task, cols)
    invalid = {name: _missing_mask(cols[name]) for name in checked}
    counts = {name: int(mask.sum()) for name, mask in invalid.items() if mask.any()}
    if counts:
        bad_rows = np.zeros(rows_in, dtype=bool)
        for mask in invalid.values():
            bad_rows |= mask
        n_bad = int(bad_rows.sum())
        detail = "; ".join(
            f"{name}: {_describe_invalid(cols[name], invalid[name])}" for name in counts
        )
        if not drop_invalid:
            raise EvaluationInputError(
                f"{n_bad} row(s) have missing or non-finite values in required columns "
                f"({detail}). Fix these rows, or enable 'drop invalid rows' to evaluate "
                f"without them."
            )
        if n_bad == rows_in:
            raise EvaluationInputError(
                f"Every row has missing or non-finite values in required columns ({detail})."
            )
        keep = ~bad_rows
        cols = {name: col[keep] for name, col in cols.items()}
        rows_dropped = n_bad
        out_warnings.append(
            warning(
                "rows_dropped",
                f"Dropped {n_bad} of {rows_in} rows with missing or non-finite values ({detail}).",
                rows=n_bad,
            )
        )

    data = PreparedData(
        task=task,
        columns=cols,
        rows_in=rows_in,
        rows_dropped=rows_dropped,
        score_is_probability=score_kind == "probability",
        warnings=out_warnings,
    )
    if task == "binary":
        _prepare_binary(data, pos_label=pos_label)
    elif task == "multiclass":
        _prepare_multiclass(data)
    elif task == "regression":
        _prepare_regression(data)
    else:
        _prepare_ranking(data)
    return data


def _describe_invalid(col: np.ndarray, mask: np.ndarray) -> str:
    a = np.asarray(col)
    first = _row(_first(mask))
    if a.dtype.kind == "f":
        nan = int(np.isnan(a).sum())
        inf = int(mask.sum()) - nan
        parts = []
        if nan:
            parts.append(f"{nan} missing/NaN")
        if inf:
            parts.append(f"{inf} infinite")
        return f"{' and '.join(parts)}, first at row {first}"
    return f"{int(mask.sum())} missing, first at row {first}"


def _check_probability_range(name: str, col: np.ndarray, *, hint: str) -> None:
    outside = (col < 0) | (col > 1)
    if outside.any():
        i = _first(outside)
        raise EvaluationInputError(
            f"Column {name!r} should hold probabilities in [0, 1], but {int(outside.sum())} "
            f"value(s) fall outside (min {col.min():g}, max {col.max():g}; first at row "
            f"{_row(i)}: {col[i]:g}). {hint}"
        )


def _binary_label_map(values: list[Any], pos_label: Any) -> Any:
    """The positive label among the two label values, or an error saying how to choose."""
    if pos_label is not None:
        matches = [v for v in values if v == pos_label or format_value(v) == str(pos_label)]
        if not matches:
            raise EvaluationInputError(
                f"The positive label {pos_label!r} does not occur in the labels "
                f"({_describe_values(values)})."
            )
        return matches[0]
    texts = {format_value(v).strip().lower(): v for v in values}
    for positive, negative in _NATURAL_POSITIVE:
        if set(texts) == {positive, negative}:
            return texts[positive]
    raise EvaluationInputError(
        f"Cannot tell which label is positive among {_describe_values(values)}; set the "
        "positive label (pos_label), or use 0/1 labels."
    )


def _prepare_binary(data: PreparedData, *, pos_label: Any) -> None:
    cols = data.columns
    y = cols["y_true"]
    if y.dtype.kind == "b":
        values: list[Any] = [v for v in (False, True) if (y == v).any()]
    elif y.dtype.kind in "iuf" and np.count_nonzero((y == 0) | (y == 1)) == y.size:
        values = [v for v in (0, 1) if (y == v).any()]
    else:
        values = sorted(normalize_unique(y), key=format_value)
    if len(values) > 2:
        raise EvaluationInputError(
            f"A binary task needs exactly two label values, but y_true has {len(values)}: "
            f"{_describe_values(values)}. Choose the multiclass task, or fix the labels."
        )
    if len(values) == 1:
        only = format_value(values[0])
        raise EvaluationInputError(
            f"All {y.size} rows have the same label ({only}). ROC-AUC and average "
            "precision measure how well the model separates positive from negative rows, "
            "which is undefined when only one class is present. Evaluate on data that "
            "contains both classes."
        )
    if y.dtype.kind == "b" or (y.dtype.kind in "iuf" and set(values) <= {0, 1}):
        # 0/1 or False/True: positive is 1/True unless pos_label says 0/False.
        if pos_label is None or str(pos_label).lower() in ("1", "true"):
            label: Any = True if y.dtype.kind == "b" else 1
        elif str(pos_label).lower() in ("0", "false"):
            label = False if y.dtype.kind == "b" else 0
        else:
            label = _binary_label_map(values, pos_label)
    else:
        label = _binary_label_map(values, pos_label)
    positive = _labels_equal(y, label)
    data.pos_label = label_to_json(label)
    cols["y_true"] = positive
    if "y_score" not in cols:
        score = _labels_equal(cols["y_pred"], label).astype(np.float64)
        cols["y_score"] = score
        data.warnings.append(
            warning(
                "hard_predictions",
                "Only predicted labels (y_pred) were given, no score: ROC-AUC, average "
                "precision, log loss and the threshold sweep treat them as scores 0/1. "
                "Upload the model's score to evaluate its ranking and calibration.",
            )
        )
    elif data.score_is_probability:
        _check_probability_range(
            "y_score",
            cols["y_score"],
            hint="If these are raw scores (e.g. decision_function margins or logits), set "
            "the score kind to 'score'; log loss, Brier score and calibration are then "
            "skipped.",
        )


def _labels_equal(arr: np.ndarray, label: Any) -> np.ndarray:
    a = np.asarray(arr)
    if a.dtype.kind in "iufb":
        try:
            return a == float(label)
        except (TypeError, ValueError):
            return np.zeros(a.size, dtype=bool)
    return pd.Series(a, copy=False).astype(str).to_numpy() == format_value(label)


def normalize_unique(arr: np.ndarray) -> list[Any]:
    """Distinct values, hash-based (no sort of millions of Python objects)."""
    return pd.unique(np.asarray(arr)).tolist()


def label_to_json(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    return value


def _class_from_column(name: str, numeric_labels: bool) -> Any:
    if not numeric_labels:
        return name
    try:
        number = float(name)
    except ValueError:
        raise EvaluationInputError(
            f"Probability column for class {name!r} does not match the labels, which are "
            "numbers; name the probability columns after the labels (e.g. 'proba_0')."
        ) from None
    return int(number) if number.is_integer() else number


def _prepare_multiclass(data: PreparedData) -> None:
    cols = data.columns
    y = normalize_labels(cols["y_true"])
    cols["y_true"] = y
    classes_true = normalize_unique(y)
    if len(classes_true) < 2:
        raise EvaluationInputError(
            f"All {y.size} rows have the same label ({format_value(classes_true[0])}); "
            "classification metrics need at least two classes in the data."
        )
    numeric_labels = y.dtype.kind in "iufb"
    raw_proba = _proba_columns(cols)
    proba: dict[Any, np.ndarray] = {}
    for name, col in raw_proba.items():
        cls = _class_from_column(name, numeric_labels)
        if cls in proba:
            raise EvaluationInputError(f"Two probability columns are for class {name!r}.")
        _check_probability_range(
            PROBA_PREFIX + name,
            col,
            hint="Per-class columns must be predicted probabilities (e.g. softmax output).",
        )
        proba[cls] = col
    if proba:
        missing = [c for c in classes_true if c not in proba]
        if missing:
            raise EvaluationInputError(
                f"Label(s) {_describe_values(missing)} occur in y_true but have no "
                f"probability column; there are columns for {_describe_values(list(proba))}. "
                "Add the missing columns or fix the labels."
            )
        data.proba = {c: proba[c] for c in sorted(proba, key=lambda v: (str(type(v)), v))}
    if "y_pred" in cols:
        pred = normalize_labels(cols["y_pred"])
        if (pred.dtype.kind in "iufb") != numeric_labels:
            raise EvaluationInputError(
                "Predicted labels (y_pred) and true labels (y_true) must be the same kind: "
                "both numbers or both text."
            )
        cols["y_pred"] = pred


def _prepare_regression(data: PreparedData) -> None:
    cols = data.columns
    if "y_pred" not in cols:
        cols["y_pred"] = cols["y_score"]
    y = cols["y_true"]
    if y.size > 1 and np.count_nonzero((y == 0) | (y == 1)) == y.size:
        data.warnings.append(
            warning(
                "binary_looking_target",
                "The target only contains 0 and 1: is this a binary classification task?",
            )
        )


def _prepare_ranking(data: PreparedData) -> None:
    cols = data.columns
    rel = cols["y_true"]
    negative = rel < 0
    if negative.any():
        i = _first(negative)
        raise EvaluationInputError(
            f"Relevance (y_true) must be >= 0 (0 = not relevant), but {int(negative.sum())} "
            f"row(s) are negative, first at row {_row(i)}: {rel[i]:g}."
        )
    if "item" in cols:
        g_codes, _ = pd.factorize(cols["group"])
        i_codes, i_uniques = pd.factorize(cols["item"])
        pair = g_codes.astype(np.int64) * max(len(i_uniques), 1) + i_codes
        dup = pd.Series(pair, copy=False).duplicated().to_numpy()
        if dup.any():
            i = _first(dup)
            raise EvaluationInputError(
                f"{int(dup.sum())} row(s) repeat a (group, item) pair, first at row {_row(i)} "
                f"(group {format_value(cols['group'][i])}, item "
                f"{format_value(cols['item'][i])}). Each item may appear once per group."
            )
