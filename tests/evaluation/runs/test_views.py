"""Runs pages: the table, the comparison, baseline/candidate marking."""

import json
import math
import re
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from django.utils import timezone

from accounts.models import AuditEvent
from evaluation.models import Experiment
from evaluation.runs import services
from tests.factories import ProjectFactory, RunFactory

URL = "/o/acme/projects/menu-recommender/runs/"


@pytest.fixture
def runs(project, log):
    a = RunFactory(project=project, name="alpha", params={"lr": "0.1", "depth": "6"})
    b = RunFactory(project=project, name="bravo", params={"lr": "0.2", "depth": "6"},
                   status="finished", tags={"team": "ranking"})  # fmt: skip
    c = RunFactory(project=project, name="charlie", params={"lr": "0.3"}, status="failed")
    log(a, step=0, f1=0.61, loss=0.9)
    log(a, step=1, f1=0.72, loss=0.5)
    log(b, f1=0.80, loss=0.7)
    log(c, f1=0.55, loss=0.4)
    return a, b, c


def run_names(html: str) -> list[str]:
    return re.findall(r'<tr id="run-\d+">.*?<strong>([^<]+)</strong>', html, re.S)


def test_the_project_page_links_to_its_runs(org, member, project, client_for):
    response = client_for(member).get(f"/o/{org.slug}/projects/{project.slug}/")
    assert URL in response.text


def test_the_empty_runs_page_gives_copy_paste_snippets_with_this_servers_address(
    member, project, client_for, settings
):
    settings.SITE_URL = ""
    settings.ALLOWED_HOSTS = ["127.0.0.1"]
    page = client_for(member).get(URL, HTTP_HOST="127.0.0.1:8123").text
    assert "export MLFLOW_TRACKING_URI=http://127.0.0.1:8123/mlflow" in page
    assert "MLFLOW_TRACKING_TOKEN=mlp_" in page
    assert 'mlflow.set_experiment("Menu recommender")' in page
    assert "API=http://127.0.0.1:8123/api/v1" in page
    assert f"$API/projects/{project.pk}/runs/" in page
    assert "$API/runs/$RUN/log-batch/" in page


def test_the_runs_table_shows_the_projects_runs_with_metric_columns(
    member, runs, other_run, client_for
):
    response = client_for(member).get(URL)
    assert response.status_code == 200
    assert sorted(run_names(response.text)) == ["alpha", "bravo", "charlie"]
    assert other_run.name not in response.text
    assert ">0.7200<" in response.text  # alpha's latest f1, not its first


def test_the_runs_table_sorts_by_a_metric(member, runs, client_for):
    client = client_for(member)
    assert run_names(client.get(URL + "?order_by=-metric.f1").text) == [
        "bravo", "alpha", "charlie"
    ]  # fmt: skip
    assert run_names(client.get(URL + "?order_by=metric.loss").text) == [
        "charlie", "alpha", "bravo"
    ]  # fmt: skip


def test_the_runs_table_filters_by_status_and_tag(member, runs, client_for):
    client = client_for(member)
    assert run_names(client.get(URL + "?status=failed").text) == ["charlie"]
    assert run_names(client.get(URL + "?tag=team:ranking").text) == ["bravo"]


def test_a_malformed_tag_filter_says_how_to_write_it(member, runs, client_for):
    response = client_for(member).get(URL + "?tag=ranking", follow=True)
    assert "key:value" in response.text
    assert len(run_names(response.text)) == 3


def test_chosen_columns_replace_the_default_ones(member, runs, client_for):
    response = client_for(member).get(URL + "?col=param.lr&col=metric.loss")
    head = response.text.split("<thead>")[1].split("</thead>")[0]
    assert "lr" in head and "loss" in head and "f1" not in head


def test_an_htmx_filter_answers_only_the_table(member, runs, client_for):
    response = client_for(member).get(
        URL + "?status=failed", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="runs-table"
    )
    assert response.text.lstrip().startswith('<div id="runs-table">')
    assert "<html" not in response.text
    assert run_names(response.text) == ["charlie"]


def test_the_best_run_per_metric_respects_the_metrics_direction(member, runs, client_for):
    response = client_for(member).get(URL)
    best = response.context["summary"]["best"]
    assert {b["key"]: b["run_name"] for b in best} == {"f1": "bravo", "loss": "charlie"}


def test_the_runs_table_pages_with_a_cursor(member, project, client_for):
    for i in range(55):
        RunFactory(project=project, name=f"r{i:02d}")
    client = client_for(member)
    first = client.get(URL + "?order_by=name")
    assert len(run_names(first.text)) == 50
    next_url = first.context["next_cursor"]
    second = client.get(URL + f"?order_by=name&cursor={next_url}")
    assert run_names(second.text) == [f"r{i}" for i in range(50, 55)]


def test_the_runs_table_takes_a_constant_number_of_queries(
    member, project, client_for, log, django_assert_max_num_queries
):
    client = client_for(member)
    for count in (2, 30):
        for _ in range(count):
            log(RunFactory(project=project), f1=0.5, loss=0.2)
        with django_assert_max_num_queries(12):
            assert client.get(URL + "?order_by=-metric.f1").status_code == 200


def test_compare_highlights_differing_params_and_the_best_metrics(member, runs, client_for):
    a, b, _ = runs
    response = client_for(member).get(f"{URL}compare/?run={a.pk}&run={b.pk}")
    assert response.status_code == 200
    rows = {p["key"]: p["differs"] for p in response.context["params"]}
    assert rows == {"depth": False, "lr": True}
    assert re.search(r'<tr class="diff"><td>lr</td>', response.text)
    assert re.search(r'<tr class=""><td>depth</td>', response.text)
    f1 = next(m for m in response.context["metrics"] if m["key"] == "f1")
    assert [c["best"] for c in f1["cells"]] == [False, True]
    assert "vendor/chartjs/chart.umd.min.js" in response.text


def test_compare_charts_every_metric_history(member, runs, client_for):
    a, b, _ = runs
    response = client_for(member).get(f"{URL}compare/?run={a.pk}&run={b.pk}")
    charts = json.loads(
        re.search(r'id="run-charts" type="application/json">(.*?)</script>', response.text)[1]
    )
    f1 = next(c for c in charts if c["key"] == "f1")
    assert f1["series"] == [
        {"label": "alpha", "points": [[0, 0.61], [1, 0.72]]},
        {"label": "bravo", "points": [[0, 0.8]]},
    ]


def test_compare_ignores_runs_of_other_projects(member, org, runs, other_run, client_for):
    a, *_ = runs
    elsewhere = RunFactory(project=ProjectFactory(organization=org), name="elsewhere")
    response = client_for(member).get(
        f"{URL}compare/?run={a.pk}&run={other_run.pk}&run={elsewhere.pk}"
    )
    assert response.status_code == 302  # fewer than two runs of this project


def test_a_run_page_shows_its_params_metrics_and_tags(member, runs, client_for):
    _, b, _ = runs
    response = client_for(member).get(f"{URL}{b.pk}/")
    assert response.status_code == 200
    assert "bravo" in response.text and "ranking" in response.text


def test_a_run_of_another_project_is_404_under_this_project(member, org, client_for):
    elsewhere = RunFactory(project=ProjectFactory(organization=org))
    assert client_for(member).get(f"{URL}{elsewhere.pk}/").status_code == 404


def test_a_member_marks_a_run_as_baseline(member, runs, client_for):
    a, *_ = runs
    response = client_for(member).post(
        f"{URL}{a.pk}/role/", {"role": "baseline", "next": f"{URL}{a.pk}/"}
    )
    assert response["Location"] == f"{URL}{a.pk}/"
    a.refresh_from_db()
    assert a.role == "baseline"
    assert AuditEvent.objects.filter(action="run.role_changed", target="alpha").exists()


def test_marking_ignores_an_outside_next_url(member, runs, client_for):
    a, *_ = runs
    response = client_for(member).post(
        f"{URL}{a.pk}/role/", {"role": "candidate", "next": "https://evil.test/"}
    )
    assert response["Location"] == URL


def test_an_unknown_role_changes_nothing(member, runs, client_for):
    a, *_ = runs
    client_for(member).post(f"{URL}{a.pk}/role/", {"role": "champion"})
    a.refresh_from_db()
    assert a.role == ""


def test_a_viewer_sees_runs_but_may_not_mark_them(viewer, runs, client_for):
    a, *_ = runs
    client = client_for(viewer)
    page = client.get(f"{URL}{a.pk}/")
    assert page.status_code == 200
    assert 'name="role"' not in page.text
    assert client.post(f"{URL}{a.pk}/role/", {"role": "baseline"}).status_code == 403


def test_the_link_the_mlflow_client_prints_opens_the_run(member, project, run, client_for):
    client = client_for(member)
    # The page turns the link's fragment into a query with a script of its own (a file:
    # the Content-Security-Policy allows no inline script).
    assert 'src="/static/evaluation/mlflow_link.js"' in client.get("/mlflow/").text
    assert "location.hash" in Path(finders.find("evaluation/mlflow_link.js")).read_text()
    response = client.get(f"/mlflow/?experiment={project.pk}&run={run.pk}")
    assert response["Location"] == f"{URL}{run.pk}/"
    assert client.get(f"/mlflow/?experiment={project.pk}")["Location"] == URL


def test_the_mlflow_link_does_not_open_another_orgs_run(member, other_run, client_for):
    response = client_for(member).get(
        f"/mlflow/?experiment={other_run.project_id}&run={other_run.pk}"
    )
    assert response.status_code == 404


def test_the_mlflow_link_asks_an_anonymous_visitor_to_log_in(client, db):
    assert "/accounts/login/" in client.get("/mlflow/?experiment=1")["Location"]


def test_the_runs_table_shows_nan_and_infinity(member, project, log, client_for):
    diverged = RunFactory(project=project, name="diverged")
    log(diverged, loss=math.nan, f1=math.inf)
    text = client_for(member).get(URL).text
    assert ">NaN<" in text and ">∞<" in text


def test_charts_have_gaps_where_values_are_not_finite(member, project, log, client_for):
    run = RunFactory(project=project, name="r")
    for step, value in enumerate([0.5, math.nan, math.inf, 0.7]):
        log(run, step=step, loss=value)
    page = client_for(member).get(f"{URL}{run.pk}/")
    charts = json.loads(re.search(r'id="run-charts"[^>]*>(.*?)</script>', page.text, re.S)[1])
    assert charts[0]["series"][0]["points"] == [[0, 0.5], [1, None], [2, None], [3, 0.7]]


def test_deleted_runs_are_listed_on_their_own(member, project, client_for):
    RunFactory(project=project, name="kept")
    RunFactory(project=project, name="gone", deleted_at=timezone.now())
    client = client_for(member)
    page = client.get(URL)
    assert run_names(page.text) == ["kept"]
    assert "Deleted runs (1)" in page.text
    assert run_names(client.get(URL + "?deleted=1").text) == ["gone"]


def test_a_deleted_runs_page_says_how_to_restore_it(member, project, client_for):
    run = RunFactory(project=project, name="gone", deleted_at=timezone.now())
    assert "restore_run" in client_for(member).get(f"{URL}{run.pk}/").text


def test_the_run_page_shows_the_datasets_the_run_used(member, project, client_for):
    run = RunFactory(project=project, name="r")
    services.run_log_inputs(
        run=run,
        inputs=[
            services.DatasetInput(
                "menu-2024", "f0f3e026", "local", '{"uri": "/data/menu.csv"}',
                profile='{"num_rows": 2}', tags=(("mlflow.data.context", "training"),),
            )
        ],
    )  # fmt: skip
    text = client_for(member).get(f"{URL}{run.pk}/").text
    for shown in ("menu-2024", "f0f3e026", "training", "/data/menu.csv", "num_rows"):
        assert shown in text


def test_the_runs_page_names_the_experiment_for_the_mlflow_client(member, org, project, client_for):
    services.experiments_ensure(org=org)
    Experiment.objects.filter(project=project).update(name="Menu recs (mlflow)")
    assert "Menu recs (mlflow)" in client_for(member).get(URL).text


def test_the_mlflow_link_of_the_default_experiment_opens_the_run(member, org, client_for):
    default = services.experiment_default(org=org, user=member)
    run = RunFactory(project=default.project, name="quick")
    response = client_for(member).get(f"/mlflow/?experiment=0&run={run.pk}")
    assert response["Location"] == f"/o/{org.slug}/projects/{default.project.slug}/runs/{run.pk}/"
