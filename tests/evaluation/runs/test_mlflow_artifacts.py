"""Artifacts with the unchanged mlflow client against a live server: runs report
`mlflow-artifacts:/…` locations, files go up and come back through /mlflow's artifact proxy
into the storage API, scoped to the organization, with paths checked by the server."""

import json
import os
import threading
import tracemalloc

import pytest
import requests
from django.core.files.storage import default_storage

from evaluation.runs import artifacts

mlflow = pytest.importorskip("mlflow")
from mlflow.tracking import MlflowClient  # noqa: E402

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def stored(run_id: str, relative: str) -> bytes:
    from evaluation.models import Run

    run = Run.objects.select_related("project").get(pk=int(run_id))
    segments = artifacts.run_prefix(
        org_id=run.project.organization_id, project_id=run.project_id, run_id=run.pk
    )
    with default_storage.open(artifacts.storage_name([*segments, *relative.split("/")])) as f:
        return f.read()


def test_runs_and_experiments_report_artifact_locations_in_the_organization(tracking, org, project):
    experiment = mlflow.set_experiment(project.slug)
    assert experiment.artifact_location == f"mlflow-artifacts:/{org.pk}/{project.pk}"
    with mlflow.start_run() as run:
        pass
    uri = MlflowClient().get_run(run.info.run_id).info.artifact_uri
    assert uri == f"mlflow-artifacts:/{org.pk}/{project.pk}/{run.info.run_id}/artifacts"


def test_log_artifact_and_log_artifacts_upload_through_the_server(tracking, project, tmp_path):
    (tmp_path / "notes.txt").write_text("first model\n")
    folder = tmp_path / "plots"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.csv").write_text("x,y\n1,2\n")
    (folder / "sub" / "b.bin").write_bytes(bytes(range(256)))
    mlflow.set_experiment(project.slug)
    with mlflow.start_run() as run:
        mlflow.log_artifact(str(tmp_path / "notes.txt"))
        mlflow.log_artifact(str(tmp_path / "notes.txt"), artifact_path="docs")
        mlflow.log_artifacts(str(folder), artifact_path="plots")
    run_id = run.info.run_id

    assert stored(run_id, "notes.txt") == b"first model\n"
    assert stored(run_id, "plots/sub/b.bin") == bytes(range(256))
    client = MlflowClient()
    top = client.list_artifacts(run_id)
    assert [(f.path, f.is_dir, f.file_size) for f in top] == [
        ("docs", True, None),
        ("notes.txt", False, 12),
        ("plots", True, None),
    ]
    assert [f.path for f in client.list_artifacts(run_id, "plots")] == ["plots/a.csv", "plots/sub"]
    assert client.list_artifacts(run_id, "notes.txt") == []
    assert client.list_artifacts(run_id, "nothing-here") == []


def test_download_artifacts_brings_back_files_and_directories(tracking, project, tmp_path):
    source = tmp_path / "src"
    (source / "deep" / "er").mkdir(parents=True)
    (source / "deep" / "er" / "w.npy").write_bytes(os.urandom(5000))
    (source / "top.txt").write_text("hello")
    mlflow.set_experiment(project.slug)
    with mlflow.start_run() as run:
        mlflow.log_artifacts(str(source))
    out = tmp_path / "out"
    out.mkdir()

    path = mlflow.artifacts.download_artifacts(run_id=run.info.run_id, dst_path=str(out))
    assert (out / "top.txt").read_text() == "hello"
    assert (out / "deep" / "er" / "w.npy").read_bytes() == (
        source / "deep" / "er" / "w.npy"
    ).read_bytes()
    assert os.path.isdir(path)
    single = mlflow.artifacts.download_artifacts(
        artifact_uri=f"runs:/{run.info.run_id}/top.txt", dst_path=str(tmp_path / "one")
    )
    with open(single) as f:
        assert f.read() == "hello"
    assert mlflow.artifacts.load_text(f"runs:/{run.info.run_id}/top.txt") == "hello"


def test_log_dict_text_and_table_round_trip(tracking, project):
    pd = pytest.importorskip("pandas")
    mlflow.set_experiment(project.slug)
    with mlflow.start_run() as run:
        mlflow.log_dict({"lr": 0.1, "layers": [64, 32]}, "config.json")
        mlflow.log_dict({"a": 1}, "config/params.yaml")
        mlflow.log_text("precision is fine\n", "notes/summary.txt")
        mlflow.log_table(
            pd.DataFrame({"question": ["q1", "q2"], "score": [0.5, 0.9]}), "eval/table.json"
        )
    run_id = run.info.run_id

    assert mlflow.artifacts.load_dict(f"runs:/{run_id}/config.json") == {
        "lr": 0.1,
        "layers": [64, 32],
    }
    assert b"a: 1" in stored(run_id, "config/params.yaml")
    assert mlflow.artifacts.load_text(f"runs:/{run_id}/notes/summary.txt") == "precision is fine\n"
    table = json.loads(stored(run_id, "eval/table.json"))
    assert table["columns"] == ["question", "score"]
    assert table["data"] == [["q1", 0.5], ["q2", 0.9]]
    loaded = mlflow.load_table("eval/table.json", run_ids=[run_id])
    assert list(loaded["score"]) == [0.5, 0.9]


def test_log_figure_and_log_image_are_shown_inline_on_the_run_page(
    tracking, project, client_for, member
):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")  # no display in tests
    import matplotlib.pyplot as plt
    import numpy as np

    figure, axes = plt.subplots()
    axes.plot([0, 1], [1, 0])
    pixels = np.zeros((8, 12, 3), dtype=np.uint8)
    pixels[:, :6] = (255, 0, 0)
    mlflow.set_experiment(project.slug)
    with mlflow.start_run() as run:
        mlflow.log_figure(figure, "plots/roc.png")
        mlflow.log_image(pixels, "images/half-red.png")
    plt.close(figure)
    run_id = run.info.run_id
    assert stored(run_id, "plots/roc.png").startswith(b"\x89PNG")
    from PIL import Image

    with Image.open(
        mlflow.artifacts.download_artifacts(f"runs:/{run_id}/images/half-red.png")
    ) as im:
        assert im.size == (12, 8) and im.getpixel((0, 0))[:3] == (255, 0, 0)

    client = client_for(member)
    base = f"/o/{project.organization.slug}/projects/{project.slug}/runs/{run_id}/"
    page = client.get(base).content.decode()
    for path in ("plots/roc.png", "images/half-red.png"):
        src = f"{base}artifacts/{path}"
        assert f'<img class="artifact-image" src="{src}"' in page, path
        response = client.get(src)
        assert response.status_code == 200 and response["Content-Type"] == "image/png"
        assert b"".join(response.streaming_content).startswith(b"\x89PNG")


def test_an_artifact_is_replaced_and_deleted(tracking, project, tmp_path):
    mlflow.set_experiment(project.slug)
    with mlflow.start_run() as run:
        mlflow.log_text("one", "a/x.txt")
        mlflow.log_text("two, longer", "a/x.txt")
        mlflow.log_text("keep", "b.txt")
    run_id = run.info.run_id
    assert stored(run_id, "a/x.txt") == b"two, longer"
    repo = mlflow.store.artifact.artifact_repository_registry.get_artifact_repository(
        MlflowClient().get_run(run_id).info.artifact_uri
    )
    repo.delete_artifacts("a")
    assert [f.path for f in MlflowClient().list_artifacts(run_id)] == ["b.txt"]


def test_a_read_token_downloads_but_cannot_upload(use_token, token_for, member, run, tmp_path):
    use_token(token_for(member, "write"))
    MlflowClient().log_text(str(run.pk), "visible", "r.txt")
    use_token(token_for(member, "read", name="reader"))
    assert mlflow.artifacts.load_text(f"runs:/{run.pk}/r.txt") == "visible"
    with pytest.raises(requests.HTTPError) as error:
        MlflowClient().log_text(str(run.pk), "nope", "w.txt")
    assert error.value.response.status_code == 403
    assert "PERMISSION_DENIED" in str(error.value)


# -- the endpoint itself, with a test client ------------------------------------------------
BASE = "/mlflow/api/2.0/mlflow-artifacts/artifacts"


@pytest.fixture
def run_path(run):
    return "/".join(
        artifacts.run_prefix(
            org_id=run.project.organization_id, project_id=run.project_id, run_id=run.pk
        )
    )


def put(api, url: str, body: bytes = b"x"):
    return api.generic("PUT", url, body, content_type="application/octet-stream")


@pytest.mark.parametrize(
    "tail",
    [
        "../escape.txt",
        "a/../../escape.txt",
        "a/./b.txt",
        "a//b.txt",
        "a\\..\\b.txt",
        "a%00b.txt",
        "a%0ab.txt",
        "%2e%2e/x.txt",
    ],
)
def test_paths_that_could_leave_the_run_are_refused(api, run_path, tail):
    response = put(api, f"{BASE}/{run_path}/{tail}")
    assert response.status_code == 400, response.content
    assert response.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    assert not default_storage.exists(artifacts.ROOT)


@pytest.mark.parametrize("path", ["/etc/passwd", "C:/Windows/x", "..", "../x"])
def test_listing_outside_the_store_is_refused(api, path):
    response = api.get(BASE, {"path": path})
    assert response.status_code == 400, response.content


def test_an_absolute_path_in_the_url_is_refused(api, run_path):
    response = put(api, f"{BASE}//etc/passwd")
    assert response.status_code == 400


def test_files_are_written_only_inside_an_artifact_directory(api, run, run_path):
    run_directory = run_path.rsplit("/", 1)[0]
    assert put(api, f"{BASE}/{run_directory}/x.txt").status_code == 400
    assert put(api, f"{BASE}/{run_directory}/artifacts").status_code == 400
    assert put(api, f"{BASE}/{run_path}/ok.txt").status_code == 200


def test_another_organizations_artifacts_do_not_exist(
    api, api_for, other_run, outsider, org, project, run_path
):
    other = "/".join(
        artifacts.run_prefix(
            org_id=other_run.project.organization_id,
            project_id=other_run.project_id,
            run_id=other_run.pk,
        )
    )
    assert put(api_for(outsider), f"{BASE}/{other}/secret.txt", b"secret").status_code == 200
    # Their path, and our organization's id with their project or run: all unknown.
    mixed = [
        other,
        f"{org.pk}/{other_run.project_id}/{other_run.pk}/artifacts",
        f"{org.pk}/{project.pk}/{other_run.pk}/artifacts",
    ]
    for path in mixed:
        for response in (
            api.get(f"{BASE}/{path}/secret.txt"),
            put(api, f"{BASE}/{path}/secret.txt", b"mine"),
            api.delete(f"{BASE}/{path}/secret.txt"),
            api.get(BASE, {"path": path}),
        ):
            assert response.status_code == 404, (path, response.content)
            assert response.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    assert stored(str(other_run.pk), "secret.txt") == b"secret"


def test_a_missing_file_or_a_directory_is_not_downloaded(api, run_path):
    assert put(api, f"{BASE}/{run_path}/d/f.txt").status_code == 200
    for path in ("missing.txt", "d"):
        response = api.get(f"{BASE}/{run_path}/{path}")
        assert response.status_code == 404
        assert response.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"


def test_a_download_is_an_attachment_never_a_page(api, run_path):
    put(api, f"{BASE}/{run_path}/page.html", b"<script>alert(1)</script>")
    response = api.get(f"{BASE}/{run_path}/page.html")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"].startswith("attachment")
    assert b"".join(response.streaming_content) == b"<script>alert(1)</script>"


def test_an_upload_over_the_limit_is_refused_and_leaves_nothing(api, run_path, settings):
    settings.MLFLOW_ARTIFACT_MAX_BYTES = 1000
    response = put(api, f"{BASE}/{run_path}/big.bin", b"x" * 1001)
    assert response.status_code == 413
    assert "MLFLOW_ARTIFACT_MAX_BYTES" in response.json()["message"]
    assert put(api, f"{BASE}/{run_path}/ok.bin", b"x" * 1000).status_code == 200
    assert api.get(BASE, {"path": run_path}).json()["files"] == [
        {"path": "ok.bin", "is_dir": False, "file_size": 1000}
    ]


def test_the_limit_holds_while_streaming_when_the_length_lies(api, run_path, settings):
    """A body longer than its announced length, or with none, is cut at the limit."""
    settings.MLFLOW_ARTIFACT_MAX_BYTES = 1000
    segments = [*run_path.split("/"), "s.bin"]
    import io

    with pytest.raises(artifacts.ArtifactTooLarge):
        artifacts.artifact_save(segments=segments, stream=io.BytesIO(b"y" * 5000), max_bytes=1000)
    assert not default_storage.exists(artifacts.storage_name(segments))


def test_a_large_artifact_goes_up_and_down_with_flat_memory(tracking, project, tmp_path):
    size = 50 * 1024 * 1024
    big = tmp_path / "weights.bin"
    with open(big, "wb") as f:
        for _ in range(size // (1 << 20)):
            f.write(os.urandom(1 << 20))
    mlflow.set_experiment(project.slug)
    run = mlflow.start_run()
    mlflow.end_run()

    tracemalloc.start()
    try:
        MlflowClient().log_artifact(run.info.run_id, str(big))
        _, upload_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        out = mlflow.artifacts.download_artifacts(
            artifact_uri=f"runs:/{run.info.run_id}/weights.bin", dst_path=str(tmp_path / "d")
        )
        _, download_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert threading.active_count() >= 1
    # Client and server share this process: both sides together stay far below the file.
    assert upload_peak < 16 * 1024 * 1024, upload_peak
    assert download_peak < 16 * 1024 * 1024, download_peak
    assert os.path.getsize(out) == size
    with open(out, "rb") as a, open(big, "rb") as b:
        while chunk := a.read(1 << 20):
            assert chunk == b.read(1 << 20)
