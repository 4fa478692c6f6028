"""Load: many members using the app at once, as production runs it — gunicorn (2 workers)
with production settings on PostgreSQL and Redis, holding 100× the demo organization's
data (`generate_scale_data --factor 100`).

    python bench/bench_load.py
    python bench/bench_load.py --users 50 --duration 2m --factor 100
    python bench/bench_load.py --postgres-url postgres://postgres@127.0.0.1:5432

Phase 1 (mixed): --users locust users for --duration — project pages, the dashboard, the
project's lists (runs, evaluations, A/B tests, proposals), the API lists, run logging
(log-batch, 50 values a request) and comments. Phase 2, after one pass over every
project page (what the mixed phase's comments made stale is rendered anew): --focus-users
users reading project pages only, for --focus-duration, signed in before it starts (the
mixed phase measures sign-ins and stale pages); its p95 is compared with the goal (150 ms).
Before the load, bench/query_counts.py prints the database queries of each page with 1 and
with 100 rows of what it lists. Prints requests/s, p50/p95 and errors per endpoint group,
the ratio p95 / goal, and exits non-zero when a request failed or a page's queries grew
with its rows. The database (--db-name, mlprojects_bench) is kept between
runs (the data commands are idempotent); gunicorn and locust are stopped when it ends,
however it ends.
"""

import argparse
import csv
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from logins import LOGINS, ORG, sign_in
from servers import free_port, start, stop, wait_until_up  # the same process handling

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
DB_NAME = "mlprojects_bench"
GOAL_P95_MS = 150


def manage(env: dict, *args: str, timeout: int = 600) -> str:
    done = subprocess.run(
        [PY, "manage.py", *args], env=env, cwd=ROOT, capture_output=True, text=True,
        timeout=timeout,
    )  # fmt: skip
    if done.returncode:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return done.stdout


def prepare_database(postgres_url: str, name: str) -> str:
    import psycopg

    with psycopg.connect(f"{postgres_url}/postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')
    return f"{postgres_url}/{name}"


FIXTURE = """
import json
import secrets
from accounts.models import Organization, User
from accounts.services import api_token_create
from evaluation.models import Run
from mlprojects.models import Project
org = Organization.objects.get(slug="demo")
user = User.objects.get(email="member@example.com")
_, raw = api_token_create(org=org, user=user, name=f"bench {secrets.token_hex(4)}", scope="write")
projects = list(Project.objects.filter(organization=org).values_list("pk", "slug"))
runs = list(Run.objects.filter(project__organization=org).values_list("pk", flat=True)[:500])
print(json.dumps({"token": raw, "projects": projects, "runs": runs}))
"""


def run_locust(
    host: str, env: dict, users: int, duration: str, workdir: Path, phase: str, user_class: str
):
    prefix = workdir / phase
    cmd = [
        PY, "-m", "locust", "-f", str(ROOT / "bench" / "locust_load.py"), user_class, "--headless",
        "-u", str(users), "-r", "10", "-t", duration, "--host", host,
        "--csv", str(prefix), "--only-summary", "--stop-timeout", "10", "--loglevel", "WARNING",
    ]  # fmt: skip
    log = workdir / f"locust-{phase}.log"
    proc = start(cmd, env, log)
    try:
        seconds = parse_duration(duration)
        proc.wait(timeout=seconds + 90)
    except subprocess.TimeoutExpired:
        print(f"locust ({phase}) overran its time; stopped", flush=True)
    finally:
        stop(proc)
    stats = prefix.with_name(prefix.name + "_stats.csv")
    if not stats.exists():
        raise RuntimeError(f"locust wrote no stats:\n{log.read_text(errors='replace')[-3000:]}")
    with stats.open() as f:
        rows = list(csv.DictReader(f))
    failures = prefix.with_name(prefix.name + "_failures.csv")
    failed = failures.read_text() if failures.exists() else ""
    return rows, failed


def session_cookie(host: str, email: str) -> str:
    """The Cookie header of a session of `email` (a demo login), signed in through the
    login form as a browser does."""
    import requests

    with requests.Session() as session:
        answer = sign_in(session, host, email, timeout=60)
        if answer.status_code != 200 or "sessionid" not in session.cookies:
            raise RuntimeError(f"could not sign in as {email}: {answer.status_code}")
        return "; ".join(f"{name}={value}" for name, value in session.cookies.items())


def warm_up(host: str, cookie: str, projects: list) -> None:
    """Each project page once, one after another, before the focus phase: the server
    finishes what the mixed phase left queued, and the pages whose stored copy its
    comments made stale are rendered anew."""
    import requests

    took = []
    with requests.Session() as session:
        for _, slug in projects:
            began = time.monotonic()
            session.get(f"{host}/o/{ORG}/projects/{slug}/", headers={"Cookie": cookie}, timeout=60)
            took.append(time.monotonic() - began)
    took.sort()
    print(
        f"warm-up: {len(took)} project pages in {sum(took):.0f}s "
        f"(p50 {took[len(took) // 2] * 1000:.0f} ms, max {took[-1] * 1000:.0f} ms)",
        flush=True,
    )


def parse_duration(text: str) -> int:
    units = {"s": 1, "m": 60, "h": 3600}
    return int(text[:-1]) * units[text[-1]] if text[-1] in units else int(text)


def report(title: str, rows: list[dict]) -> None:
    print(f"\n{title}")
    print(
        f"{'endpoint group':<24}{'requests':>10}{'req/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'errors':>8}"
    )
    for row in rows:
        name = row["Name"] if row["Name"] != "Aggregated" else "all"
        print(
            f"{name:<24}{row['Request Count']:>10}{float(row['Requests/s']):>9.1f}"
            f"{row['50%']:>9}{row['95%']:>9}{row['Failure Count']:>8}"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres-url", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--db-name", default=DB_NAME, help="the PostgreSQL database (kept)")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/14")
    parser.add_argument("--factor", type=int, default=100)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--duration", default="2m")
    parser.add_argument("--focus-users", type=int, default=20)
    parser.add_argument("--focus-duration", default="1m")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="mlprojects-bench-load-"))
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "mlprojects.settings.production",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": prepare_database(args.postgres_url.rstrip("/"), args.db_name),
        "CELERY_BROKER_URL": args.redis_url,
        "REDIS_URL": args.redis_url,
        "SECURE_SSL_REDIRECT": "false",
        "SECURE_COOKIES": "false",
        "SECURE_HSTS_SECONDS": "0",
        "LOG_FORMAT": "text",
        "WEB_CONCURRENCY": str(args.workers),
        # Every simulated user logs in from 127.0.0.1 and shares the API token: the
        # per-address and per-user limits would measure themselves, not the app.
        "API_THROTTLE_USER": "1000000/min",
        "API_THROTTLE_ANON": "1000000/min",
    }
    gunicorn = None
    try:
        started = time.monotonic()
        for step in (
            ["migrate", "--noinput"],
            ["collectstatic", "--noinput"],
            ["load_demo"],
            ["generate_scale_data", "--factor", str(args.factor)],
        ):
            if step[0] == "collectstatic" and (ROOT / "staticfiles" / "staticfiles.json").exists():
                continue  # minutes on a busy machine; `make clean` removes it
            began = time.monotonic()
            manage(env, *step, timeout=900)
            print(f"{step[0]}: {time.monotonic() - began:.0f}s", flush=True)
        fixture = json.loads(manage(env, "shell", "-c", FIXTURE).strip().splitlines()[-1])
        print(
            f"data ready in {time.monotonic() - started:.0f}s: {len(fixture['projects'])} "
            f"projects (factor {args.factor})",
            flush=True,
        )

        counted = subprocess.run(
            [PY, str(ROOT / "bench" / "query_counts.py")],
            env=env, cwd=ROOT, capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        if counted.returncode not in (0, 1):
            raise RuntimeError(f"query_counts.py failed:\n{counted.stderr[-3000:]}")
        print("\nDatabase queries per page (bench/query_counts.py):")
        print(counted.stdout, flush=True)

        port = free_port()
        host = f"http://127.0.0.1:{port}"
        log = workdir / "gunicorn.log"
        gunicorn = start(
            [PY, "-m", "gunicorn", "mlprojects.wsgi"],
            {**env, "HOST": "127.0.0.1", "PORT": str(port)},
            log,
        )
        wait_until_up(f"{host}/healthz", gunicorn, log)
        cookies = [session_cookie(host, email) for email in LOGINS]
        locust_env = {
            **env,
            "BENCH_SESSIONS": json.dumps(cookies),
            "BENCH_TOKEN": fixture["token"],
            "BENCH_PROJECTS": json.dumps(fixture["projects"]),
            "BENCH_RUNS": json.dumps(fixture["runs"]),
        }
        mixed, mixed_failed = run_locust(
            host, locust_env, args.users, args.duration, workdir, "mixed", "Member"
        )
        warm_up(host, cookies[0], fixture["projects"])
        focus, focus_failed = run_locust(
            host,
            locust_env,
            args.focus_users,
            args.focus_duration,
            workdir,
            "focus",
            "ProjectReader",
        )
    finally:
        if gunicorn is not None:
            stop(gunicorn)

    report(
        f"Mixed load: {args.users} users, {args.duration}, {args.workers} gunicorn workers", mixed
    )
    report(f"Project page: {args.focus_users} users, {args.focus_duration}", focus)
    page = next(row for row in focus if row["Name"] == "page: project")
    p95 = float(page["95%"])
    print(
        f"\nproject page p95 at {args.focus_users} users: {p95:.0f} ms; "
        f"goal {GOAL_P95_MS} ms; ratio p95/goal {p95 / GOAL_P95_MS:.2f} "
        f"({'met' if p95 <= GOAL_P95_MS else 'NOT met'})"
    )
    errors = sum(int(row["Failure Count"]) for row in mixed + focus if row["Name"] == "Aggregated")
    print(f"errors: {errors} (logs in {workdir})")
    if mixed_failed.count("\n") > 1 or focus_failed.count("\n") > 1:
        print(mixed_failed + focus_failed)
    return 1 if errors or counted.returncode else 0


if __name__ == "__main__":
    sys.exit(main())
