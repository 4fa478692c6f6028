"""What the prototype sends to a model server and how it reads the answer, per protocol.
Plain functions over rows (dicts of feature → value); no Django.

* MLflow scoring server (`POST …/invocations`): `{"dataframe_split": {"columns", "data"}}`
  or `{"inputs": {column: [values]}}`; the answer is `{"predictions": …}`.
* KServe / Open Inference Protocol v2 (`POST …/v2/models/<name>/infer`): one input
  tensor per column, `{"name", "shape": [n], "datatype", "data"}`; the answer's first
  output tensor (or the one named by the output field) holds one value per row.
* Plain JSON: the row's fields put under `input_field` (a dotted path; empty for the body
  itself), the answer read from `output_field` (a dotted path; list indexes allowed).
  One call per row.
"""

from __future__ import annotations

import math
from typing import Any

MLFLOW_SPLIT = "mlflow_split"
MLFLOW_INPUTS = "mlflow_inputs"
KSERVE_V2 = "kserve_v2"
PLAIN_JSON = "json"
BATCH_PROTOCOLS = (MLFLOW_SPLIT, MLFLOW_INPUTS, KSERVE_V2)


class ProtocolError(Exception):
    """The answer does not have the shape the protocol promises; the message says where."""


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def build_request(protocol: str, rows: list[dict[str, Any]], *, input_field: str = "") -> Any:
    """The JSON body for `rows` (one row for plain JSON)."""
    columns = list(rows[0]) if rows else []
    if protocol == MLFLOW_SPLIT:
        data = [[_clean(row.get(c)) for c in columns] for row in rows]
        return {"dataframe_split": {"columns": columns, "data": data}}
    if protocol == MLFLOW_INPUTS:
        return {"inputs": {c: [_clean(row.get(c)) for row in rows] for c in columns}}
    if protocol == KSERVE_V2:
        return {
            "inputs": [
                {
                    "name": c,
                    "shape": [len(rows)],
                    "datatype": _v2_datatype([row.get(c) for row in rows]),
                    "data": [_clean(row.get(c)) for row in rows],
                }
                for c in columns
            ]
        }
    if protocol == PLAIN_JSON:
        if len(rows) != 1:
            raise ValueError("Plain JSON sends one row per call.")
        return set_path({}, input_field, dict(rows[0])) if input_field else dict(rows[0])
    raise ValueError(f"Unknown protocol {protocol!r}.")


def _v2_datatype(values: list[Any]) -> str:
    present = [v for v in values if v is not None]
    if present and all(isinstance(v, bool) for v in present):
        return "BOOL"
    if present and all(isinstance(v, int) and not isinstance(v, bool) for v in present):
        return "INT64"
    if present and all(isinstance(v, int | float) and not isinstance(v, bool) for v in present):
        return "FP64"
    return "BYTES"


def set_path(target: dict, path: str, value: Any) -> dict:
    """`{"a": {"b": value}}` for the path "a.b"."""
    keys = [k for k in path.split(".") if k]
    node = target
    for key in keys[:-1]:
        node = node.setdefault(key, {})
    node[keys[-1]] = value
    return target


def get_path(data: Any, path: str) -> Any:
    """The value at a dotted path ("outputs.0.data"); numbers index lists."""
    node = data
    walked = []
    for key in [k for k in path.split(".") if k]:
        walked.append(key)
        if isinstance(node, list) and key.lstrip("-").isdigit():
            index = int(key)
            if not -len(node) <= index < len(node):
                raise ProtocolError(f"The answer has no item {'.'.join(walked)}.")
            node = node[index]
        elif isinstance(node, dict) and key in node:
            node = node[key]
        else:
            raise ProtocolError(f"The answer has no field {'.'.join(walked)!r}.")
    return node


def parse_response(protocol: str, body: Any, *, n_rows: int, output_field: str = "") -> list[Any]:
    """One raw answer per row."""
    if protocol in (MLFLOW_SPLIT, MLFLOW_INPUTS):
        if not isinstance(body, dict) or "predictions" not in body:
            raise ProtocolError('An MLflow scoring server answers {"predictions": …}.')
        predictions = body["predictions"]
        if output_field:
            predictions = get_path(predictions, output_field)
        if isinstance(predictions, dict):
            # A DataFrame answer, column → values: one dict per row.
            columns = {k: v for k, v in predictions.items() if isinstance(v, list)}
            if not columns:
                raise ProtocolError("The predictions are neither a list nor columns of lists.")
            return _rows_of([{k: v[i] for k, v in columns.items()} for i in range(n_rows)], n_rows)
        return _rows_of(predictions, n_rows)
    if protocol == KSERVE_V2:
        outputs = body.get("outputs") if isinstance(body, dict) else None
        if not isinstance(outputs, list) or not outputs:
            raise ProtocolError('An Open Inference Protocol v2 server answers {"outputs": [...]}.')
        chosen = outputs[0]
        if output_field:
            chosen = next((o for o in outputs if o.get("name") == output_field), None)
            if chosen is None:
                names = ", ".join(str(o.get("name")) for o in outputs)
                raise ProtocolError(f"No output named {output_field!r}; the answer has {names}.")
        data, shape = chosen.get("data"), chosen.get("shape") or []
        if not isinstance(data, list):
            raise ProtocolError("The output tensor has no data list.")
        if len(shape) >= 2 and shape[0] == n_rows and len(data) == n_rows * shape[1]:
            width = shape[1]
            data = [data[i * width : (i + 1) * width] for i in range(n_rows)]
        return _rows_of(data, n_rows)
    if protocol == PLAIN_JSON:
        return [get_path(body, output_field) if output_field else body]
    raise ValueError(f"Unknown protocol {protocol!r}.")


def _rows_of(values: Any, n_rows: int) -> list[Any]:
    if not isinstance(values, list):
        raise ProtocolError("The predictions are not a list.")
    if len(values) != n_rows:
        raise ProtocolError(f"{n_rows} row(s) were sent but {len(values)} answer(s) came back.")
    return values


# -- reading an answer ------------------------------------------------------------------------

CLASS = "class"
RANKING = "ranking"
REGRESSION = "regression"
LABEL_KEYS = ("label", "class", "prediction", "predicted_label")
PROBABILITY_KEYS = ("probability", "score", "confidence")
ITEM_KEYS = ("item", "id", "name", "label")


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def readable_answer(raw: Any, *, kind: str, top_k: int = 5) -> dict[str, Any]:
    """The raw answer as something a page shows: a class with its probability (and the
    other classes' probabilities), the top-k items of a ranking, or a number."""
    if kind == REGRESSION:
        value = raw
        if isinstance(raw, list) and len(raw) == 1:
            value = raw[0]
        if isinstance(raw, dict):
            value = next((raw[k] for k in ("value", "prediction") if k in raw), None)
        number = _number(value)
        if number is None:
            raise ProtocolError(f"A regression answer should be a number, got {raw!r}.")
        return {"kind": REGRESSION, "value": number, "text": f"{number:.6g}"}
    if kind == RANKING:
        items = raw
        if isinstance(raw, dict):
            items = next((raw[k] for k in ("items", "recommendations", "ranking") if k in raw), raw)
        if isinstance(items, dict):  # item → score
            items = sorted(items.items(), key=lambda kv: -(_number(kv[1]) or 0.0))
            items = [{"item": str(k), "score": _number(v)} for k, v in items]
        if not isinstance(items, list):
            raise ProtocolError(f"A ranking answer should be a list of items, got {raw!r}.")
        ranked = []
        for entry in items:
            if isinstance(entry, dict):
                name = next((entry[k] for k in ITEM_KEYS if k in entry), None)
                score = next(
                    (_number(entry[k]) for k in ("score", "probability") if k in entry), None
                )
                ranked.append({"item": str(name), "score": score})
            else:
                ranked.append({"item": str(entry), "score": None})
        ranked = ranked[:top_k]
        return {"kind": RANKING, "items": ranked, "text": ", ".join(r["item"] for r in ranked)}
    # A class: a label, {label, probability}, {class: probability}, or [p0, p1] for a binary.
    label, probability, probabilities = raw, None, {}
    if isinstance(raw, dict):
        known = next((k for k in LABEL_KEYS if k in raw), None)
        if known:
            label = raw[known]
            probability = next((_number(raw[k]) for k in PROBABILITY_KEYS if k in raw), None)
            if isinstance(raw.get("probabilities"), dict):
                probabilities = raw["probabilities"]
        elif raw and all(_number(v) is not None for v in raw.values()):
            probabilities = raw
    elif isinstance(raw, list) and raw and all(_number(v) is not None for v in raw):
        probabilities = {str(i): v for i, v in enumerate(raw)}
    if probabilities:
        probabilities = {str(k): float(v) for k, v in probabilities.items()}
        if label is raw:
            label = max(probabilities, key=probabilities.get)
        if probability is None:
            probability = probabilities.get(str(label))
    if isinstance(label, dict | list):
        raise ProtocolError(f"No class found in the answer {raw!r}.")
    result = {"kind": CLASS, "label": label, "text": str(label)}
    if probability is not None:
        result["probability"] = probability
        result["percent"] = round(probability * 100, 1)
    if probabilities:
        result["probabilities"] = [
            {"label": k, "probability": v, "percent": round(v * 100, 1)}
            for k, v in sorted(probabilities.items(), key=lambda kv: -kv[1])
        ]
    return result


def same_answer(model: dict[str, Any] | None, baseline: dict[str, Any] | None) -> bool | None:
    """Whether the model and the baseline agree (None when one of them is missing): the
    same class, the same first item of a ranking, numbers within 1e-9."""
    if not model or not baseline or "error" in model or "error" in baseline:
        return None
    if model["kind"] == REGRESSION:
        other = _number(baseline.get("value"))
        return other is not None and abs(model["value"] - other) <= 1e-9 * max(1, abs(other))
    if model["kind"] == RANKING:
        first = model["items"][0]["item"] if model["items"] else None
        items = baseline.get("value")
        if isinstance(items, list):  # rules that recommend items: compare the first ones
            return first is not None and bool(items) and str(items[0]) == first
        return first is not None and str(baseline.get("text")) == first
    return str(model.get("label")) == str(baseline.get("text"))
