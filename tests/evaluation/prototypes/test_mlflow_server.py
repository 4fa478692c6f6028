"""Against a real MLflow scoring server: a scikit-learn model saved with mlflow and served by
`mlflow models serve --env-manager local` on a loopback port. The prototype's answers (one
at a time through the page, and in batch) equal the model's own `predict`.

Needs the interpreter of a venv with full mlflow (requirements-mlflow-serve.txt) in
MLFLOW_SERVE_PYTHON; `make test` builds it. Skipped without it, except in CI
(REQUIRE_SERVICES=1), where it must run."""

import json
import os
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from evaluation.prototypes import services
from evaluation.prototypes.models import AllowedHost, PrototypeCall

HERE = Path(__file__).parent
BASE = "/o/acme/projects/menu-recommender/prototype/"
COLUMNS = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
START_TIMEOUT = 240


def _python() -> str:
    python = os.environ.get("MLFLOW_SERVE_PYTHON", "")
    if python and Path(python).exists():
        return python
    reason = "set MLFLOW_SERVE_PYTHON to a venv with requirements-mlflow-serve.txt"
    if os.environ.get("REQUIRE_SERVICES") == "1":
        pytest.fail(reason)
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def mlflow_server(tmp_path_factory):
    python = _python()
    bin_dir = str(Path(python).parent)
    model_dir = tmp_path_factory.mktemp("mlflow") / "model"
    fitted = subprocess.run(
        [python, str(HERE / "mlflow_model.py"), str(model_dir)],
        capture_output=True, text=True, timeout=300, check=True,
    )  # fmt: skip
    expected = json.loads(fitted.stdout.strip().splitlines()[-1])
    port = _free_port()
    env = {**os.environ, "PATH": bin_dir + os.pathsep + os.environ.get("PATH", "")}
    server = subprocess.Popen(
        [str(Path(bin_dir) / "mlflow"), "models", "serve", "-m", str(model_dir),
         "--env-manager", "local", "-h", "127.0.0.1", "-p", str(port)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=2)
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(server.stderr.read().decode()[-2000:]) from None
                time.sleep(1)
        yield f"http://127.0.0.1:{port}", expected
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=30)


@pytest.fixture
def iris_endpoint(request, project, member, org, owner, mlflow_server):
    base, expected = mlflow_server
    AllowedHost.objects.create(organization=org, host="127.0.0.1", allow_private=True)
    endpoint = services.endpoint_save(
        project=project,
        user=member,
        values={"url": base + "/invocations", "protocol": request.param, "output_kind": "class"},
    )
    fields = [{"name": c, "type": "number"} for c in COLUMNS]
    return services.endpoint_set_fields(endpoint=endpoint, fields=fields), expected


@pytest.mark.parametrize("iris_endpoint", ["mlflow_split", "mlflow_inputs"], indirect=True)
def test_the_pages_answers_equal_the_models_predict(iris_endpoint, member, client_for):
    _, expected = iris_endpoint
    client = client_for(member)
    for row in expected["rows"]:
        response = client.post(BASE + "try/", row, HTTP_HX_REQUEST="true")
        assert response.status_code == 200
    calls = PrototypeCall.objects.order_by("id")
    assert [c.error for c in calls] == [""] * len(expected["rows"])
    assert [c.answer["label"] for c in calls] == expected["predictions"]


@pytest.mark.parametrize("iris_endpoint", ["mlflow_split"], indirect=True)
def test_a_batch_is_one_request_answered_row_by_row(iris_endpoint):
    endpoint, expected = iris_endpoint
    header = ",".join(COLUMNS)
    lines = [",".join(str(r[c]) for c in COLUMNS) for r in expected["rows"]]
    result = services.prototype_batch(
        endpoint=endpoint, content="\n".join([header, *lines]).encode()
    )
    assert [r["model"]["label"] for r in result["rows"]] == expected["predictions"]
