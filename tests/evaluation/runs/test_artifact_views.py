"""The run page shows the run's artifacts (tree, images, text, JSON, CSV and log_table
tables inline, downloads) and its logged models; the download view is scoped like the page."""

import json

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from evaluation.runs import artifacts, services

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def put(run, relative: str, body: bytes) -> None:
    segments = artifacts.run_prefix(
        org_id=run.project.organization_id, project_id=run.project_id, run_id=run.pk
    )
    default_storage.save(
        artifacts.storage_name([*segments, *relative.split("/")]), ContentFile(body)
    )


def page(org, project, run) -> str:
    return f"/o/{org.slug}/projects/{project.slug}/runs/{run.pk}/"


def test_the_run_page_shows_the_artifact_tree_with_previews(client_for, member, org, project, run):
    put(run, "plots/roc.png", PNG)
    put(run, "notes/summary.txt", b"precision is fine")
    put(run, "config.json", json.dumps({"lr": 0.1}).encode())
    put(
        run,
        "eval/table.json",
        json.dumps({"columns": ["q", "score"], "data": [["q1", 0.5]]}).encode(),
    )
    put(run, "data.csv", b"x,y\n1,2\n")
    html = client_for(member).get(page(org, project, run)).text
    base = page(org, project, run) + "artifacts/"
    assert "plots/</strong>" in html
    assert f'<img class="artifact-image" src="{base}plots/roc.png"' in html
    assert "precision is fine" in html
    assert "&quot;lr&quot;: 0.1" in html
    assert "<th>score</th>" in html and "<td>q1</td>" in html
    assert "<th>x</th>" in html and "<td>2</td>" in html
    assert f'href="{base}notes/summary.txt" download' in html


def test_a_run_without_artifacts_says_so(client_for, member, org, project, run):
    assert "No artifacts." in client_for(member).get(page(org, project, run)).text


def test_the_run_page_lists_its_logged_models_with_metrics(client_for, member, org, project, run):
    model = services.logged_model_create(project=project, user=member, name="clf", source_run=run)
    services.logged_model_log_metrics(
        model=model, run=run, metrics=[(services.MetricPoint("acc", 0.5, 0, 1), "", ""),
                                       (services.MetricPoint("acc", 0.75, 1, 2), "", "")]
    )  # fmt: skip
    html = client_for(member).get(page(org, project, run)).text
    assert "Logged models" in html and model.pk in html
    assert "acc = 0.75" in html


def test_images_are_shown_inline_and_other_files_downloaded(client_for, member, org, project, run):
    put(run, "roc.png", PNG)
    put(run, "page.html", b"<script>alert(1)</script>")
    client = client_for(member)
    image = client.get(page(org, project, run) + "artifacts/roc.png")
    assert image["Content-Type"] == "image/png"
    assert not image["Content-Disposition"].startswith("attachment")
    assert b"".join(image.streaming_content) == PNG
    other = client.get(page(org, project, run) + "artifacts/page.html")
    assert other["Content-Type"] == "application/octet-stream"
    assert other["Content-Disposition"].startswith("attachment")


@pytest.mark.parametrize("path", ["missing.txt", "dir", "../../x", "a/../b"])
def test_a_missing_or_escaping_path_is_a_404(client_for, member, org, project, run, path):
    put(run, "dir/f.txt", b"x")
    response = client_for(member).get(page(org, project, run) + "artifacts/" + path)
    assert response.status_code == 404


def test_another_organizations_artifact_is_a_404(client_for, outsider, org, project, run):
    put(run, "secret.txt", b"secret")
    response = client_for(outsider).get(page(org, project, run) + "artifacts/secret.txt")
    assert response.status_code == 404
