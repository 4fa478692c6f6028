"""Benchmark: "Refresh results" of an A/B test computed in a PostgreSQL warehouse, end to
end, against the same aggregation written by hand as one SQL statement run by psql.

Usage::

    .venv/bin/python bench/bench_warehouse.py [--exposures N] [--events M] [--keep]

Defaults: ``$BENCH_WAREHOUSE_EXPOSURES`` (200 000) exposure rows and
``$BENCH_WAREHOUSE_EVENTS`` (3 × exposures) event rows; the issue's size is
``--exposures 10000000 --events 30000000`` (generation alone then takes many minutes on
two cores). ``$WAREHOUSE_ADMIN_DSN`` (default postgresql://postgres@127.0.0.1:5432/postgres)
is used to create a scratch database ``bench_warehouse_<pid>``, dropped at the end unless
``--keep``.

The data are generated inside PostgreSQL with ``generate_series`` (seeded): exposures
(10 % of users exposed twice, some outside the window) and events of three kinds (orders
with an amount, clicks, sessions) from 14 days before the window to 3 days after it,
indexed on ``(user_id, ts)`` as a warehouse table would be.

Timed, in the same run, after one warm-up of each:

* ours: an A/B test with 5 metrics — purchase (proportion), revenue (mean), revenue per
  order (ratio), clicks (mean), clicks per session (ratio) — on saved, approved queries,
  refreshed end to end by `abtest_refresh_run` (the worker's job: reads the definitions,
  runs the statements in read-only transactions, CUPED covariates over a 14-day lookback,
  writes the results) with a SQLite application database;
* psql: one hand-tuned statement computing the same per-variant aggregates (the same
  sums, sums of squares and cross-products, CUPED included) with a single pass over the
  events, run by ``psql``.

Prints ``warehouse_refresh_vs_psql: <ours / psql>x`` (goal <= 2) and checks that both
give the same numbers.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

ADMIN = os.environ.get("WAREHOUSE_ADMIN_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
START = datetime(2026, 3, 1, tzinfo=UTC)
END = datetime(2026, 3, 15, tzinfo=UTC)
WINDOW_HOURS = 72
LOOKBACK_DAYS = 14

EXPOSURES = "SELECT user_id, variant, exposed_at FROM exposures"
ORDERS = "SELECT user_id, value, ts FROM events WHERE kind = 'order'"
ORDER_COUNT = "SELECT user_id, 1 AS value, ts FROM events WHERE kind = 'order'"
CLICKS = "SELECT user_id, 1 AS value, ts FROM events WHERE kind = 'click'"
SESSIONS = "SELECT user_id, 1 AS value, ts FROM events WHERE kind = 'session'"
METRICS = [
    # key, type, sql, denominator sql
    ("purchase", "binomial", ORDERS, ""),
    ("revenue", "continuous", ORDERS, ""),
    ("aov", "ratio", ORDERS, ORDER_COUNT),
    ("clicks", "continuous", CLICKS, ""),
    ("clicks_per_session", "ratio", CLICKS, SESSIONS),
]


def generate(dsn: str, exposures: int, events: int) -> None:
    users = max(int(exposures / 1.1), 1)
    span = (END - START).total_seconds() + 4 * 86400
    with psycopg.connect(dsn, autocommit=True) as db:
        db.execute("SELECT setseed(0.42)")
        db.execute("CREATE TABLE exposures (user_id int, variant text, exposed_at timestamptz)")
        db.execute("CREATE TABLE events (user_id int, kind text, value float8, ts timestamptz)")
        # Users 1..users, each exposed once from 2 days before the window to its end; then
        # the remaining rows expose random users a second time, a day later.
        db.execute(
            """INSERT INTO exposures
               SELECT g, CASE WHEN hashint4(g) %% 2 = 0 THEN 'control' ELSE 'treatment' END,
                      %(start)s::timestamptz
                        + (random() * %(span)s - 2 * 86400) * interval '1 second'
               FROM generate_series(1, %(users)s) AS g""",
            {"start": START, "span": span - 2 * 86400, "users": users},
        )
        db.execute(
            """INSERT INTO exposures
               SELECT user_id, variant, exposed_at + interval '1 day'
               FROM exposures ORDER BY random() LIMIT %(extra)s""",
            {"extra": exposures - users},
        )
        db.execute(
            """INSERT INTO events
               SELECT 1 + floor(random() * %(users)s)::int,
                      (ARRAY['order', 'click', 'click', 'session'])[1 + floor(random() * 4)::int],
                      round((random() * 60)::numeric, 2)::float8,
                      %(first)s::timestamptz + random() * %(span)s * interval '1 second'
               FROM generate_series(1, %(events)s)""",
            {
                "users": users,
                "first": START - timedelta(days=LOOKBACK_DAYS + 2),
                "span": span + (LOOKBACK_DAYS + 2) * 86400,
                "events": events,
            },
        )
        db.execute("CREATE INDEX ON events (user_id, ts)")
        db.execute("CREATE INDEX ON exposures (user_id)")
        db.execute("ANALYZE")


def per_user(name: str, kind: str, value: str) -> str:
    return f"""
    COALESCE(SUM({value}) FILTER (WHERE e.kind = '{kind}' AND e.ts >= x.at), 0) AS {name},
    COALESCE(SUM({value}) FILTER (WHERE e.kind = '{kind}' AND e.ts < x.at), 0) AS pre_{name}"""


def ratio_columns(key: str, n: str, d: str) -> str:
    parts = {
        "numerator": n,
        "denominator": d,
        "pre_numerator": f"pre_{n}",
        "pre_denominator": f"pre_{d}",
    }
    names = list(parts)
    columns = [f"SUM({parts[a]}) AS {key}__{a}_sum" for a in names]
    for i, a in enumerate(names):
        columns.append(f"SUM({parts[a]} * {parts[a]}) AS {key}__{a}_sum_squares")
        for b in names[i + 1 :]:
            field = (
                "sum_products"
                if (a, b) == ("numerator", "denominator")
                else (f"{a}_{b}_sum_products")
            )
            columns.append(f"SUM({parts[a]} * {parts[b]}) AS {key}__{field}")
    return ",\n  ".join(columns)


def hand_tuned_sql() -> str:
    """All five metrics' aggregates in one pass over the events."""
    bought, pre_bought = (
        "(CASE WHEN rev > 0 THEN 1 ELSE 0 END)",
        "(CASE WHEN pre_rev > 0 THEN 1 ELSE 0 END)",
    )
    start, end = START.isoformat(), END.isoformat()
    # Constants of this script only, no outside input.
    return f"""
WITH x AS (
  SELECT user_id, MIN(variant) AS variant, MIN(exposed_at) AS at FROM exposures
  WHERE exposed_at >= '{start}' AND exposed_at < '{end}' GROUP BY user_id
), u AS (
  SELECT x.variant, {per_user("rev", "order", "e.value")},
    {per_user("orders", "order", "1")}, {per_user("clicks", "click", "1")},
    {per_user("sessions", "session", "1")}
  FROM x LEFT JOIN events e ON e.user_id = x.user_id
   AND e.ts >= x.at - interval '{LOOKBACK_DAYS} days'
   AND e.ts < x.at + interval '{WINDOW_HOURS} hours'
  GROUP BY x.user_id, x.variant
)
SELECT variant, COUNT(*) AS users,
  SUM({bought}) AS purchase__conversions, SUM({pre_bought}) AS purchase__covariate_sum,
  SUM({pre_bought} * {pre_bought}) AS purchase__covariate_sum_squares,
  SUM({pre_bought} * {bought}) AS purchase__covariate_sum_products,
  SUM(rev) AS revenue__sum, SUM(rev * rev) AS revenue__sum_squares,
  SUM(pre_rev) AS revenue__covariate_sum, SUM(pre_rev * pre_rev) AS revenue__covariate_sum_squares,
  SUM(pre_rev * rev) AS revenue__covariate_sum_products,
  SUM(clicks) AS clicks__sum, SUM(clicks * clicks) AS clicks__sum_squares,
  SUM(pre_clicks) AS clicks__covariate_sum,
  SUM(pre_clicks * pre_clicks) AS clicks__covariate_sum_squares,
  SUM(pre_clicks * clicks) AS clicks__covariate_sum_products,
  {ratio_columns("aov", "rev", "orders")},
  {ratio_columns("clicks_per_session", "clicks", "sessions")}
FROM u GROUP BY variant ORDER BY variant"""  # noqa: S608


def run_psql(dsn: str, sql: str) -> tuple[float, dict]:
    began = time.perf_counter()
    done = subprocess.run(
        ["psql", dsn, "-X", "-q", "-A", "-F", "\t", "-P", "footer=off", "-c", sql],
        capture_output=True,
        text=True,
        check=True,
    )
    seconds = time.perf_counter() - began
    header, *rows = done.stdout.strip().splitlines()
    names = header.split("\t")
    out: dict = {}
    for row in rows:
        values = dict(zip(names, row.split("\t"), strict=True))
        variant = values.pop("variant")
        users = int(values.pop("users"))
        for column, value in values.items():
            key, field = column.split("__")
            out.setdefault(key, {}).setdefault(variant, {"users": users})[field] = float(value)
    return seconds, out


def setup_ours(dsn: str, workdir: Path):
    os.environ.update(
        DJANGO_SETTINGS_MODULE="mlprojects.settings.base",
        DATABASE_URL=f"sqlite:///{workdir / 'bench.sqlite3'}",
        MEDIA_ROOT=str(workdir / "media"),
        CELERY_TASK_ALWAYS_EAGER="true",
        CELERY_BROKER_URL="memory://",
        LOG_LEVEL="WARNING",
    )
    import django

    django.setup()
    from django.core.management import call_command

    from accounts.services import organization_create, user_signup
    from evaluation.abtests import services
    from evaluation.models import ABTest
    from mlprojects.lifecycle.services import project_create

    call_command("migrate", verbosity=0)
    author, org = user_signup(
        email="author@example.com", password="x" * 20, organization_name="Bench"
    )
    org = org or organization_create(name="Bench", owner=author)
    reviewer, _ = user_signup(email="reviewer@example.com", password="y" * 20)
    project = project_create(org=org, user=author, name="Bench")
    abtest = services.abtest_create(
        project=project,
        user=author,
        name="Checkout",
        hypothesis="Faster checkout sells more.",
        variants=[{"key": "control", "allocation": 0.5}, {"key": "treatment", "allocation": 0.5}],
        metrics=[
            {"key": key, "type": kind, "role": "primary" if i == 0 else "secondary"}
            for i, (key, kind, _, _) in enumerate(METRICS)
        ],
    )
    services.abtest_start(abtest=abtest, user=author)
    ABTest.objects.filter(pk=abtest.pk).update(started_at=START, stopped_at=END)
    url = "postgresql+psycopg://" + dsn.split("://", 1)[1]
    source = services.data_source_create(
        org=org, user=author, name="dwh", url=url, statement_timeout_ms=3_600_000
    )

    def approved(name, kind, sql, metric_type="", denominator=""):
        query = services.query_create(
            org=org,
            user=author,
            data_source=source,
            name=name,
            kind=kind,
            metric_type=metric_type,
            sql=sql,
            denominator_sql=denominator,
        )
        services.query_version_review(
            version=query.versions.get(), user=reviewer, decision="approve"
        )
        return query

    services.abtest_queries_set(
        abtest=ABTest.objects.get(pk=abtest.pk),
        user=author,
        exposure_query=approved("exposures", "exposure", EXPOSURES),
        metric_queries={
            key: approved(key, "metric", sql, kind, denominator)
            for key, kind, sql, denominator in METRICS
        },
        conversion_window_hours=WINDOW_HOURS,
        cuped_lookback_days=LOOKBACK_DAYS,
    )
    return ABTest.objects.get(pk=abtest.pk), author


def refresh_ours(abtest, user) -> tuple[float, dict]:
    from evaluation.abtests import jobs, services
    from evaluation.models import ABResult

    began = time.perf_counter()
    refresh = services.abtest_refresh_request(abtest=abtest, user=user, enqueue=False)
    refresh = jobs.abtest_refresh_run(refresh_id=refresh.pk)
    seconds = time.perf_counter() - began
    if refresh.status != "succeeded":
        raise SystemExit(f"the refresh {refresh.status}: {refresh.error}")
    out: dict = {}
    for row in ABResult.objects.filter(metric__abtest=abtest).select_related("metric", "variant"):
        out.setdefault(row.metric.key, {})[row.variant.key] = row.as_stats()
    return seconds, out


def same(ours: dict, psql: dict) -> None:
    for key, per_variant in psql.items():
        for variant, fields in per_variant.items():
            for field, value in fields.items():
                got = float(ours[key][variant][field])
                if abs(got - value) > 1e-9 * max(1.0, abs(value)):
                    raise SystemExit(f"{key}/{variant}/{field}: ours {got} vs psql {value}")


def main() -> None:
    default_exposures = int(os.environ.get("BENCH_WAREHOUSE_EXPOSURES", 200_000))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--exposures", type=int, default=default_exposures)
    parser.add_argument(
        "--events",
        type=int,
        default=int(os.environ.get("BENCH_WAREHOUSE_EVENTS", 3 * default_exposures)),
    )
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    args = parser.parse_args()

    name = f"bench_warehouse_{os.getpid()}"
    admin = psycopg.connect(ADMIN, autocommit=True)
    admin.execute(f'CREATE DATABASE "{name}"')
    dsn = ADMIN.rsplit("/", 1)[0] + f"/{name}"
    try:
        began = time.perf_counter()
        generate(dsn, args.exposures, args.events)
        print(
            f"generated {args.exposures:,} exposures and {args.events:,} events "
            f"in {time.perf_counter() - began:.1f} s"
        )
        with tempfile.TemporaryDirectory() as workdir:
            abtest, user = setup_ours(dsn, Path(workdir))
            sql = hand_tuned_sql()
            # Warm-up of both (caches, plans), then the timed runs.
            refresh_ours(abtest, user)
            run_psql(dsn, sql)
            ours_seconds, ours = refresh_ours(abtest, user)
            psql_seconds, psql = run_psql(dsn, sql)
            same(ours, psql)
        print(f"refresh end to end (5 metrics, CUPED): {ours_seconds:.2f} s")
        print(f"one hand-tuned statement via psql:     {psql_seconds:.2f} s")
        print("same aggregates: yes")
        print(f"warehouse_refresh_vs_psql: {ours_seconds / psql_seconds:.2f}x (goal <= 2)")
    finally:
        if not args.keep:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


if __name__ == "__main__":
    main()
