"""MLflow's wire protocol, as its client speaks it: the request messages of the tracking
endpoints with their protobuf types, checked the way MLflow's server checks them (a string
is a JSON string, an int64 a whole number that fits 64 bits — also written as a string, as
protobuf's JSON allows —, a double a number or "NaN"/"Infinity"/"-Infinity"), the errors
in MLflow's shape `{"error_code", "message"}`, and the JSON forms of values in answers."""

import json
import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

from rest_framework import exceptions

from evaluation.runs.services import text_problem

INT64 = (-(2**63), 2**63 - 1)
INT32 = (-(2**31), 2**31 - 1)
INTEGER = re.compile(r"-?[0-9]+")
SPECIAL_DOUBLES = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}
ECHO_LIMIT = 200  # characters of an invalid value repeated in an error message


class MlflowError(exceptions.APIException):
    """An error answered as `{"error_code", "message"}` with its HTTP status."""

    def __init__(self, error_code: str, message: str, status: int = 400):
        super().__init__(message)
        self.status_code = status
        self.error_code = error_code


def invalid(message: str) -> MlflowError:
    return MlflowError("INVALID_PARAMETER_VALUE", message)


def not_found(message: str) -> MlflowError:
    return MlflowError("RESOURCE_DOES_NOT_EXIST", message, 404)


def _echo(value) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return text if len(text) <= ECHO_LIMIT else text[:ECHO_LIMIT] + "…"


def invalid_value(path: str, value, reason: str = "") -> MlflowError:
    """MLflow's wording, so that messages match what users search for."""
    message = f"Invalid value {_echo(value)} for parameter '{path}' supplied."
    return invalid(f"{message} {reason}".strip())


def missing_value(path: str) -> MlflowError:
    return invalid(f"Missing value for required parameter '{path}'.")


@dataclass(frozen=True)
class Field:
    """A field of a request message: `kind` is string, int64, int32, double, bool, enum or
    message (then `fields` describes it); `repeated` fields are JSON lists."""

    kind: str
    required: bool = False
    repeated: bool = False
    fields: dict[str, "Field"] = field(default_factory=dict)
    choices: tuple[str, ...] = ()  # enum values by name, in protobuf order (1, 2, …)


def string(required: bool = False) -> Field:
    return Field("string", required)


def _scalar(spec: Field, value, path: str):
    kind = spec.kind
    if kind == "string":
        if not isinstance(value, str):
            raise invalid_value(path, value, f"Hint: Value was of type '{type(value).__name__}'.")
        problem = text_problem(value)
        if problem:
            raise invalid_value(path, value, f"The value {problem}.")
        return value
    if kind in ("int64", "int32"):
        low, high = INT64 if kind == "int64" else INT32
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        elif isinstance(value, str) and INTEGER.fullmatch(value.strip()):
            value = int(value.strip())
        if isinstance(value, bool) or not isinstance(value, int):
            raise invalid_value(path, value, "Expected an integer.")
        if not low <= value <= high:
            raise invalid_value(path, value, f"It must fit a {kind[3:]}-bit integer.")
        return value
    if kind == "double":
        if isinstance(value, str):
            if value in SPECIAL_DOUBLES:
                return SPECIAL_DOUBLES[value]
            try:
                value = float(value)
            except ValueError:
                raise invalid_value(path, value, "Expected a number.") from None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise invalid_value(path, value, "Expected a number.")
        try:
            return float(value)
        except OverflowError:  # an integer beyond any double
            raise invalid_value(path, value, "Expected a 64-bit floating-point number.") from None
    if kind == "bool":
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        if not isinstance(value, bool):
            raise invalid_value(path, value, "Expected true or false.")
        return value
    if kind == "enum":
        number = isinstance(value, int) and not isinstance(value, bool)
        if number and 0 < value <= len(spec.choices):
            return spec.choices[value - 1]
        if isinstance(value, str) and value in spec.choices:
            return value
        raise invalid_value(path, value, f"Expected one of {', '.join(spec.choices)}.")
    if kind == "message":
        if not isinstance(value, dict):
            raise invalid_value(path, value, "Expected an object.")
        return parse(spec.fields, value, prefix=f"{path}.")
    raise AssertionError(f"unknown field kind {kind}")


def _missing(value) -> bool:
    # MLflow reads an absent field, null and "" (protobuf's default string) alike.
    return value is None or value == ""


def parse(schema: dict[str, Field], data: dict, prefix: str = "") -> dict:
    """The request's fields named in `schema`, checked and converted (missing optional
    fields are None, or [] when repeated); other fields are ignored, as MLflow does."""
    out = {}
    for name, spec in schema.items():
        path = f"{prefix}{name}"
        value = data.get(name)
        if spec.repeated:
            if value is None:
                if spec.required:
                    raise missing_value(path)
                out[name] = []
                continue
            if not isinstance(value, list):
                raise invalid_value(path, value, "Expected a list.")
            out[name] = [_scalar(spec, item, f"{path}[{i}]") for i, item in enumerate(value)]
        elif value is None or (_missing(value) and spec.kind != "bool"):
            if spec.required:
                raise missing_value(path)
            out[name] = None
        else:
            out[name] = _scalar(spec, value, path)
    return out


def message(**fields: Field) -> Field:
    return Field("message", fields=fields)


KEY_VALUE = message(key=string(required=True), value=string())
METRIC = message(
    key=string(required=True),
    value=Field("double", required=True),
    timestamp=Field("int64", required=True),
    step=Field("int64"),
    model_id=string(),
    dataset_name=string(),
    dataset_digest=string(),
    run_id=string(),
)
DATASET = message(
    name=string(required=True),
    digest=string(required=True),
    source_type=string(),
    source=string(),
    schema=string(),
    profile=string(),
)
DATASET_INPUT = message(
    dataset=Field("message", required=True, fields=DATASET.fields),
    tags=Field("message", repeated=True, fields={"key": string(True), "value": string()}),
)
VIEW_TYPE = Field("enum", choices=("ACTIVE_ONLY", "DELETED_ONLY", "ALL"))
RUN_STATUS = Field("enum", choices=("RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED"))


def repeated(spec: Field, required: bool = False) -> Field:
    return Field(spec.kind, required, True, spec.fields, spec.choices)


# -- values in answers ----------------------------------------------------------------------
def json_double(value: float) -> float | str:
    """A double as protobuf's JSON writes it: NaN and ±inf as strings."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


def to_ms(moment: datetime | None) -> int | None:
    """Milliseconds since the epoch, rounded down (the inverse of `from_ms` on whole
    milliseconds)."""
    if moment is None:
        return None
    delta = moment - datetime(1970, 1, 1, tzinfo=UTC)
    return delta.days * 86_400_000 + delta.seconds * 1000 + delta.microseconds // 1000


def from_ms(ms: int | float, path: str) -> datetime:
    """The moment `ms` milliseconds after the epoch; an MLflow error when no date can hold
    it (beyond the years 1–9999)."""
    try:
        return datetime.fromtimestamp(ms / 1000, tz=UTC)
    except (OverflowError, ValueError, OSError):
        raise invalid_value(path, ms, "It is not a time a date can hold.") from None
