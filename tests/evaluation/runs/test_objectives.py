"""Runs linked to the lifecycle's objectives: the API field, the runs pages, the metric
directions and the best run value against each metric's target."""

import json
import math

import pytest
from django.utils import timezone

from accounts.models import AuditEvent
from evaluation.models import Run
from evaluation.runs.selectors import best_run_values_for_project, key_match, project_run_summary
from mlprojects.lifecycle.services import cycle_start_next
from mlprojects.models import Metric, Objective
from tests.factories import RunFactory

URL = "/o/acme/projects/menu-recommender/runs/"


def post(client, url, body):
    return client.post(url, json.dumps(body), content_type="application/json")


def patch(client, url, body):
    return client.patch(url, json.dumps(body), content_type="application/json")


# -- the API -----------------------------------------------------------------------------------


def test_a_run_is_created_linked_to_an_objective_of_its_project(api, project, lifecycle):
    response = post(
        api,
        f"/api/v1/projects/{project.pk}/runs/",
        {"name": "lgbm", "objective": lifecycle.recommend.pk},
    )
    assert response.status_code == 201
    assert response.json()["objective"] == lifecycle.recommend.pk
    assert Run.objects.get(pk=response.json()["id"]).objective == lifecycle.recommend


def test_creating_a_run_with_another_orgs_objective_is_a_400_on_objective(
    api, project, lifecycle, foreign_lifecycle
):
    response = post(
        api,
        f"/api/v1/projects/{project.pk}/runs/",
        {"name": "lgbm", "objective": foreign_lifecycle.objective.pk},
    )
    assert response.status_code == 400
    assert "objective" in response.json()["error"]["fields"]
    assert not Run.objects.filter(project=project).exists()


def test_creating_a_run_with_another_projects_objective_of_the_same_org_is_a_400(
    api, project, org, member
):
    from mlprojects.lifecycle.selectors import cycle_get
    from tests.factories import ProjectFactory

    sibling = ProjectFactory(organization=org, owner=member, slug="sibling")
    theirs = Objective.objects.create(cycle=cycle_get(project=sibling), title="Sibling's")
    response = post(api, f"/api/v1/projects/{project.pk}/runs/", {"objective": theirs.pk})
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["objective"] == [
        "Choose an objective of this run's project."
    ]


def test_patching_a_run_links_and_unlinks_its_objective(api, run, lifecycle):
    url = f"/api/v1/runs/{run.pk}/"
    assert (
        patch(api, url, {"objective": lifecycle.churn.pk}).json()["objective"] == lifecycle.churn.pk
    )
    assert patch(api, url, {"status": "finished"}).json()["objective"] == lifecycle.churn.pk
    assert patch(api, url, {"objective": None}).json()["objective"] is None
    run.refresh_from_db()
    assert run.objective is None


def test_patching_a_run_with_a_foreign_objective_is_a_400_and_changes_nothing(
    api, run, lifecycle, foreign_lifecycle
):
    run.objective = lifecycle.recommend
    run.save()
    response = patch(
        api, f"/api/v1/runs/{run.pk}/", {"objective": foreign_lifecycle.objective.pk, "name": "x"}
    )
    assert response.status_code == 400
    assert "objective" in response.json()["error"]["fields"]
    run.refresh_from_db()
    assert (run.objective, run.name) == (lifecycle.recommend, "baseline-lr")


def test_deleting_the_objective_unlinks_its_runs(run, lifecycle):
    run.objective = lifecycle.recommend
    run.save()
    lifecycle.recommend.delete()
    run.refresh_from_db()
    assert run.objective is None


# -- matching run keys to metrics --------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "key", "score"),
    [
        ("Precision@10", "precision@10", 3),
        ("Precision@10", "precision10", 2),
        ("First visit return", "first_visit_return", 2),
        ("NDCG@5 of recommended dishes", "ndcg@5", 1),
        ("Recall at 1% review rate", "recall", 1),
        ("NDCG@5 of recommended dishes", "ndcg", 0),
        ("Misinformation precision", "precision", 0),
        ("Recall", "", 0),
    ],
)
def test_a_run_key_names_a_metric_by_name_slug_or_leading_words(name, key, score):
    assert key_match(name, key) == score


# -- the best run per lifecycle metric ---------------------------------------------------------


def test_best_run_values_take_the_best_latest_value_in_the_metrics_direction(
    project, lifecycle, log
):
    a = RunFactory(project=project, name="a")
    b = RunFactory(project=project, name="b")
    log(a, step=0, **{"ndcg@5": 0.30, "error rate": 0.20})
    log(a, step=1, **{"ndcg@5": 0.41})
    log(b, **{"NDCG@5": 0.38, "error rate": 0.12})
    log(b, **{"error rate": 0.08})  # its latest
    best = best_run_values_for_project(project)
    assert best[lifecycle.ndcg.pk]["value"] == pytest.approx(0.41)
    assert best[lifecycle.ndcg.pk]["run_id"] == a.pk
    assert best[lifecycle.error.pk] == {
        "value": pytest.approx(0.08),
        "run_id": b.pk,
        "run_name": "b",
        "key": "error rate",
    }
    assert lifecycle.recall.pk not in best and lifecycle.revisit.pk not in best


def test_an_exact_name_wins_over_a_leading_words_match(project, lifecycle, log):
    run = RunFactory(project=project)
    log(run, **{"ndcg@5": 0.2, "NDCG@5 of recommended dishes": 0.4})
    assert best_run_values_for_project(project)[lifecycle.ndcg.pk]["value"] == pytest.approx(0.4)


def test_a_run_linked_to_another_objective_does_not_count_for_its_metrics(project, lifecycle, log):
    churn_run = RunFactory(project=project, name="churn", objective=lifecycle.churn)
    unlinked = RunFactory(project=project, name="unlinked")
    log(churn_run, **{"ndcg@5": 0.9, "recall": 0.7})
    log(unlinked, **{"ndcg@5": 0.3})
    best = best_run_values_for_project(project)
    assert best[lifecycle.ndcg.pk]["run_id"] == unlinked.pk
    assert best[lifecycle.recall.pk]["run_id"] == churn_run.pk


def test_best_run_values_use_the_current_cycles_metrics(project, lifecycle, log, member):
    run = RunFactory(project=project, objective=lifecycle.recommend)
    log(run, **{"ndcg@5": 0.4})
    cycle_start_next(project=project, user=member)
    project.refresh_from_db()
    copied = Metric.objects.get(cycle__project=project, cycle__number=2, name=lifecycle.ndcg.name)
    best = best_run_values_for_project(project)
    assert list(best) == [copied.pk] or copied.pk in best
    assert lifecycle.ndcg.pk not in best
    # The run stays linked to cycle 1's objective, which does not exclude it.
    assert best[copied.pk]["run_id"] == run.pk


def test_best_run_values_take_two_queries(project, lifecycle, log, django_assert_num_queries):
    for i in range(5):
        log(RunFactory(project=project, name=f"r{i}"), **{"ndcg@5": i / 10, "recall": i / 5})
    with django_assert_num_queries(2):
        best_run_values_for_project(project)


def test_a_lifecycle_metric_decides_the_direction_of_the_best_run(project, lifecycle, log):
    """“Error rate” says lower is better, and so would the name; a metric named like a
    loss but marked higher-is-better is the real test."""
    Metric.objects.create(cycle=lifecycle.cycle, name="Loss reduction", kind="model")
    a, b = RunFactory(project=project, name="a"), RunFactory(project=project, name="b")
    log(a, **{"loss_reduction": 0.2})
    log(b, **{"loss_reduction": 0.5})
    from evaluation.runs.selectors import project_run_summary

    best = {row["key"]: row for row in project_run_summary(project=project)["best"]}
    assert best["loss_reduction"]["run_id"] == b.pk
    assert best["loss_reduction"]["lower_is_better"] is False


# -- the pages ---------------------------------------------------------------------------------


def test_the_runs_page_shows_metrics_against_their_targets(
    member, project, lifecycle, log, client_for
):
    run = RunFactory(project=project, name="taste-v3")
    log(run, **{"ndcg@5": 0.47})
    html = client_for(member).get(URL).text
    section = html[html.index('id="metrics-vs-target"') :]
    section = section[: section.index("</section>")]
    assert "NDCG@5 of recommended dishes" in section
    assert "0.45" in section and "0.47" in section and "taste-v3" in section
    assert "target reached" in section
    assert "Error rate" in section and "no run logged it" in section
    assert "Revisit rate" not in section  # a business metric no run logged


def test_a_run_is_linked_to_an_objective_from_the_runs_page(member, run, lifecycle, client_for):
    client = client_for(member)
    html = client.get(URL).text
    assert f'form="objective-{run.pk}"' in html and "Recommend dishes" in html
    response = client.post(
        f"{URL}{run.pk}/objective/", {"objective": lifecycle.recommend.pk, "next": URL}
    )
    assert response.status_code == 302 and response["Location"] == URL
    run.refresh_from_db()
    assert run.objective == lifecycle.recommend
    event = AuditEvent.objects.get(action="run.objective_changed")
    assert event.data == {"from": None, "to": lifecycle.recommend.pk, "run": run.pk}


def test_the_compare_page_has_an_objective_select_per_run(member, project, lifecycle, client_for):
    a = RunFactory(project=project, name="a", objective=lifecycle.churn)
    b = RunFactory(project=project, name="b")
    html = client_for(member).get(f"{URL}compare/?run={a.pk}&run={b.pk}").text
    assert html.count('name="objective"') == 2
    assert f'<option value="{lifecycle.churn.pk}" selected>' in html


def test_linking_a_foreign_objective_from_the_page_is_refused(
    member, run, foreign_lifecycle, client_for
):
    client = client_for(member)
    response = client.post(
        f"{URL}{run.pk}/objective/", {"objective": foreign_lifecycle.objective.pk}, follow=True
    )
    assert "Choose an objective of this run&#x27;s project." in response.text
    run.refresh_from_db()
    assert run.objective is None


def test_a_viewer_may_not_link_a_run(viewer, run, lifecycle, client_for):
    response = client_for(viewer).post(
        f"{URL}{run.pk}/objective/", {"objective": lifecycle.recommend.pk}
    )
    assert response.status_code == 403
    run.refresh_from_db()
    assert run.objective is None


def test_a_nan_or_infinite_value_is_never_the_best(project, lifecycle, log):
    finite = RunFactory(project=project, name="finite")
    diverged = RunFactory(project=project, name="diverged")
    log(finite, **{"ndcg@5": 0.3, "error rate": 0.2})
    log(diverged, **{"ndcg@5": math.inf, "error rate": math.nan})
    best = best_run_values_for_project(project)
    assert best[lifecycle.ndcg.pk]["run_id"] == finite.pk
    assert best[lifecycle.error.pk]["run_id"] == finite.pk
    summary = {b["key"]: b["run_id"] for b in project_run_summary(project=project)["best"]}
    assert summary == {"ndcg@5": finite.pk, "error rate": finite.pk}


def test_a_deleted_run_is_never_the_best(project, lifecycle, log):
    kept = RunFactory(project=project, name="kept")
    deleted = RunFactory(project=project, name="deleted")
    log(kept, **{"ndcg@5": 0.3})
    log(deleted, **{"ndcg@5": 0.9})
    Run.objects.filter(pk=deleted.pk).update(deleted_at=timezone.now())
    assert best_run_values_for_project(project)[lifecycle.ndcg.pk]["run_id"] == kept.pk
