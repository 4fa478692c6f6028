"""Aggregates computed inside a real second PostgreSQL database (users, exposures, orders)
equal the aggregates of the same rows uploaded as a per-user file; a writing query, a too
long query and too many rows are refused with a clear message."""

import io
import os
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import psycopg
import pytest

from evaluation.abtests.warehouse import WarehouseError, WarehouseMetric, warehouse_aggregates
from evaluation.stats import aggregate_file, analyze

ADMIN = os.environ.get("WAREHOUSE_ADMIN_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
START = datetime(2026, 3, 1, tzinfo=UTC)
END = datetime(2026, 3, 15, tzinfo=UTC)
WINDOW_HOURS = 72
EXPOSURES = "SELECT user_id, variant, exposed_at FROM exposures"
ORDERS = "SELECT user_id, amount AS value, created_at AS ts FROM orders"
ORDER_COUNT = "SELECT user_id, 1 AS value, created_at AS ts FROM orders"
METRICS = [
    WarehouseMetric("purchase", "binomial", ORDERS),
    WarehouseMetric("revenue", "continuous", ORDERS),
    WarehouseMetric("aov", "ratio", ORDERS, denominator_sql=ORDER_COUNT),
    WarehouseMetric("revenue_p90", "quantile", ORDERS, quantile_level=0.9),
]


def make_rows(seed: int = 4, users: int = 3_000):
    rng = np.random.default_rng(seed)
    ids = np.arange(1, users + 1)
    variant = np.where(rng.random(users) < 0.5, "control", "treatment")
    # Some exposures fall outside the experiment window; some users are exposed twice.
    exposed = START + pd.to_timedelta(rng.uniform(-2, 16, users), unit="D")
    exposures = pd.DataFrame({"user_id": ids, "variant": variant, "exposed_at": exposed})
    again = exposures.sample(frac=0.1, random_state=seed).copy()
    again["exposed_at"] = again["exposed_at"] + pd.to_timedelta(1, unit="D")
    exposures = pd.concat([exposures, again], ignore_index=True)
    n_orders = rng.poisson(np.where(variant == "treatment", 1.3, 1.1))
    owner = np.repeat(ids, n_orders)
    first = exposures.groupby("user_id")["exposed_at"].min().reindex(owner).to_numpy()
    # Orders from a day before exposure to five days after: the 72 h window keeps some.
    created = pd.to_datetime(first) + pd.to_timedelta(rng.uniform(-24, 120, owner.size), unit="h")
    orders = pd.DataFrame(
        {
            "user_id": owner,
            "amount": rng.gamma(3.0, 12.0, owner.size).round(2),
            "created_at": created,
        }
    )
    return exposures, orders


def per_user_file(
    exposures: pd.DataFrame, orders: pd.DataFrame, lookback_hours: float = 0.0
) -> bytes:
    """The same rows as a per-user upload, computed with pandas, independently of SQL; with
    a lookback, each metric's pre-exposure value as a ``<metric>_pre`` column (CUPED)."""
    inside = exposures[(exposures.exposed_at >= START) & (exposures.exposed_at < END)]
    first = inside.groupby("user_id").agg(variant=("variant", "min"), at=("exposed_at", "min"))
    joined = orders.join(first, on="user_id", how="inner")

    def per_user(low: pd.Timedelta, high: pd.Timedelta) -> tuple[pd.Series, pd.Series]:
        hit = joined[
            (joined.created_at >= joined["at"] + low) & (joined.created_at < joined["at"] + high)
        ]
        revenue = hit.groupby("user_id")["amount"].sum().reindex(first.index, fill_value=0.0)
        count = hit.groupby("user_id").size().reindex(first.index, fill_value=0).astype(float)
        return revenue, count

    revenue, count = per_user(pd.Timedelta(0), pd.Timedelta(hours=WINDOW_HOURS))
    frame = pd.DataFrame(
        {
            "variant": first["variant"],
            "purchase": (revenue > 0).astype(int),
            "revenue": revenue,
            "aov_numerator": revenue,
            "aov_denominator": count,
            "revenue_p90": revenue,
        }
    )
    if lookback_hours:
        pre_revenue, pre_count = per_user(-pd.Timedelta(hours=lookback_hours), pd.Timedelta(0))
        frame["purchase_pre"] = (pre_revenue > 0).astype(int)
        frame["revenue_pre"] = pre_revenue
        frame["aov_pre_numerator"] = pre_revenue
        frame["aov_pre_denominator"] = pre_count
    return frame.to_csv(index=False).encode()


@pytest.fixture(scope="module")
def warehouse():
    """A second PostgreSQL database with users, exposures and orders tables."""
    name = f"abtests_warehouse_{os.getpid()}"
    try:
        admin = psycopg.connect(ADMIN, autocommit=True)
    except psycopg.OperationalError as exc:  # pragma: no cover - depends on the machine
        pytest.skip(f"no PostgreSQL server for the warehouse test: {exc}")
    admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
    admin.execute(f'CREATE DATABASE "{name}"')
    dsn = ADMIN.rsplit("/", 1)[0] + f"/{name}"
    exposures, orders = make_rows()
    with psycopg.connect(dsn, autocommit=True) as db:
        db.execute("CREATE TABLE users (user_id int PRIMARY KEY, country text)")
        db.execute("CREATE TABLE exposures (user_id int, variant text, exposed_at timestamptz)")
        db.execute(
            "CREATE TABLE orders (user_id int, amount numeric(12, 2), created_at timestamptz)"
        )
        db.execute("CREATE SEQUENCE order_numbers")
        with db.cursor() as cursor:
            with cursor.copy("COPY users (user_id, country) FROM STDIN") as copy:
                for user_id in exposures.user_id.unique():
                    copy.write_row((int(user_id), "FR"))
            with cursor.copy("COPY exposures FROM STDIN") as copy:
                for row in exposures.itertuples(index=False):
                    copy.write_row((int(row.user_id), row.variant, row.exposed_at))
            with cursor.copy("COPY orders FROM STDIN") as copy:
                for row in orders.itertuples(index=False):
                    copy.write_row((int(row.user_id), float(row.amount), row.created_at))
    yield {
        "url": "postgresql+psycopg://" + dsn.split("://", 1)[1],
        "exposures": exposures,
        "orders": orders,
    }
    admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()


def run(warehouse, **overrides):
    arguments = {
        "url": warehouse["url"],
        "exposure_sql": EXPOSURES,
        "metrics": METRICS,
        "variants": ["control", "treatment"],
        "start": START,
        "end": END,
        "conversion_window_hours": WINDOW_HOURS,
        **overrides,
    }
    return warehouse_aggregates(**arguments)


def test_sql_aggregates_equal_the_same_rows_uploaded_as_a_file(warehouse):
    got = run(warehouse)
    content = per_user_file(warehouse["exposures"], warehouse["orders"])
    expected = aggregate_file(
        io.BytesIO(content),
        variant_column="variant",
        variants=["control", "treatment"],
        metrics=[
            {"key": "purchase", "type": "binomial"},
            {"key": "revenue", "type": "continuous"},
            {"key": "aov", "type": "ratio"},
            {"key": "revenue_p90", "type": "quantile", "quantile_level": 0.9},
        ],
    )
    assert got.results.keys() == expected.keys()
    for metric, per_variant in expected.items():
        for variant, data in per_variant.items():
            assert got.results[metric][variant] == pytest.approx(data, rel=1e-9), (metric, variant)
    # Each statement is kept with its timing, for the record shown with the results.
    assert [q.metric for q in got.queries] == [m.key for m in METRICS]
    assert all("SET" not in q.sql and q.seconds >= 0 for q in got.queries)


def test_a_query_that_writes_is_refused(warehouse):
    writing = (
        "SELECT user_id, variant, exposed_at FROM exposures WHERE nextval('order_numbers') > 0"
    )
    with pytest.raises(WarehouseError, match="read-only"):
        run(warehouse, exposure_sql=writing)


def test_a_second_statement_is_refused_before_it_reaches_the_warehouse(warehouse):
    with pytest.raises(WarehouseError, match="single SELECT statement"):
        run(warehouse, exposure_sql=EXPOSURES + "; DELETE FROM orders")


def test_a_query_that_runs_too_long_is_cancelled(warehouse):
    slow = "SELECT user_id, variant, exposed_at FROM exposures, pg_sleep(2) AS pause"
    with pytest.raises(WarehouseError, match="longer than the data source's limit of 0.2 s"):
        run(warehouse, exposure_sql=slow, timeout_ms=200)


def test_too_many_rows_are_refused(warehouse):
    with pytest.raises(WarehouseError, match="above the data source's cap of 100"):
        run(warehouse, row_cap=100)


def test_an_unknown_variant_label_is_refused(warehouse):
    with pytest.raises(WarehouseError, match="returned variant 'control'"):
        run(warehouse, variants=["a", "b"])


FILE_METRICS = [
    {"key": "purchase", "type": "binomial"},
    {"key": "revenue", "type": "continuous"},
    {"key": "aov", "type": "ratio"},
    {"key": "revenue_p90", "type": "quantile", "quantile_level": 0.9},
]


def test_cuped_covariates_from_sql_equal_the_same_rows_uploaded_as_a_file(warehouse):
    """The pre-exposure covariate of each metric (its events in the 36 h before first
    exposure), summed in SQL, equals the file's covariate columns; so does the CUPED
    analysis the existing engine computes from them."""
    got = run(warehouse, cuped_lookback_hours=36)
    content = per_user_file(warehouse["exposures"], warehouse["orders"], lookback_hours=36)
    expected = aggregate_file(
        io.BytesIO(content),
        variant_column="variant",
        variants=["control", "treatment"],
        metrics=FILE_METRICS,
        covariates={"purchase": "purchase_pre", "revenue": "revenue_pre", "aov": "aov_pre"},
    )
    # Orders start a day before exposure: the covariates are not all zero.
    assert expected["revenue"]["control"]["covariate_sum"] > 0
    assert expected["aov"]["treatment"]["pre_denominator_sum"] > 0
    for metric, per_variant in expected.items():
        for variant, data in per_variant.items():
            assert got.results[metric][variant] == pytest.approx(data, rel=1e-9), (metric, variant)
    design = {
        "variants": [
            {"key": "control", "allocation": 0.5},
            {"key": "treatment", "allocation": 0.5},
        ],
        "control": "control",
        "metrics": [
            {**m, "role": "primary" if i == 0 else "secondary", "direction": "increase"}
            for i, m in enumerate(FILE_METRICS)
            if m["type"] != "quantile"
        ],
    }
    without_quantile = {k: v for k, v in got.results.items() if k != "revenue_p90"}
    from_sql = analyze(**design, results=without_quantile, cuped=True)
    from_file = analyze(
        **design, results={k: v for k, v in expected.items() if k != "revenue_p90"}, cuped=True
    )
    assert flat(from_sql["metrics"]) == pytest.approx(flat(from_file["metrics"]), rel=1e-9)
    # CUPED moved the numbers: the covariate was used, not ignored.
    plain = analyze(**design, results=without_quantile, cuped=False)
    assert flat(plain["metrics"])["revenue.treatment.ci_low"] != pytest.approx(
        flat(from_sql["metrics"])["revenue.treatment.ci_low"], rel=1e-6
    )


def flat(tree: dict, prefix: str = "") -> dict:
    """The numbers of a nested answer, keyed by their dotted path."""
    out = {}
    for key, value in tree.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flat(value, path + "."))
        elif isinstance(value, int | float) and not isinstance(value, bool):
            out[path] = value
    return out


def test_a_zero_lookback_adds_no_covariate(warehouse):
    got = run(warehouse, cuped_lookback_hours=0)
    assert "covariate_sum" not in got.results["revenue"]["control"]
    assert "pre_numerator_sum" not in got.results["aov"]["control"]
