"""Per-variant aggregates of an experiment computed inside the team's own SQL warehouse.

The team writes an exposure query (``user_id, variant, exposed_at``: every exposure, the
first one per user counts) and, per metric, a query of events (``user_id, value, ts``;
a ratio metric also a denominator query of the same shape). Here those queries become
branches of one aggregate statement for all the metrics of a refresh (`combined_sql`)
that joins events to exposed users on ``user_id`` within the conversion window after
first exposure (and, for CUPED, the lookback before it), sums per user and then per
variant — users, Σ, Σ², and for ratios Σ of both parts and every cross product — so
only a handful of numbers per variant ever leave the warehouse. Quantile metrics read
the sample quantile and its rank-interval bounds with ``percentile_cont`` (linear
interpolation, as ``numpy.quantile``), at the n* that the variant's count implies.

Every statement runs in a read-only transaction (``SET TRANSACTION READ ONLY``) with a
statement timeout, and the exposure query may produce at most ``row_cap`` rows; a
refused query raises `WarehouseError` with a message for the person who wrote it.
PostgreSQL first; the SQL is written for it (``percentile_cont``, ``interval``).
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.pool import NullPool

from evaluation.stats.quantile import BOUNDS_Z, N_STAR_GRID

#: Defaults for a data source: a refresh never holds the warehouse longer than this.
DEFAULT_STATEMENT_TIMEOUT_MS = 60_000
DEFAULT_ROW_CAP = 50_000_000


class WarehouseError(Exception):
    """A warehouse query was refused or failed; the message is for the query's author."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class WarehouseMetric:
    """One metric's SQL: ``sql`` returns ``user_id, value, ts``; a ratio's
    ``denominator_sql`` the same for its denominator."""

    key: str
    type: str
    sql: str
    denominator_sql: str = ""
    quantile_level: float | None = None


@dataclass
class QueryLog:
    """What ran: the statement text and how long it took (seconds)."""

    metric: str
    sql: str
    seconds: float


@dataclass
class WarehouseResult:
    results: dict[str, dict[str, dict[str, Any]]]
    queries: list[QueryLog] = field(default_factory=list)


def clean_statement(sql: str, what: str) -> str:
    """One SELECT statement without its trailing ';', or `WarehouseError` for the author."""
    text = (sql or "").strip().rstrip(";").strip()
    if not text:
        raise WarehouseError(f"The {what} is empty.")
    if ";" in text:
        raise WarehouseError(f"The {what} must be a single SELECT statement (it contains ';').")
    return text


def _exposure_cte(exposure_sql: str) -> str:
    return f"""
exposure_rows AS (
    SELECT e.user_id, e.variant, e.exposed_at FROM ({exposure_sql}) AS e
    WHERE e.exposed_at >= :start AND e.exposed_at < :end
),
exposure AS (
    SELECT user_id, MIN(variant) AS variant, MIN(exposed_at) AS exposed_at
    FROM exposure_rows GROUP BY user_id
)"""


def _per_user(name: str, sql: str) -> str:
    # Events of exposed users summed per user (0 if none): `v` inside the conversion window
    # after first exposure, `pre` in the lookback before it (0 when the lookback is 0).
    return f"""
{name} AS (
    SELECT x.user_id,
           COALESCE(SUM(m.value) FILTER (WHERE m.ts >= x.exposed_at), 0)::float8 AS v,
           COALESCE(SUM(m.value) FILTER (WHERE m.ts < x.exposed_at), 0)::float8 AS pre
    FROM exposure x
    LEFT JOIN ({sql}) AS m
      ON m.user_id = x.user_id AND m.ts >= x.exposed_at - :lookback * interval '1 hour'
     AND m.ts < x.exposed_at + :window * interval '1 hour'
    GROUP BY x.user_id
)"""


def aggregate_sql(metric: WarehouseMetric, exposure_sql: str) -> str:
    """The one statement that aggregates a (non-quantile) metric per variant."""
    exposure_sql = clean_statement(exposure_sql, "exposure query")
    sql = clean_statement(metric.sql, f"query of metric {metric.key!r}")
    head = f"WITH {_exposure_cte(exposure_sql)},"
    count = "(SELECT COUNT(*) FROM exposure_rows) AS exposure_rows"
    if metric.type == "ratio":
        denominator = clean_statement(
            metric.denominator_sql, f"denominator query of {metric.key!r}"
        )
        return f"""{head}{_per_user("num", sql)},{_per_user("den", denominator)}
SELECT x.variant, COUNT(*) AS users,
       SUM(n.v) AS numerator_sum, SUM(n.v * n.v) AS numerator_sum_squares,
       SUM(d.v) AS denominator_sum, SUM(d.v * d.v) AS denominator_sum_squares,
       SUM(n.v * d.v) AS sum_products, {count}
FROM exposure x JOIN num n ON n.user_id = x.user_id JOIN den d ON d.user_id = x.user_id
GROUP BY x.variant ORDER BY x.variant"""
    if metric.type == "binomial":
        value = "CASE WHEN p.v > 0 THEN 1 ELSE 0 END"
        return f"""{head}{_per_user("p", sql)}
SELECT x.variant, COUNT(*) AS users, SUM({value}) AS conversions, {count}
FROM exposure x JOIN p ON p.user_id = x.user_id GROUP BY x.variant ORDER BY x.variant"""
    return f"""{head}{_per_user("p", sql)}
SELECT x.variant, COUNT(*) AS users, SUM(p.v) AS sum, SUM(p.v * p.v) AS sum_squares, {count}
FROM exposure x JOIN p ON p.user_id = x.user_id GROUP BY x.variant ORDER BY x.variant"""


def combined_sql(
    metrics: Sequence[WarehouseMetric], exposure_sql: str, *, cuped: bool = False
) -> str:
    """One statement for every (non-quantile) metric of a refresh: the distinct event
    queries become branches of one ``UNION ALL`` tagged by their position, joined once to
    the exposed users and summed per user with one ``FILTER`` per branch and period, then
    per variant. The warehouse reads the exposures once and groups users once, however many
    metrics share them. Columns are named ``m<metric index>__<aggregate>``."""
    exposure_sql = clean_statement(exposure_sql, "exposure query")
    sources: list[str] = []

    def source(sql: str, what: str) -> int:
        text = clean_statement(sql, what)
        if text not in sources:
            sources.append(text)
        return sources.index(text)

    parts = []  # per metric: the per-user value columns it reads
    for metric in metrics:
        numerator = source(metric.sql, f"query of metric {metric.key!r}")
        if metric.type == "ratio":
            what = f"denominator query of {metric.key!r}"
            parts.append((numerator, source(metric.denominator_sql, what)))
        else:
            parts.append((numerator, None))
    union = "\n    UNION ALL\n".join(
        f"    SELECT {i} AS source, s.user_id, s.value, s.ts FROM ({sql}) AS s"
        for i, sql in enumerate(sources)
    )
    per_user = []
    for i in range(len(sources)):
        per_user.append(
            f"COALESCE(SUM(m.value) FILTER (WHERE m.source = {i} AND m.ts >= x.exposed_at), 0)"
            f"::float8 AS v{i}"
        )
        if cuped:
            per_user.append(
                f"COALESCE(SUM(m.value) FILTER (WHERE m.source = {i} AND m.ts < x.exposed_at), 0)"
                f"::float8 AS pre{i}"
            )
    columns = []
    for j, (metric, (n, d)) in enumerate(zip(metrics, parts, strict=True)):
        if metric.type == "ratio":
            values = {"numerator": f"v{n}", "denominator": f"v{d}"}
            if cuped:
                values |= {"pre_numerator": f"pre{n}", "pre_denominator": f"pre{d}"}
            names = list(values)
            for a in names:
                columns.append(f"SUM({values[a]}) AS m{j}__{a}_sum")
            for i, a in enumerate(names):
                columns.append(f"SUM({values[a]} * {values[a]}) AS m{j}__{a}_sum_squares")
                for b in names[i + 1 :]:
                    field = (
                        "sum_products"
                        if (a, b) == ("numerator", "denominator")
                        else f"{a}_{b}_sum_products"
                    )
                    columns.append(f"SUM({values[a]} * {values[b]}) AS m{j}__{field}")
            continue
        if metric.type == "binomial":
            y, x = (
                f"(CASE WHEN v{n} > 0 THEN 1 ELSE 0 END)",
                f"(CASE WHEN pre{n} > 0 THEN 1 ELSE 0 END)",
            )
            columns.append(f"SUM({y}) AS m{j}__conversions")
        else:
            y, x = f"v{n}", f"pre{n}"
            columns += [f"SUM({y}) AS m{j}__sum", f"SUM({y} * {y}) AS m{j}__sum_squares"]
        if cuped:
            columns += [
                f"SUM({x})::float8 AS m{j}__covariate_sum",
                f"SUM({x} * {x})::float8 AS m{j}__covariate_sum_squares",
                f"SUM({x} * {y})::float8 AS m{j}__covariate_sum_products",
            ]
    separator = ",\n       "
    return f"""WITH {_exposure_cte(exposure_sql)},
events AS (
{union}
),
per_user AS (
    SELECT x.user_id, x.variant,
           {separator.join(per_user)}
    FROM exposure x
    LEFT JOIN events m
      ON m.user_id = x.user_id AND m.ts >= x.exposed_at - :lookback * interval '1 hour'
     AND m.ts < x.exposed_at + :window * interval '1 hour'
    GROUP BY x.user_id, x.variant
)
SELECT variant, COUNT(*) AS users,
       {separator.join(columns)},
       (SELECT COUNT(*) FROM exposure_rows) AS exposure_rows
FROM per_user GROUP BY variant ORDER BY variant"""


def _combined_entries(row: sa.Row, metrics: Sequence[WarehouseMetric]) -> list[dict[str, Any]]:
    data = row._mapping
    entries: list[dict[str, Any]] = [{"users": int(data["users"])} for _ in metrics]
    for column, value in data.items():
        if not column.startswith("m") or "__" not in column:
            continue
        index, field = column[1:].split("__", 1)
        entries[int(index)][field] = int(value) if field == "conversions" else float(value)
    return entries


def quantile_sql(metric: WarehouseMetric, exposure_sql: str) -> str:
    """Per variant: the number of per-user values and the sample quantiles at the ranks
    bound as :ranks_<variant> (a float array), read in one pass."""
    exposure_sql = clean_statement(exposure_sql, "exposure query")
    sql = clean_statement(metric.sql, f"query of metric {metric.key!r}")
    return f"""WITH {_exposure_cte(exposure_sql)},{_per_user("p", sql)}
SELECT x.variant, COUNT(*) AS users,
       percentile_cont(CAST(:ranks AS float8[])) WITHIN GROUP (ORDER BY p.v) AS q,
       (SELECT COUNT(*) FROM exposure_rows) AS exposure_rows
FROM exposure x JOIN p ON p.user_id = x.user_id
WHERE x.variant = :variant GROUP BY x.variant"""


def _quantile_ranks(n: int, nu: float) -> tuple[int, list[float]]:
    below = [g for g in N_STAR_GRID if g < n]
    n_star = below[-1] if below else N_STAR_GRID[0]
    spread = BOUNDS_Z * math.sqrt(nu * (1.0 - nu) / n_star)
    clip = [min(max(r, 1e-8), 1.0 - 1e-8) for r in (nu - spread, nu, nu + spread)]
    return n_star, clip


def _explain(error: sa_exc.DBAPIError, timeout_ms: int) -> WarehouseError:
    text = str(getattr(error, "orig", error)).strip().splitlines()[0]
    lowered = text.lower()
    if "statement timeout" in lowered or "canceling statement" in lowered:
        return WarehouseError(
            f"The query ran longer than the data source's limit of {timeout_ms / 1000:g} s "
            "and was cancelled; narrow it (dates, indexes) or raise the limit."
        )
    if "read-only transaction" in lowered:
        return WarehouseError(
            f"The query tried to change data ({text}); data-source queries are read-only."
        )
    return WarehouseError(f"The warehouse refused the query: {text}")


def _execute(
    connection: sa.Connection, sql: str, params: Mapping[str, Any], timeout_ms: int
) -> list[sa.Row]:
    try:
        with connection.begin():
            connection.exec_driver_sql("SET TRANSACTION READ ONLY")
            connection.exec_driver_sql(f"SET LOCAL statement_timeout = {int(timeout_ms)}")
            return list(connection.execute(sa.text(sql), dict(params)))
    except sa_exc.DBAPIError as error:
        raise _explain(error, timeout_ms) from error


def _check_cap(rows: Sequence[sa.Row], row_cap: int) -> None:
    produced = max((int(r.exposure_rows) for r in rows), default=0)
    if produced > row_cap:
        raise WarehouseError(
            f"The exposure query returned {produced:,} rows in the window, above the data "
            f"source's cap of {row_cap:,}; narrow it or raise the cap."
        )


def warehouse_aggregates(
    *,
    url: str,
    exposure_sql: str,
    metrics: Sequence[WarehouseMetric],
    variants: Sequence[str],
    start: datetime,
    end: datetime,
    conversion_window_hours: float,
    timeout_ms: int = DEFAULT_STATEMENT_TIMEOUT_MS,
    row_cap: int = DEFAULT_ROW_CAP,
    cuped_lookback_hours: float = 0.0,
) -> WarehouseResult:
    """Run every metric's aggregate statement and return ``{metric: {variant: aggregates}}``
    in the form `evaluation.stats.analyze` takes, with the statements and their timings.
    With a CUPED lookback, proportion, mean and ratio metrics also get their pre-exposure
    covariate sums. Variants missing from the warehouse get ``users`` 0; unknown variant
    labels are refused."""
    engine = sa.create_engine(url, poolclass=NullPool)
    cuped = cuped_lookback_hours > 0
    base = {
        "start": start,
        "end": end,
        "window": float(conversion_window_hours),
        "lookback": float(cuped_lookback_hours),
    }
    output = WarehouseResult(results={})
    together = [m for m in metrics if m.type != "quantile"]
    found: dict[str, tuple[dict[str, dict[str, Any]], str, float]] = {}
    try:
        with engine.connect() as connection:
            if together:
                began = time.perf_counter()
                sql = combined_sql(together, exposure_sql, cuped=cuped)
                rows = _execute(connection, sql, base, timeout_ms)
                _check_cap(rows, row_cap)
                seconds = time.perf_counter() - began
                per_metric: dict[str, dict[str, dict[str, Any]]] = {m.key: {} for m in together}
                for row in rows:
                    variant = _variant(row, variants)
                    for metric, entry in zip(
                        together, _combined_entries(row, together), strict=True
                    ):
                        per_metric[metric.key][variant] = entry
                for metric in together:
                    found[metric.key] = (per_metric[metric.key], sql, seconds)
            for metric in metrics:
                if metric.type == "quantile":
                    began = time.perf_counter()
                    per_variant, sql = _quantiles(
                        connection, metric, exposure_sql, variants, base, timeout_ms, row_cap
                    )
                    found[metric.key] = (per_variant, sql, time.perf_counter() - began)
    except sa_exc.OperationalError as error:
        raise WarehouseError(f"Could not connect to the data source: {error.orig}") from error
    finally:
        engine.dispose()
    # In the metrics' order; metrics computed together share their statement and its time.
    for metric in metrics:
        per_variant, sql, seconds = found[metric.key]
        output.queries.append(QueryLog(metric.key, sql, seconds))
        output.results[metric.key] = {v: per_variant.get(v, {"users": 0}) for v in variants}
    return output


def check_connection(*, url: str, timeout_ms: int = DEFAULT_STATEMENT_TIMEOUT_MS) -> str:
    """Connect and run ``SELECT version()`` the way refreshes run their queries (read-only
    transaction, statement timeout): the server's version string, or `WarehouseError`."""
    try:
        engine = sa.create_engine(url, poolclass=NullPool)
    except (sa_exc.ArgumentError, ImportError) as error:
        raise WarehouseError(f"The URL cannot be used: {error}") from error
    try:
        with engine.connect() as connection:
            (row,) = _execute(connection, "SELECT version() AS version", {}, timeout_ms)
            return str(row.version)
    except sa_exc.OperationalError as error:
        raise WarehouseError(f"Could not connect to the data source: {error.orig}") from error
    finally:
        engine.dispose()


def _variant(row: sa.Row, variants: Sequence[str]) -> str:
    label = str(row.variant)
    if label not in variants:
        raise WarehouseError(
            f"The exposure query returned variant {label!r}; this test's variants are "
            f"{', '.join(map(repr, variants))}."
        )
    return label


def _quantiles(
    connection: sa.Connection,
    metric: WarehouseMetric,
    exposure_sql: str,
    variants: Sequence[str],
    base: Mapping[str, Any],
    timeout_ms: int,
    row_cap: int,
) -> tuple[dict[str, dict[str, Any]], str]:
    nu = float(metric.quantile_level or 0.5)
    # First the count per variant (n* depends on it), then the three quantiles.
    counts_sql = aggregate_sql(WarehouseMetric(metric.key, "continuous", metric.sql), exposure_sql)
    counts = _execute(connection, counts_sql, base, timeout_ms)
    _check_cap(counts, row_cap)
    sql = quantile_sql(metric, exposure_sql)
    per_variant: dict[str, dict[str, Any]] = {}
    for row in counts:
        variant = _variant(row, variants)
        n_star, ranks = _quantile_ranks(int(row.users), nu)
        (found,) = _execute(
            connection, sql, {**base, "ranks": ranks, "variant": variant}, timeout_ms
        )
        lower, quantile, upper = (float(q) for q in found.q)
        per_variant[variant] = {
            "users": int(found.users),
            "n_star": n_star,
            "quantile": quantile,
            "lower": lower,
            "upper": upper,
        }
    return per_variant, f"{counts_sql};\n{sql}"
