"""A real S3-compatible server for the storage tests: S3_TEST_ENDPOINT_URL when CI gives
one (.ci/run starts moto's standalone server), otherwise a `moto_server` process started
here on a free loopback port. Without either the tests skip, unless REQUIRE_SERVICES=1."""

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlprojects.settings.storage import S3_BACKEND

# moto accepts any credentials; these keep boto3 from looking for real ones.
TEST_CREDENTIALS = {"access_key": "testing", "secret_key": "testing"}
TEST_REGION = "us-east-1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1):  # noqa: S310 - our own loopback URL
            return True
    except OSError:
        return False


def _moto_server_command() -> list[str] | None:
    local = Path(sys.executable).with_name("moto_server")
    if local.exists():
        return [str(local)]
    found = shutil.which("moto_server")
    return [found] if found else None


def _unavailable(reason: str) -> None:
    if os.environ.get("REQUIRE_SERVICES") == "1":
        pytest.fail(f"{reason} (REQUIRE_SERVICES=1)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def s3_endpoint(tmp_path_factory) -> Iterator[str]:
    """The URL of a running S3-compatible server."""
    url = os.environ.get("S3_TEST_ENDPOINT_URL", "").rstrip("/")
    if url:
        if not _answers(url):
            pytest.fail(f"S3_TEST_ENDPOINT_URL={url} does not answer.")
        yield url
        return
    command = _moto_server_command()
    if command is None:
        _unavailable("No S3-compatible server: S3_TEST_ENDPOINT_URL is unset, moto_server absent")
    port = free_port()
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    with log.open("wb") as out:
        process = subprocess.Popen(  # noqa: S603 - fixed command
            [*command, "-H", "127.0.0.1", "-p", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while not _answers(url):
            if process.poll() is not None or time.monotonic() > deadline:
                _unavailable(f"moto_server did not start: {log.read_text(errors='replace')}")
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def make_bucket(endpoint: str) -> str:
    import boto3

    name = f"test-{uuid.uuid4().hex[:16]}"
    boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=TEST_REGION,
        aws_access_key_id=TEST_CREDENTIALS["access_key"],
        aws_secret_access_key=TEST_CREDENTIALS["secret_key"],
    ).create_bucket(Bucket=name)
    return name


@pytest.fixture
def s3_storage(s3_endpoint, settings):
    """The default storage is a fresh bucket on the S3 server for this test."""
    bucket = make_bucket(s3_endpoint)
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": S3_BACKEND,
            "OPTIONS": {
                "bucket_name": bucket,
                "endpoint_url": s3_endpoint,
                "region_name": TEST_REGION,
                "file_overwrite": False,
                **TEST_CREDENTIALS,
            },
        },
    }
    from django.core.files.storage import default_storage

    assert default_storage.bucket.name == bucket
    return default_storage
