"""The published API schema is the API's behaviour: schemathesis (its `st` command line)
generates requests for every operation of /api/schema/ (the schema's examples; boundary
values, wrong types and missing fields for each parameter and body field; then random
valid and invalid requests) and sends them to a live gunicorn server as the owner of a
seeded organization with a write API token. A server error, a status, content type or body
that the schema does not document, an invalid request that is accepted, or an error of
schemathesis itself fails the test, and schemathesis' report is printed.

Bounded by the number of cases, not by a clock, so every operation is always tested and it
runs in every `make test` (in one test process: it starts its own server): the schema's
examples; the coverage phase (for every operation and parameter, boundary values, each
wrong type and missing required fields: about 8,000 cases); then SCHEMA_FUZZ_EXAMPLES
random valid and invalid requests per operation (default 5). About two minutes, with
deterministic generation (the same cases every run, so a CI failure reproduces).
SCHEMA_FUZZ_EXAMPLES=100 digs deeper; SCHEMA_FUZZ_PHASES narrows the phases."""

import os
import socket
import subprocess
import time

import pytest
import requests
from django.core.management import call_command

from accounts.permissions import Role
from accounts.services import api_token_create
from tests.factories import MembershipFactory, OrganizationFactory, ProjectFactory, UserFactory
from tests.worker import BASE_DIR, database_url

EXAMPLES = int(os.environ.get("SCHEMA_FUZZ_EXAMPLES", "5"))
# The schema's examples; the coverage phase (for every operation and parameter: boundary
# values, each wrong type, missing required fields; deterministic); the fuzzing phase
# (SCHEMA_FUZZ_EXAMPLES generated requests per operation, valid and invalid).
PHASES = os.environ.get("SCHEMA_FUZZ_PHASES", "examples,coverage,fuzzing")
# Only a guard against a hung run: the cases are bounded by count, not time.
TIMEOUT_S = int(os.environ.get("SCHEMA_FUZZ_TIMEOUT", "1800"))

# The server writes to the test database, so it must exist (pytest-django creates only the
# databases that marked tests use) and be flushed afterwards. Under pytest-xdist
# (`make test`) it runs in a group of its own, so one test process holds the server.
pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.xdist_group("schema-fuzz"),
]

# The checks run on every response. Not run:
# - positive_data_acceptance expects every request matching the schema to succeed, but
#   the ids generated for paths are random numbers that mostly name no object of the
#   organization, and rightly answer the documented 404;
# - the stateful checks (use_after_free, ensure_resource_availability,
#   object_level_authorization) need the stateful phase, which chains operations through
#   links the schema does not declare; tenancy has its own sweep (tests/test_tenancy*.py).
CHECKS = [
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "response_headers_conformance",
    "negative_data_rejection",
    "missing_required_header",
    "unsupported_method",
    "ignored_auth",
    "allow_header_conformance",
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def server(django_db_setup, django_db_blocker, tmp_path_factory):
    """gunicorn serving the test database, seeded once with an organization, its owner,
    a project and the owner's write token: (base URL, token). A real server process, so
    no test transaction hides a database error and nothing is flushed between cases."""
    with django_db_blocker.unblock():
        org = OrganizationFactory(name="Fuzz", slug="fuzz")
        owner = UserFactory(email="owner@fuzz.test")
        MembershipFactory(organization=org, user=owner, role=Role.OWNER)
        ProjectFactory(organization=org, owner=owner, name="Fuzzed")
        _, raw = api_token_create(org=org, user=owner, name="fuzz", scope="write")
        port = _free_port()
        log = tmp_path_factory.mktemp("fuzz") / "gunicorn.log"
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "mlprojects.settings.test",
            "DATABASE_URL": database_url(),
            "PORT": str(port),
            "HOST": "127.0.0.1",
            "WEB_CONCURRENCY": "2",
            # No worker replaced mid-run: booting one (importing the app) costs seconds.
            "GUNICORN_MAX_REQUESTS": "0",
            "API_THROTTLE_USER": "1000000/min",
            "API_THROTTLE_ANON": "1000000/min",
            "LOG_FORMAT": "text",
        }
        with log.open("w") as out:
            process = subprocess.Popen(
                [str(BASE_DIR / ".venv/bin/gunicorn"), "mlprojects.wsgi"],
                cwd=BASE_DIR,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_until_serving(url, process, log)
            yield url, raw, log
        finally:
            process.terminate()
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=30)
            call_command("flush", interactive=False, verbosity=0)


def _wait_until_serving(url: str, process: subprocess.Popen, log) -> None:
    # Generous: on a loaded machine booting the workers (importing the app) takes minutes.
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"gunicorn exited:\n{log.read_text()}")
        try:
            requests.get(f"{url}/healthz", timeout=30)
            return
        except requests.RequestException:
            time.sleep(0.5)
    pytest.fail(f"gunicorn did not start:\n{log.read_text()}")


def test_every_operation_matches_the_schema(server, tmp_path):
    url, token, log = server
    # The schema is fetched here, with a generous timeout: a worker builds it on its first
    # request, which on a loaded machine can outlast schemathesis' own 10 s loading timeout.
    schema = tmp_path / "schema.json"
    schema.write_bytes(requests.get(f"{url}/api/schema/?format=json", timeout=180).content)
    command = [
        str(BASE_DIR / ".venv/bin/st"),
        "run",
        str(schema),
        "--url",
        url,
        "--header",
        f"Authorization: Bearer {token}",
        "--checks",
        ",".join(CHECKS),
        "--max-examples",
        str(EXAMPLES),
        "--generation-deterministic",
        "--phases",
        PHASES,
        # One worker: with two, schemathesis' threads run Hypothesis' ast.parse of lambda
        # sources at once, which CPython 3.11 can fail with "AST constructor recursion depth
        # mismatch" - a crash of the fuzzer, not a finding about the API.
        "--workers",
        "1",
        "--no-shrink",
        "--request-timeout",
        "30",
        "--suppress-health-check",
        "all",
        "--no-color",
        "--continue-on-failure",
    ]
    done = subprocess.run(
        command,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        env={**os.environ, "SCHEMATHESIS_HOOKS": ""},
    )
    if done.returncode:
        pytest.fail(
            f"schemathesis found failures:\n{_report(done.stdout)[-60000:]}\n"
            f"{done.stderr[-3000:]}\n--- server log ---\n{log.read_text(errors='replace')[-5000:]}",
            pytrace=False,
        )
    print(done.stdout[-3000:])


def _report(output: str) -> str:
    """schemathesis' report without its long WARNINGS section (the operations that mostly
    answered 404, which is expected): the ERRORS (with tracebacks), the FAILURES (with
    their curl lines) and the SUMMARY."""
    warnings = output.find("=== WARNINGS ===")
    summary = output.find("=== SUMMARY ===")
    if warnings == -1 or summary < warnings:
        return output
    return output[:warnings] + output[summary:]
