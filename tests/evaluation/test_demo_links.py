"""The demo's runs and A/B test on the restaurant, linked to its lifecycle: loaded by
`load_demo`, idempotent, and visible against the objective metric's target."""

import io

import pytest
from django.core.management import call_command

from accounts.models import User
from evaluation.abtests.demo import load_abtest_demo
from evaluation.models import ABTest, Run, RunMetric
from evaluation.runs.demo import RECOMMENDER_RUNS, load_runs_demo
from evaluation.runs.selectors import best_run_values_for_project
from mlprojects.models import Metric, Objective, Project


@pytest.fixture
def demo(db):
    call_command("load_demo", stdout=io.StringIO())
    return Project.objects.get(organization__slug="demo", slug="restaurant-revenue")


def test_the_demo_has_six_recommender_runs_linked_to_the_recommender_objective(demo):
    runs = list(Run.objects.filter(project=demo).order_by("started_at"))
    assert [r.name for r in runs] == [name for name, *_ in RECOMMENDER_RUNS]
    objective = Objective.objects.get(cycle__project=demo, kind="rank")
    assert {r.objective_id for r in runs} == {objective.pk}
    assert [r.name for r in runs if r.role == "baseline"] == ["taste-mf-baseline"]
    assert all(r.status == "finished" for r in runs)
    first = runs[0]
    assert set(first.latest_metrics) == {"ndcg@5", "ndcg@10", "precision@10", "latency_ms"}
    assert RunMetric.objects.filter(run=first, key="precision@10").count() == 6  # epochs


def test_the_best_demo_run_beats_the_ndcg_target(demo):
    ndcg = Metric.objects.get(cycle__project=demo, name__startswith="NDCG@5")
    best = best_run_values_for_project(demo)[ndcg.pk]
    assert best["run_name"] == "taste-two-tower-v3"
    assert best["value"] == pytest.approx(0.463) and best["value"] > ndcg.target


def test_the_demo_ab_test_is_linked_to_the_objective_and_decided_after_one_load(demo):
    abtest = ABTest.objects.get(project=demo)
    assert abtest.objective.kind == "rank"
    assert abtest.business_metric.name == "Second-visit rate of first-time guests"
    assert abtest.status == "decided"


def test_loading_the_demo_again_duplicates_no_run_and_no_test(demo):
    counts = (Run.objects.count(), RunMetric.objects.count(), ABTest.objects.count())
    call_command("load_demo", stdout=io.StringIO())
    load_runs_demo(demo.organization)
    load_abtest_demo(demo.organization)
    assert (Run.objects.count(), RunMetric.objects.count(), ABTest.objects.count()) == counts


def test_a_demo_test_loaded_before_the_links_existed_gets_linked(demo):
    ABTest.objects.update(objective=None, business_metric=None)
    load_abtest_demo(demo.organization)
    abtest = ABTest.objects.get(project=demo)
    assert abtest.objective is not None and abtest.business_metric is not None


def test_the_runs_page_of_the_demo_shows_the_metric_against_its_target(demo, client):
    client.force_login(User.objects.get(email="member@example.com"))
    html = client.get("/o/demo/projects/restaurant-revenue/runs/").text
    section = html[html.index('id="metrics-vs-target"') :]
    assert "NDCG@5 of recommended dishes" in section and "taste-two-tower-v3" in section
