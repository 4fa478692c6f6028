"""Guess the column mapping of a predictions file from its header *and* its first rows.

`suggest_mapping` (in `io`) reads names only; this module looks at the values too, because
names alone guess badly: a ranking file of ``guest_id, dish, rank, ordered`` has no
``user_id`` or ``score`` column, an id column like ``guest_id`` looks like any other column,
and a feature such as ``amount`` is not something to slice by. The rules, in order:

* **Id-like columns** (the name is ``id``/``…_id``/``uuid``/``key``/``index``…, or every
  sampled value is a distinct text or whole number) are never a label, a feature or a slice.
  One may still be the ranking *group* or *item*: those are ids by nature.
* **The task** comes from the columns: a group column (``user``/``query``/``session``/
  ``guest``… or ``<entity>_id``) whose values repeat, together with an item column or a
  rank column, is a ranking file; three or more ``proba_<class>`` columns, or a
  label with 3 to 50 distinct values, is multiclass; a numeric label with many distinct
  values is regression; a label with two values is binary.
* **Slices** are pre-ticked only for plausible slice columns: low cardinality (at most
  `MAX_SLICE_VALUES` distinct values, and values that repeat), not id-like, and not a
  score, prediction, label or rank.

Plain Python, no Django: the evaluation pages call it with the stored file's first rows.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .io import _NOT_FEATURES, _PROBA_RE, _ROLE_NAMES, _norm

#: A column with more distinct values than this (in the sample) is not offered as a slice.
MAX_SLICE_VALUES = 12
#: At most this many slice columns are pre-ticked (slicing a wide file by everything is slow
#: and unreadable).
MAX_SLICES = 4
#: Uniqueness says "id" only with enough rows to tell (5 distinct rows prove nothing).
MIN_ROWS_FOR_UNIQUENESS = 20

_ID_NAME = re.compile(r"(^|_)(id|ids|uuid|guid|key|pk|index|idx|hash)$")
_GROUP_ENTITIES = (
    "user", "users", "query", "queries", "qid", "session", "guest", "customer", "visitor",
    "member", "account", "request", "search", "client", "shopper", "viewer", "patient",
    "group",
)  # fmt: skip
_ITEM_ENTITIES = (
    "item", "product", "dish", "doc", "document", "movie", "song", "track", "article",
    "sku", "menu_item", "offer", "restaurant", "listing", "video", "book", "recipe", "ad",
    "candidate", "result", "page", "post", "course",
)  # fmt: skip
_RELEVANCE_NAMES = (
    "relevance", "rel", "relevant", "is_relevant", "grade", "rating", "clicked", "click",
    "ordered", "purchased", "bought", "converted", "liked", "watched", "gain",
)  # fmt: skip
_SCORE_WORD = re.compile(r"(^|_)(score|prob|proba|probability|likelihood|risk)($|_)")
# What a regression predicts, when the file names the truth by its quantity.
_QUANTITY_NAMES = (
    "actual", "observed", "value", "true_value", "sales", "demand", "price", "revenue",
    "quantity", "amount_sold", "duration", "count",
)  # fmt: skip
_RANK_NAMES = ("rank", "ranking", "position", "pos", "predicted_rank", "rank_position")
# Columns that carry the model's output or the truth: never a slice.
_OUTPUT_WORDS = re.compile(
    r"(^|_)(score|scores|prob|proba|probability|pred|prediction|predicted|label|target|"
    r"y|y_true|y_pred|y_score|truth|rank|position|logit|margin|confidence|yhat|forecast)($|_)"
)
_BINARY_TEXT = {"true", "false", "yes", "no", "y", "n", "t", "f"}


@dataclass(frozen=True)
class ColumnProfile:
    """What the sample says about one column."""

    name: str
    norm: str
    values: tuple[str, ...]  # the non-empty sampled values
    distinct: int
    numeric: bool
    whole: bool  # every value a whole number
    low: float | None
    high: float | None

    @property
    def repeats(self) -> bool:
        return self.distinct < len(self.values)

    @property
    def unique(self) -> bool:
        return len(self.values) >= MIN_ROWS_FOR_UNIQUENESS and self.distinct == len(self.values)


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def profile_column(name: str, values: Sequence[str]) -> ColumnProfile:
    present = tuple(v.strip() for v in values if v is not None and v.strip() != "")
    numbers = [_number(v) for v in present]
    numeric = bool(present) and all(n is not None for n in numbers)
    return ColumnProfile(
        name=name,
        norm=_norm(name),
        values=present,
        distinct=len(set(present)),
        numeric=numeric,
        whole=numeric and all(float(n).is_integer() for n in numbers),
        low=min(numbers) if numeric else None,
        high=max(numbers) if numeric else None,
    )


def is_id_like(col: ColumnProfile) -> bool:
    """An identifier: by its name, or because every sampled value is a distinct text or
    whole number (a float score is distinct too, but it is not an id)."""
    if col.norm in _NOT_FEATURES or _ID_NAME.search(col.norm):
        return True
    if re.fullmatch(rf"({'|'.join(_GROUP_ENTITIES + _ITEM_ENTITIES)})id", col.norm):
        return True  # userid, guestid, itemid
    return col.unique and (not col.numeric or col.whole)


def _entity(col: ColumnProfile, entities: Sequence[str]) -> bool:
    stem = re.sub(r"(_?(id|ids|key|name|code))$", "", col.norm)
    return stem in entities


def _binary_values(col: ColumnProfile) -> bool:
    if col.distinct != 2:
        return False
    if col.numeric:
        return {float(v) for v in col.values} <= {0.0, 1.0, -1.0}
    return {v.lower() for v in col.values} <= _BINARY_TEXT


def _flag_label(columns: list[ColumnProfile], used: set[str]) -> ColumnProfile | None:
    """A yes/no outcome named like one (``is_fraud``, ``churned``, ``has_defaulted``),
    when no column has a usual label name."""
    for c in columns:
        if c.name in used or not _binary_values(c):
            continue
        if re.match(r"^(is|has|was|did|will)_", c.norm) or re.search(
            r"(fraud|churn|churned|default|defaulted|spam|returned|cancelled|canceled)$", c.norm
        ):
            return c
    return None


def _first(columns: list[ColumnProfile], names: Sequence[str], used: set[str]):
    by_norm = {c.norm: c for c in columns if c.name not in used}
    for candidate in names:
        if candidate in by_norm:
            return by_norm[candidate]
    return None


def guess_columns(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> dict[str, Any]:
    """The guessed task, mapping and slices of a file from its header and first rows.

    Returns ``{"task", "mapping": {y_true, y_score, y_pred, group, item, proba, features},
    "slices": [...], "id_like": [...], "notes": [...]}``; the mapping has the shape
    `read_predictions` takes (roles absent when not guessed). A guess only: the page shows
    it for the user to check.
    """
    columns = [
        profile_column(name, ["" if i >= len(r) or r[i] is None else str(r[i]) for r in rows])
        for i, name in enumerate(header)
    ]
    ids = {c.name for c in columns if is_id_like(c)}
    used: set[str] = set()
    mapping: dict[str, Any] = {}
    notes: list[str] = []

    proba = {}
    for c in columns:
        match = _PROBA_RE.match(c.norm)
        if match and c.numeric and c.name not in ids:
            proba[c.name[len(c.name) - len(match.group(1)) :]] = c.name
    if len(proba) >= 2:
        mapping["proba"] = proba
        used.update(proba.values())

    # Ranking: a group whose values repeat, with an item or a relevance/rank column.
    group = _first(columns, _ROLE_NAMES["group"], used) or next(
        (c for c in columns if c.name not in used and _entity(c, _GROUP_ENTITIES)), None
    )
    item = _first(columns, _ROLE_NAMES["item"], used) or next(
        (c for c in columns if c.name not in used and _entity(c, _ITEM_ENTITIES)), None
    )
    rank = _first(columns, _RANK_NAMES, used | ids)
    is_ranking = group is not None and group.repeats and (item is not None or rank is not None)

    candidates = [c for c in columns if c.name not in ids]
    label_names = _ROLE_NAMES["y_true"]
    if is_ranking:
        mapping["group"] = group.name
        used.add(group.name)
        if item is not None and item.name != group.name:
            mapping["item"] = item.name
            used.add(item.name)
        label = _first(candidates, _RELEVANCE_NAMES + label_names, used)
    else:
        label = (
            _first(candidates, label_names, used)
            or _flag_label(candidates, used)
            or (
                _first(candidates, _QUANTITY_NAMES, used)
                if _first(candidates, _ROLE_NAMES["y_pred"], used)
                else None
            )
        )
    if label is not None:
        mapping["y_true"] = label.name
        used.add(label.name)
    score = _first(candidates, _ROLE_NAMES["y_score"], used) or next(
        (c for c in candidates if c.name not in used and c.numeric and _SCORE_WORD.search(c.norm)),
        None,
    )
    if score is not None and score.numeric:
        mapping["y_score"] = score.name
        used.add(score.name)
    pred = _first(candidates, _ROLE_NAMES["y_pred"], used)
    if pred is not None:
        mapping["y_pred"] = pred.name
        used.add(pred.name)
    if is_ranking and rank is not None and rank.name not in used:
        used.add(rank.name)
        if "y_score" not in mapping:
            notes.append(
                f"“{rank.name}” looks like a rank position (1 = best). Scores are read as "
                "higher is better: map a score column, or upload the negated rank."
            )

    task = _task(is_ranking, proba, label, score, pred, notes)
    features = [c for c in columns if c.name not in used and c.name not in ids]
    mapping["features"] = [c.name for c in features]
    slices = [c.name for c in features if _plausible_slice(c)][:MAX_SLICES]
    if label is None:
        notes.append("No column looks like the true label: choose it below.")
    return {
        "task": task,
        "mapping": mapping,
        "slices": slices,
        "id_like": [c.name for c in columns if c.name in ids],
        "notes": notes,
    }


def _task(
    is_ranking: bool,
    proba: dict[str, str],
    label: ColumnProfile | None,
    score: ColumnProfile | None,
    pred: ColumnProfile | None,
    notes: list[str],
) -> str | None:
    if is_ranking:
        return "ranking"
    if len(proba) >= 3:
        return "multiclass"
    if label is None:
        return "binary" if score is not None else None
    if label.distinct == 2:
        return "binary"
    if label.numeric and not label.whole:
        return "regression"
    if label.numeric and label.distinct > 50:
        return "regression"
    if 3 <= label.distinct <= 50:
        # Whole numbers with a predicted value beside them and a wide range read as counts.
        if label.numeric and pred is not None and pred.numeric and not pred.whole:
            return "regression"
        return "multiclass"
    if label.distinct == 1:
        notes.append(f"“{label.name}” has a single value in the first rows.")
    return "binary"


def _plausible_slice(col: ColumnProfile) -> bool:
    if not col.values or _OUTPUT_WORDS.search(col.norm):
        return False
    if col.distinct > MAX_SLICE_VALUES or not col.repeats:
        return False
    # A numeric column with values that barely repeat is a measurement, not a segment.
    return not (col.numeric and not col.whole and col.distinct > 5)


def column_roles(mapping: dict[str, Any], slices: Sequence[str], header: Sequence[str]):
    """Each column's role as a reader sees it, for the preview table."""
    names = {
        "y_true": "Label",
        "y_score": "Score",
        "y_pred": "Prediction",
        "group": "Group",
        "item": "Item",
        "score_b": "Second score",
        "label_b": "Second label",
    }
    roles: dict[str, list[str]] = {name: [] for name in header}
    for role, label in names.items():
        column = mapping.get(role)
        if column in roles:
            roles[column].append(label)
    for cls, column in (mapping.get("proba") or {}).items():
        if column in roles:
            roles[column].append(f"Probability of {cls}")
    for column in mapping.get("features") or []:
        if column in roles and not roles[column]:
            roles[column].append("Feature")
    for column in slices:
        if column in roles:
            roles[column].append("Slice")
    return {name: " · ".join(r) if r else "Not used" for name, r in roles.items()}
