"""The production way, end to end: production settings, gunicorn, a Celery worker and beat
as real processes, PostgreSQL, Redis and an S3-compatible bucket (moto's server). An API
token uploads a 50 MB predictions file, the worker evaluates it from the bucket, and the
file downloads back unchanged. Skipped without PostgreSQL and Redis unless
REQUIRE_SERVICES=1 (CI)."""

import hashlib
import http.client
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import numpy as np
import pytest

from tests.mlprojects.site.test_production import production_env
from tests.mlprojects.site.test_startup import BASE_DIR, GUNICORN
from tests.s3 import TEST_CREDENTIALS, TEST_REGION, free_port, make_bucket
from tests.worker import redis_available, services_required

pytestmark = pytest.mark.worker

PG_ADMIN_URL = os.environ.get("SMOKE_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
BROKER_URL = os.environ.get("CELERY_BROKER_URL", "redis://127.0.0.1:6379/15")
CELERY = Path(sys.executable).with_name("celery")
TARGET_BYTES = 50 * 1024 * 1024


def _unavailable(reason: str) -> None:
    if services_required():
        pytest.fail(f"{reason} (REQUIRE_SERVICES=1)")
    pytest.skip(reason)


@pytest.fixture
def database():
    """A PostgreSQL database of this test's own, dropped afterwards."""
    import psycopg

    name = f"mlprojects_smoke_{uuid.uuid4().hex[:10]}"
    try:
        admin = psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        _unavailable(f"PostgreSQL is not reachable at {PG_ADMIN_URL}: {exc}")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def predictions_csv(path: Path) -> bytes:
    """About 50 MB of binary-classification predictions with a feature to slice by."""
    rng = np.random.default_rng(7)
    n = 100_000
    label = rng.random(n) < 0.3
    score = np.clip(0.3 + 0.35 * label + rng.normal(0, 0.2, n), 0, 1)
    segment = rng.integers(0, 4, n)
    # One block of rows, written again and again: fast to make, and the same metrics.
    block = "".join(
        f"{int(y)},{s:.6f},s{g}\n" for y, s, g in zip(label, score, segment, strict=True)
    ).encode()
    digest = hashlib.sha256()
    with path.open("wb") as out:
        header = b"label,score,segment\n"
        out.write(header)
        digest.update(header)
        written = len(header)
        while written < TARGET_BYTES:
            out.write(block)
            digest.update(block)
            written += len(block)
    return digest.hexdigest().encode()


def request(port: int, method: str, path: str, token: str, body=None, headers=None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    connection.request(
        method,
        path,
        body=body,
        headers={"Host": "127.0.0.1", "Authorization": f"Bearer {token}", **(headers or {})},
    )
    return connection, connection.getresponse()


def multipart(fields: dict[str, str], file_path: Path, boundary: str):
    """A streamed multipart body: the form fields, then the file read in 1 MB pieces."""
    head = b""
    for key, value in fields.items():
        head += (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'
        ).encode()
    head += (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
        f'filename="predictions.csv"\r\nContent-Type: text/csv\r\n\r\n'
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    length = len(head) + file_path.stat().st_size + len(tail)

    def chunks():
        yield head
        with file_path.open("rb") as fh:
            while piece := fh.read(1 << 20):
                yield piece
        yield tail

    return chunks(), length


def test_production_processes_evaluate_a_50_mb_upload_from_the_bucket(
    database, s3_endpoint, tmp_path
):
    if not redis_available(BROKER_URL):
        _unavailable(f"Redis is not reachable at {BROKER_URL}")
    port = free_port()
    bucket = make_bucket(s3_endpoint)
    env = production_env(
        DATABASE_URL=database,
        CELERY_BROKER_URL=BROKER_URL,
        REDIS_URL=BROKER_URL,
        CELERY_TASK_DEFAULT_QUEUE=f"smoke-{uuid.uuid4().hex[:10]}",
        ALLOWED_HOSTS="127.0.0.1",
        SECURE_SSL_REDIRECT="false",
        SECURE_COOKIES="false",
        STORAGE_URL=f"s3://{bucket}/prod?endpoint_url={s3_endpoint}&region={TEST_REGION}",
        AWS_ACCESS_KEY_ID=TEST_CREDENTIALS["access_key"],
        AWS_SECRET_ACCESS_KEY=TEST_CREDENTIALS["secret_key"],
        HOST="127.0.0.1",
        PORT=str(port),
        WEB_CONCURRENCY="2",
        LOG_FORMAT="text",
    )

    def manage(*args: str, code: str | None = None) -> str:
        command = [sys.executable, "manage.py", *args] + (["-c", code] if code else [])
        done = subprocess.run(  # noqa: S603 - fixed command
            command, cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    manage("migrate", "--noinput")
    token = manage(
        "shell",
        code=(
            "from accounts.models import User; from accounts.services import "
            "organization_create, api_token_create; from mlprojects.lifecycle.services "
            "import project_create\n"
            "u = User.objects.create_user(email='ops@example.com', password='x' * 20)\n"
            "org = organization_create(name='Ops', owner=u)\n"
            "p = project_create(org=org, user=u, name='Smoke')\n"
            "t, raw = api_token_create(org=org, user=u, name='smoke', scope='write')\n"
            "print(p.pk, raw)"
        ),
    ).split()
    project_id, token = token[-2], token[-1]

    logs = {name: (tmp_path / f"{name}.log").open("w") for name in ("web", "worker", "beat")}
    commands = {
        "web": [str(GUNICORN), "mlprojects.wsgi"],
        "worker": [str(CELERY), "-A", "mlprojects.celery", "worker", "--concurrency=1"],
        "beat": [
            str(CELERY),
            "-A",
            "mlprojects.celery",
            "beat",
            "--schedule",
            str(tmp_path / "beat-schedule"),
        ],
    }
    processes = {
        name: subprocess.Popen(  # noqa: S603 - fixed commands
            command,
            cwd=BASE_DIR,
            env=env,
            stdout=logs[name],
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        for name, command in commands.items()
    }

    def log_of(name: str) -> str:
        return (tmp_path / f"{name}.log").read_text(errors="replace")[-4000:]

    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                connection, response = request(port, "GET", "/healthz", token)
                response.read()
                connection.close()
                if response.status == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, log_of("web")
            time.sleep(0.3)

        file_path = tmp_path / "predictions.csv"
        digest = predictions_csv(file_path)
        boundary = uuid.uuid4().hex
        body, length = multipart(
            {
                "task": "binary",
                "columns": json.dumps({"y_true": "label", "y_score": "score"}),
                "options": json.dumps({"slice_columns": ["segment"]}),
            },
            file_path,
            boundary,
        )
        connection, response = request(
            port,
            "POST",
            f"/api/v1/projects/{project_id}/evaluations/",
            token,
            body=body,
            headers={
                "Content-Type": f"multipart/form-data; boundary={boundary}",
                "Content-Length": str(length),
            },
        )
        answer = response.read()
        connection.close()
        assert response.status == 202, answer
        evaluation_id = json.loads(answer)["id"]

        deadline = time.monotonic() + 120
        while True:
            connection, response = request(
                port, "GET", f"/api/v1/evaluations/{evaluation_id}/", token
            )
            detail = json.loads(response.read())
            connection.close()
            if detail["status"] in ("succeeded", "failed"):
                break
            assert time.monotonic() < deadline, (detail, log_of("worker"))
            time.sleep(0.5)
        assert detail["status"] == "succeeded", (detail["error"], log_of("worker"))
        assert detail["info"]["rows"] > 1_000_000
        assert 0.5 < detail["metrics"]["roc_auc"] < 1.0
        assert detail["slices"]

        # The file is in the bucket, not on this machine's disk, and comes back unchanged.
        import boto3

        client = boto3.client(
            "s3",
            endpoint_url=s3_endpoint,
            region_name=TEST_REGION,
            aws_access_key_id=TEST_CREDENTIALS["access_key"],
            aws_secret_access_key=TEST_CREDENTIALS["secret_key"],
        )
        keys = [o["Key"] for o in client.list_objects_v2(Bucket=bucket)["Contents"]]
        assert len(keys) == 1 and keys[0].startswith("prod/evaluations/")
        connection, response = request(
            port, "GET", f"/api/v1/evaluations/{evaluation_id}/file/", token
        )
        downloaded = hashlib.sha256()
        while piece := response.read(1 << 20):
            downloaded.update(piece)
        connection.close()
        assert response.status == 200
        assert downloaded.hexdigest().encode() == digest
    finally:
        for process in processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in processes.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        for log in logs.values():
            log.close()
