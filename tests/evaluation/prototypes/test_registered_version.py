"""A prototype whose endpoint is a registered model version: the model is logged and
registered with the unchanged mlflow client through our /mlflow (live server), served from
the registry (`models:/name/1`, downloaded through our artifact proxy) by
`mlflow models serve --env-manager local` on a loopback port, and picked on the settings
page: the input fields come from the version's MLflow signature, and the page's answers
equal the model's own `predict` on the same inputs.

The scoring server needs the interpreter of a venv with full mlflow (MLFLOW_SERVE_PYTHON);
see test_mlflow_server.py."""

import os
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from evaluation.models import ModelVersion, PrototypeEndpoint
from evaluation.prototypes.models import AllowedHost, PrototypeCall
from evaluation.registry import services as registry
from tests.evaluation.prototypes.test_mlflow_server import START_TIMEOUT, _free_port, _python
from tests.evaluation.runs.conftest import token_for, tracking, use_token  # noqa: F401 (fixtures)
from tests.factories import RunFactory

mlflow = pytest.importorskip("mlflow")
sklearn = pytest.importorskip("sklearn")

pytestmark = pytest.mark.django_db(transaction=True)

BASE = "/o/acme/projects/menu-recommender/prototype/"
COLUMNS = ["sepal_length", "sepal_width", "petal_length", "petal_width"]


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def _serve(python: str, model_uri: str, env: dict) -> tuple[subprocess.Popen, str]:
    bin_dir = str(Path(python).parent)
    port = _free_port()
    server = subprocess.Popen(
        [str(Path(bin_dir) / "mlflow"), "models", "serve", "-m", model_uri,
         "--env-manager", "local", "-h", "127.0.0.1", "-p", str(port)],
        env={**env, "PATH": bin_dir + os.pathsep + env.get("PATH", "")},
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=2)
            return server, f"http://127.0.0.1:{port}"
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                os.killpg(server.pid, 15)
                raise RuntimeError(server.stderr.read().decode()[-3000:]) from None
            time.sleep(1)


@pytest.mark.usefixtures("tracking")  # the mlflow client logs as `member`
def test_a_registered_version_fills_the_form_and_answers_as_its_model_predicts(
    project, member, org, client_for
):
    python = _python()
    import numpy as np
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    X, y = load_iris(return_X_y=True, as_frame=True)
    X.columns = COLUMNS
    names = np.array(["setosa", "versicolor", "virginica"])
    model = LogisticRegression(max_iter=500).fit(X, names[y])
    mlflow.set_experiment(project.slug)
    with mlflow.start_run():
        mlflow.sklearn.log_model(
            model, name="clf", input_example=X.head(2), registered_model_name="iris",
            serialization_format="cloudpickle",
        )  # fmt: skip
    version = ModelVersion.objects.get(registered_model__name="iris", version=1)

    # Served from the registry: the scoring server downloads the files through /mlflow.
    server, base = _serve(python, "models:/iris/1", dict(os.environ))
    try:
        AllowedHost.objects.create(organization=org, host="127.0.0.1", allow_private=True)
        client = client_for(member)
        response = client.post(
            BASE + "settings/",
            {"model_version": version.pk, "url": base + "/invocations", "protocol": "json",
             "output_kind": "class", "top_k": 5},
        )  # fmt: skip
        assert response.status_code == 302, response.content.decode()[-2000:]
        endpoint = PrototypeEndpoint.objects.get(project=project)
        assert endpoint.model_version == version
        assert endpoint.protocol == "mlflow_split"  # what `mlflow models serve` speaks
        assert endpoint.fields == [{"name": c, "type": "number"} for c in COLUMNS]
        page = client.get(BASE).content.decode()
        assert 'name="petal_width"' in page and "iris v1" in page

        rows = X.iloc[[0, 60, 70, 83, 120, 133]]
        for row in rows.to_dict("records"):
            answer = client.post(BASE + "try/", row, HTTP_HX_REQUEST="true")
            assert answer.status_code == 200
        calls = PrototypeCall.objects.order_by("id")
        assert [c.error for c in calls] == [""] * len(rows)
        assert [c.answer["label"] for c in calls] == model.predict(rows).tolist()
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=30)


def test_a_version_without_a_signature_keeps_the_fields_and_says_so(
    project, member, org, client_for
):
    run = RunFactory(project=project, created_by=member)
    model = registry.registered_model_create(org=org, user=member, name="bare", project=project)
    source = registry.resolve_source(org=org, source=f"runs:/{run.pk}/model")
    version = registry.version_create(
        model=model, user=member, source=source, source_text=f"runs:/{run.pk}/model"
    )
    registry.version_update(version=version, tags={"serving_url": "https://m.example.com/inv"})
    client = client_for(member)
    response = client.post(
        BASE + "settings/",
        {"model_version": version.pk, "url": "", "protocol": "json", "output_kind": "class",
         "top_k": 5},
        follow=True,
    )  # fmt: skip
    assert "has no MLflow signature" in response.content.decode()
    endpoint = PrototypeEndpoint.objects.get(project=project)
    assert endpoint.url == "https://m.example.com/inv"  # from the version's serving_url tag
    assert endpoint.fields == []


def test_another_organizations_version_cannot_be_picked(
    project, member, client_for, other_project, outsider
):
    run = RunFactory(project=other_project, created_by=outsider)
    org = other_project.organization
    model = registry.registered_model_create(
        org=org, user=outsider, name="s", project=other_project
    )
    source = registry.resolve_source(org=org, source=f"runs:/{run.pk}/model")
    stranger = registry.version_create(model=model, user=outsider, source=source, source_text="x")
    response = client_for(member).post(
        BASE + "settings/",
        {"model_version": stranger.pk, "url": "https://m.example.com/inv", "protocol": "json",
         "output_kind": "class", "top_k": 5},
    )  # fmt: skip
    assert response.status_code == 200  # the form again, with the error
    assert "Select a valid choice" in response.content.decode()
    assert not PrototypeEndpoint.objects.filter(model_version=stranger).exists()
