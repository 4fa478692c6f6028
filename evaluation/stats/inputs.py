"""Validated per-variant aggregates, experiment variants and metric definitions.

Everything that enters the statistics engine passes through this module, so that every
bad input is rejected with one exception type (`StatsInputError`) and a message that can
be shown to the person who typed or uploaded the numbers.

Aggregate dictionaries accepted by `parse_aggregate` (and by `analyze(results=...)`):

* binomial metric: ``{"users": int, "conversions": int}``
* continuous metric: ``{"users": int, "sum": float, "sum_squares": float}``
* optional CUPED pre-period covariate, on either type, all three or none:
  ``{"covariate_sum": Σx, "covariate_sum_squares": Σx², "covariate_sum_products": Σx·y}``
  where ``x`` is the user's pre-period value and ``y`` the user's in-experiment value.
* ratio metric (ΣM/ΣD over users, `evaluation.stats.ratio`): ``{"users",
  "numerator_sum", "numerator_sum_squares", "denominator_sum", "denominator_sum_squares",
  "sum_products"}`` (Σ M·D), plus for CUPED all of `RATIO_COVARIATE_FIELDS` (the same
  user's pre-period M′ and D′ and every cross product, named as `RatioCupedInput`).
* quantile metric (`evaluation.stats.quantile`, level given by the metric's
  ``quantile_level``): ``{"users", "n_star", "quantile", "lower", "upper"}`` with
  ``users`` the number of values the sample quantile was taken over.
"""

from __future__ import annotations

import decimal
import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

MetricType = Literal["binomial", "continuous", "ratio", "quantile"]
MetricRole = Literal["primary", "secondary", "guardrail"]
Direction = Literal["increase", "decrease"]

METRIC_TYPES: tuple[str, ...] = ("binomial", "continuous", "ratio", "quantile")
METRIC_ROLES: tuple[str, ...] = ("primary", "secondary", "guardrail")
DIRECTIONS: tuple[str, ...] = ("increase", "decrease")

#: Allocations must add up to 1 within this absolute tolerance.
ALLOCATION_TOLERANCE = 1e-6

#: Relative slack for "sum of squares below sum²/n". Sums of squares accumulated in float64
#: over millions of rows carry rounding error of roughly n·ε relative to their size, so a
#: zero-variance column can come out a hair negative; anything beyond this is a real error.
_VARIANCE_RELATIVE_TOLERANCE = 1e-8

BINOMIAL_FIELDS: tuple[str, ...] = ("users", "conversions")
CONTINUOUS_FIELDS: tuple[str, ...] = ("users", "sum", "sum_squares")
COVARIATE_FIELDS: tuple[str, ...] = (
    "covariate_sum",
    "covariate_sum_squares",
    "covariate_sum_products",
)
RATIO_FIELDS: tuple[str, ...] = (
    "users",
    "numerator_sum",
    "numerator_sum_squares",
    "denominator_sum",
    "denominator_sum_squares",
    "sum_products",
)
RATIO_COVARIATE_FIELDS: tuple[str, ...] = (
    "pre_numerator_sum",
    "pre_numerator_sum_squares",
    "pre_denominator_sum",
    "pre_denominator_sum_squares",
    "numerator_pre_numerator_sum_products",
    "numerator_pre_denominator_sum_products",
    "denominator_pre_numerator_sum_products",
    "denominator_pre_denominator_sum_products",
    "pre_numerator_pre_denominator_sum_products",
)
QUANTILE_FIELDS: tuple[str, ...] = ("users", "n_star", "quantile", "lower", "upper")


class StatsInputError(ValueError):
    """Raised for any input the statistics engine cannot analyse.

    The message is written for the end user (it names the metric, variant, field, row or
    column at fault) and is also available as the ``message`` attribute.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Variant:
    """One arm of the experiment and the share of traffic it was planned to receive."""

    key: str
    allocation: float


@dataclass(frozen=True)
class Metric:
    """A metric definition: how it is aggregated, what it is for, which way is good."""

    key: str
    type: MetricType
    role: MetricRole = "primary"
    direction: Direction = "increase"
    #: ν in (0, 1) for a quantile metric (0.5 the median, 0.9 the p90); None otherwise.
    quantile_level: float | None = None


@dataclass(frozen=True)
class Covariate:
    """Pre-period covariate sums for CUPED: Σx, Σx² and Σx·y over the variant's users."""

    sum: float
    sum_squares: float
    sum_products: float


@dataclass(frozen=True)
class BinomialAggregate:
    """Users exposed and users who converted (each user counts at most once)."""

    users: int
    conversions: int
    covariate: Covariate | None = None

    @property
    def sum(self) -> float:
        """Σy for a 0/1 metric, i.e. the number of conversions."""
        return float(self.conversions)

    @property
    def sum_squares(self) -> float:
        """Σy² for a 0/1 metric, which equals Σy because 1² = 1."""
        return float(self.conversions)


@dataclass(frozen=True)
class ContinuousAggregate:
    """Users exposed, Σy and Σy² of a per-user numeric metric (e.g. revenue)."""

    users: int
    sum: float
    sum_squares: float
    covariate: Covariate | None = None


@dataclass(frozen=True)
class RatioAggregate:
    """Users and the sums of a ratio metric ΣM/ΣD (see `RATIO_FIELDS`); ``covariate`` holds
    the pre-period sums of `RATIO_COVARIATE_FIELDS` for CUPED, or None."""

    users: int
    numerator_sum: float
    numerator_sum_squares: float
    denominator_sum: float
    denominator_sum_squares: float
    sum_products: float
    covariate: Mapping[str, float] | None = None


@dataclass(frozen=True)
class QuantileAggregate:
    """A sample quantile over ``users`` values and its rank-interval bounds read at
    ``n_star`` values (GrowthBook's quantile inputs); no CUPED."""

    users: int
    n_star: int
    quantile: float
    lower: float
    upper: float
    nu: float
    covariate: None = None


Aggregate = BinomialAggregate | ContinuousAggregate | RatioAggregate | QuantileAggregate


def _where(*parts: str) -> str:
    return ", ".join(p for p in parts if p)


def _number(value: Any, *, field: str, where: str) -> float:
    """Coerce a user-supplied number to float, rejecting text, booleans, NaN and ±inf."""
    prefix = f"{where}: " if where else ""
    # bool is a subclass of int; a True where a count was expected is a bug, not a 1.
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, decimal.Decimal)):
        raise StatsInputError(f"{prefix}'{field}' must be a number, got {value!r}.")
    number = float(value)
    if not math.isfinite(number):
        raise StatsInputError(f"{prefix}'{field}' must be a finite number, got {value!r}.")
    return number


def sums_from_mean_sd(*, users: int, mean: float, sd: float) -> tuple[float, float]:
    """(Σ, Σ²) of `users` values from their mean and *sample* standard deviation (n − 1 in
    the denominator, as ``numpy.std(ddof=1)``, pandas' ``std()`` and spreadsheets' STDEV):
    Σ = n·mean and Σ² = (n − 1)·sd² + n·mean²."""
    return users * mean, (users - 1) * sd * sd + users * mean * mean


def expand_mean_sd(data: Any, *, where: str = "") -> Any:
    """A continuous metric's aggregates given as ``{"users", "mean", "sd"}`` turned into
    ``{"users", "sum", "sum_squares"}`` (other keys kept); anything else is returned as
    it is, for `parse_aggregate` to judge. Mixing the two forms is refused."""
    if not isinstance(data, Mapping) or not ({"mean", "sd"} & data.keys()):
        return data
    prefix = f"{where}: " if where else ""
    if {"sum", "sum_squares"} & data.keys():
        raise StatsInputError(
            f"{prefix}give either 'sum' and 'sum_squares' or 'mean' and 'sd', not both."
        )
    if not {"mean", "sd"} <= data.keys():
        raise StatsInputError(
            f"{prefix}'mean' and 'sd' (the sample standard deviation) go together."
        )
    users = parse_count(data.get("users"), field="users", where=where)
    mean = _number(data["mean"], field="mean", where=where)
    sd = _number(data["sd"], field="sd", where=where)
    if sd < 0:
        raise StatsInputError(f"{prefix}'sd' cannot be negative, got {data['sd']!r}.")
    if users < 2 and sd > 0:
        raise StatsInputError(f"{prefix}a sample standard deviation needs at least 2 users.")
    total, squares = sums_from_mean_sd(users=users, mean=mean, sd=sd)
    rest = {k: v for k, v in data.items() if k not in ("mean", "sd")}
    return {**rest, "sum": total, "sum_squares": squares}


def parse_count(value: Any, *, field: str, where: str = "") -> int:
    """Validate a user-supplied count: a finite, whole, non-negative number (numpy and
    Decimal values included); raises `StatsInputError` naming ``field`` otherwise."""
    prefix = f"{where}: " if where else ""
    number = _number(value, field=field, where=where)
    if number < 0:
        raise StatsInputError(f"{prefix}'{field}' cannot be negative, got {value!r}.")
    if not number.is_integer():
        raise StatsInputError(f"{prefix}'{field}' must be a whole number, got {value!r}.")
    # Keep exact integers exact (a float detour would round counts above 2**53).
    return int(value) if isinstance(value, numbers.Integral) else int(number)


def centered_sum_of_squares(
    *, n: int, sum: float, sum_squares: float, field: str, where: str
) -> float:
    """Return Σ(y−ȳ)² = Σy² − (Σy)²/n, rejecting sums that imply a negative variance."""
    correction = sum * sum / n
    centered = sum_squares - correction
    slack = _VARIANCE_RELATIVE_TOLERANCE * max(abs(sum_squares), correction, 1e-300)
    if centered < -slack:
        prefix = f"{where}: " if where else ""
        raise StatsInputError(
            f"{prefix}'{field}' ({sum_squares!r}) is smaller than sum²/users "
            f"({correction!r}), which would mean a negative variance; check that it is the "
            "sum of the squared per-user values."
        )
    return max(centered, 0.0)


def centered_sum_of_products(
    *,
    n: int,
    x_sum: float,
    x_centered: float,
    y_sum: float,
    y_centered: float,
    xy_sum: float,
    field: str,
    where: str,
    meaning: str,
) -> float:
    """Return Σ(x−x̄)(y−ȳ) = Σxy − ΣxΣy/n, rejecting a Σxy that no real data can produce.

    ``x_centered`` and ``y_centered`` are the centered sums of squares of x and y. By
    Cauchy–Schwarz |cov(x, y)| never exceeds sd(x)·sd(y); beyond rounding slack the sums
    are inconsistent and the message says what ``field`` (``meaning``) should have been.
    """
    centered = xy_sum - x_sum * y_sum / n
    bound = math.sqrt(x_centered * y_centered)
    if abs(centered) > bound * (1 + _VARIANCE_RELATIVE_TOLERANCE) + 1e-9 * max(abs(xy_sum), 1.0):
        prefix = f"{where}: " if where else ""
        raise StatsInputError(
            f"{prefix}'{field}' ({xy_sum!r}) is inconsistent with the other sums (it implies "
            f"a correlation beyond ±1); it must be the sum over users of {meaning}."
        )
    return centered


def _parse_covariate(
    data: Mapping[str, Any], *, users: int, y_sum: float, y_sum_squares: float, where: str
) -> Covariate | None:
    present = [f for f in COVARIATE_FIELDS if f in data]
    if not present:
        return None
    missing = [f for f in COVARIATE_FIELDS if f not in data]
    if missing:
        raise StatsInputError(
            f"{where}: a pre-period covariate needs all of {', '.join(COVARIATE_FIELDS)}; "
            f"missing {', '.join(missing)}."
        )
    x_sum = _number(data["covariate_sum"], field="covariate_sum", where=where)
    x_sum_squares = _number(
        data["covariate_sum_squares"], field="covariate_sum_squares", where=where
    )
    xy_sum = _number(data["covariate_sum_products"], field="covariate_sum_products", where=where)
    sxx = centered_sum_of_squares(
        n=users,
        sum=x_sum,
        sum_squares=x_sum_squares,
        field="covariate_sum_squares",
        where=where,
    )
    syy = centered_sum_of_squares(
        n=users, sum=y_sum, sum_squares=y_sum_squares, field="sum_squares", where=where
    )
    centered_sum_of_products(
        n=users,
        x_sum=x_sum,
        x_centered=sxx,
        y_sum=y_sum,
        y_centered=syy,
        xy_sum=xy_sum,
        field="covariate_sum_products",
        where=where,
        meaning="pre-period value × experiment value",
    )
    return Covariate(sum=x_sum, sum_squares=x_sum_squares, sum_products=xy_sum)


def _fields_check(
    data: Mapping[str, Any],
    *,
    required: Sequence[str],
    optional: Sequence[str],
    label: str,
    where: str,
) -> None:
    unknown = sorted(str(k) for k in data if k not in set(required) | set(optional))
    if unknown:
        extra = f" (plus optional {', '.join(optional)})" if optional else ""
        raise StatsInputError(
            f"{where}: unknown field(s) {', '.join(unknown)} for a {label} metric; "
            f"expected {', '.join(required)}{extra}."
        )
    missing = [f for f in required if f not in data]
    if missing:
        raise StatsInputError(f"{where}: missing field(s) {', '.join(missing)}.")


def _positive_users(data: Mapping[str, Any], where: str) -> int:
    users = parse_count(data["users"], field="users", where=where)
    if users == 0:
        raise StatsInputError(
            f"{where}: 'users' is 0; every variant needs at least one user to be analysed."
        )
    return users


def _parse_ratio(data: Mapping[str, Any], where: str) -> RatioAggregate:
    # Imported here: the ratio module builds on this one.
    from evaluation.stats.ratio import RatioCupedInput, ratio_cuped_adjust, ratio_statistics

    _fields_check(
        data, required=RATIO_FIELDS, optional=RATIO_COVARIATE_FIELDS, label="ratio", where=where
    )
    users = _positive_users(data, where)
    values = {f: _number(data[f], field=f, where=where) for f in RATIO_FIELDS[1:]}
    present = [f for f in RATIO_COVARIATE_FIELDS if f in data]
    covariate = None
    try:
        ratio_statistics(users=users, **values)
        if present:
            missing = [f for f in RATIO_COVARIATE_FIELDS if f not in data]
            if missing:
                raise StatsInputError(
                    f"CUPED on a ratio needs all pre-period sums; missing {', '.join(missing)}."
                )
            covariate = {f: _number(data[f], field=f, where=where) for f in RATIO_COVARIATE_FIELDS}
            pair = RatioCupedInput(
                users=users,
                numerator_denominator_sum_products=values["sum_products"],
                **{k: v for k, v in values.items() if k != "sum_products"},
                **covariate,
            )
            ratio_cuped_adjust(control=pair, treatment=pair)
    except StatsInputError as exc:
        raise StatsInputError(f"{where}: {exc.message}") from exc
    return RatioAggregate(users=users, covariate=covariate, **values)


def _parse_quantile(data: Mapping[str, Any], nu: float | None, where: str) -> QuantileAggregate:
    from evaluation.stats.quantile import quantile_statistics

    _fields_check(data, required=QUANTILE_FIELDS, optional=(), label="quantile", where=where)
    if nu is None:
        raise StatsInputError(f"{where}: a quantile metric needs its 'quantile_level'.")
    users = _positive_users(data, where)
    n_star = parse_count(data["n_star"], field="n_star", where=where)
    values = {f: _number(data[f], field=f, where=where) for f in ("quantile", "lower", "upper")}
    try:
        quantile_statistics(n=users, n_star=n_star, nu=nu, **values)
    except StatsInputError as exc:
        raise StatsInputError(f"{where}: {exc.message}") from exc
    return QuantileAggregate(users=users, n_star=n_star, nu=nu, **values)


def parse_aggregate(
    data: Mapping[str, Any],
    *,
    metric_type: MetricType,
    where: str = "",
    quantile_level: float | None = None,
) -> Aggregate:
    """Validate one variant's aggregate dictionary and return a typed aggregate.

    ``where`` (e.g. ``"Metric 'revenue', variant 'B'"``) prefixes every error message.
    Raises `StatsInputError` for missing or unknown fields, non-numbers, non-finite
    numbers, negative or fractional counts, zero users, conversions above users, sums of
    squares implying a negative variance, and covariate sums that are impossible.
    """
    if not isinstance(data, Mapping):
        raise StatsInputError(
            f"{where}: aggregates must be an object with named fields, got {data!r}."
        )
    if metric_type == "ratio":
        return _parse_ratio(data, where)
    if metric_type == "quantile":
        return _parse_quantile(data, quantile_level, where)
    if metric_type == "binomial":
        required = BINOMIAL_FIELDS
    elif metric_type == "continuous":
        required = CONTINUOUS_FIELDS
    else:
        raise StatsInputError(
            f"{where}: unknown metric type {metric_type!r}; use one of {', '.join(METRIC_TYPES)}."
        )
    allowed = set(required) | set(COVARIATE_FIELDS)
    unknown = sorted(str(k) for k in data if k not in allowed)
    if unknown:
        raise StatsInputError(
            f"{where}: unknown field(s) {', '.join(unknown)} for a {metric_type} metric; "
            f"expected {', '.join(required)} (plus optional {', '.join(COVARIATE_FIELDS)})."
        )
    missing = [f for f in required if f not in data]
    if missing:
        raise StatsInputError(f"{where}: missing field(s) {', '.join(missing)}.")

    users = parse_count(data["users"], field="users", where=where)
    if users == 0:
        raise StatsInputError(
            f"{where}: 'users' is 0; every variant needs at least one user to be analysed."
        )
    if metric_type == "binomial":
        conversions = parse_count(data["conversions"], field="conversions", where=where)
        if conversions > users:
            raise StatsInputError(
                f"{where}: 'conversions' ({conversions}) cannot exceed 'users' ({users}); "
                "a binomial metric counts each user at most once."
            )
        covariate = _parse_covariate(
            data, users=users, y_sum=conversions, y_sum_squares=conversions, where=where
        )
        return BinomialAggregate(users=users, conversions=conversions, covariate=covariate)

    total = _number(data["sum"], field="sum", where=where)
    total_squares = _number(data["sum_squares"], field="sum_squares", where=where)
    if total_squares < 0:
        raise StatsInputError(
            f"{where}: 'sum_squares' cannot be negative, got {data['sum_squares']!r}."
        )
    centered_sum_of_squares(
        n=users, sum=total, sum_squares=total_squares, field="sum_squares", where=where
    )
    covariate = _parse_covariate(
        data, users=users, y_sum=total, y_sum_squares=total_squares, where=where
    )
    return ContinuousAggregate(
        users=users, sum=total, sum_squares=total_squares, covariate=covariate
    )


def parse_variants(variants: Sequence[Mapping[str, Any]], *, control: str) -> tuple[Variant, ...]:
    """Validate the variant list: unique non-empty keys, allocations in (0, 1] summing to 1
    (±1e-6), at least two variants, and ``control`` among them."""
    if isinstance(variants, (str, bytes)) or not isinstance(variants, Sequence):
        raise StatsInputError("'variants' must be a list of {key, allocation} objects.")
    if len(variants) < 2:
        raise StatsInputError(
            "An experiment needs at least two variants (a control and one treatment)."
        )
    parsed: list[Variant] = []
    seen: set[str] = set()
    for index, item in enumerate(variants, start=1):
        if not isinstance(item, Mapping):
            raise StatsInputError(f"Variant #{index} must be an object with key and allocation.")
        key = item.get("key")
        if not isinstance(key, str) or not key.strip():
            raise StatsInputError(f"Variant #{index} needs a non-empty text 'key'.")
        if key in seen:
            raise StatsInputError(f"Variant key {key!r} is listed more than once.")
        seen.add(key)
        if "allocation" not in item:
            raise StatsInputError(f"Variant {key!r} is missing its 'allocation'.")
        allocation = _number(item["allocation"], field="allocation", where=f"Variant {key!r}")
        if not 0 < allocation <= 1:
            raise StatsInputError(
                f"Variant {key!r}: 'allocation' must be greater than 0 and at most 1, "
                f"got {item['allocation']!r}."
            )
        parsed.append(Variant(key=key, allocation=allocation))
    total = math.fsum(v.allocation for v in parsed)
    if abs(total - 1.0) > ALLOCATION_TOLERANCE:
        raise StatsInputError(
            f"Variant allocations must add up to 1 (100%); they add up to {total:.10g}."
        )
    if not isinstance(control, str) or control not in seen:
        raise StatsInputError(
            f"The control variant {control!r} is missing: it must be one of the variant keys "
            f"({', '.join(repr(v.key) for v in parsed)})."
        )
    return tuple(parsed)


def parse_metrics(metrics: Sequence[Mapping[str, Any]]) -> tuple[Metric, ...]:
    """Validate metric definitions: unique keys, known type/role/direction.

    ``role`` defaults to ``"primary"`` and ``direction`` to ``"increase"``.
    """
    if isinstance(metrics, (str, bytes)) or not isinstance(metrics, Sequence):
        raise StatsInputError("'metrics' must be a list of metric objects.")
    if not metrics:
        raise StatsInputError("At least one metric is needed.")
    parsed: list[Metric] = []
    seen: set[str] = set()
    for index, item in enumerate(metrics, start=1):
        if not isinstance(item, Mapping):
            raise StatsInputError(f"Metric #{index} must be an object with key and type.")
        key = item.get("key")
        if not isinstance(key, str) or not key.strip():
            raise StatsInputError(f"Metric #{index} needs a non-empty text 'key'.")
        if key in seen:
            raise StatsInputError(f"Metric key {key!r} is listed more than once.")
        seen.add(key)
        metric_type = item.get("type")
        if metric_type not in METRIC_TYPES:
            raise StatsInputError(
                f"Metric {key!r}: 'type' must be one of {', '.join(METRIC_TYPES)}, "
                f"got {metric_type!r}."
            )
        level = item.get("quantile_level")
        if metric_type == "quantile":
            if level is None:
                raise StatsInputError(
                    f"Metric {key!r}: a quantile metric needs 'quantile_level' (0.5 for the "
                    "median, 0.9 for p90)."
                )
            level = _number(level, field="quantile_level", where=f"Metric {key!r}")
            if not 0 < level < 1:
                raise StatsInputError(
                    f"Metric {key!r}: 'quantile_level' must lie strictly between 0 and 1, "
                    f"got {level!r}."
                )
        elif level is not None:
            raise StatsInputError(f"Metric {key!r}: 'quantile_level' is only for quantile metrics.")
        role = item.get("role", "primary")
        if role not in METRIC_ROLES:
            raise StatsInputError(
                f"Metric {key!r}: 'role' must be one of {', '.join(METRIC_ROLES)}, got {role!r}."
            )
        direction = item.get("direction", "increase")
        if direction not in DIRECTIONS:
            raise StatsInputError(
                f"Metric {key!r}: 'direction' must be 'increase' or 'decrease', got {direction!r}."
            )
        parsed.append(
            Metric(key=key, type=metric_type, role=role, direction=direction, quantile_level=level)
        )
    return tuple(parsed)


def parse_results(
    results: Mapping[str, Mapping[str, Mapping[str, Any]]],
    *,
    metrics: Sequence[Metric],
    variants: Sequence[Variant],
    control: str,
) -> dict[str, dict[str, Aggregate]]:
    """Validate ``{metric_key: {variant_key: aggregates}}`` against the definitions.

    Every defined metric must have results for every variant (control included); metric or
    variant keys that were not defined are rejected rather than silently ignored.
    """
    if not isinstance(results, Mapping):
        raise StatsInputError("'results' must be an object keyed by metric.")
    metric_keys = [m.key for m in metrics]
    variant_keys = [v.key for v in variants]
    unknown_metrics = [str(k) for k in results if k not in metric_keys]
    if unknown_metrics:
        raise StatsInputError(
            f"Results contain unknown metric key(s) {', '.join(map(repr, unknown_metrics))}; "
            f"defined metrics are {', '.join(map(repr, metric_keys))}."
        )
    parsed: dict[str, dict[str, Aggregate]] = {}
    for metric in metrics:
        per_variant = results.get(metric.key)
        if per_variant is None:
            raise StatsInputError(f"Metric {metric.key!r} has no results.")
        if not isinstance(per_variant, Mapping):
            raise StatsInputError(
                f"Metric {metric.key!r}: results must be an object keyed by variant."
            )
        unknown_variants = [str(k) for k in per_variant if k not in variant_keys]
        if unknown_variants:
            raise StatsInputError(
                f"Metric {metric.key!r}: unknown variant key(s) "
                f"{', '.join(map(repr, unknown_variants))}; the experiment's variants are "
                f"{', '.join(map(repr, variant_keys))}."
            )
        if control not in per_variant:
            raise StatsInputError(
                f"Metric {metric.key!r}: results for the control variant {control!r} are missing."
            )
        missing = [k for k in variant_keys if k not in per_variant]
        if missing:
            raise StatsInputError(
                f"Metric {metric.key!r}: results for variant(s) "
                f"{', '.join(map(repr, missing))} are missing."
            )
        parsed[metric.key] = {
            key: parse_aggregate(
                per_variant[key],
                metric_type=metric.type,
                quantile_level=metric.quantile_level,
                where=_where(f"Metric {metric.key!r}", f"variant {key!r}"),
            )
            for key in variant_keys
        }
    return parsed
