"""Speed vs accuracy of the candidate models (seed §1.4.3: "fast with accuracy 0.95, or
slower with 0.93?"): the project's runs side by side on a quality and a latency metric, on
the project page (step 7), in the API and in the proposal's evidence."""

import pytest

from evaluation.runs.selectors import speed_vs_accuracy, speed_vs_accuracy_evidence
from mlprojects.lifecycle import services as lifecycle
from tests.factories import RunFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def candidates(project, member, log):
    """Three models: fast and accurate, slower and less accurate, slowest and best."""
    runs = {}
    for name, accuracy, latency in (("fast", 0.95, 12), ("slow", 0.93, 40), ("big", 0.97, 90)):
        run = RunFactory(project=project, created_by=member, name=name)
        runs[name] = log(run, accuracy=accuracy, latency_ms=latency)
    return runs


def test_the_runs_are_compared_on_quality_and_latency(project, candidates):
    data = speed_vs_accuracy(project=project)
    assert (data["quality_key"], data["latency_key"]) == ("accuracy", "latency_ms")
    rows = [(r["run_name"], r["quality"], r["latency"], r["pareto"]) for r in data["rows"]]
    # Best quality first; "slow" is beaten on both by "fast", so it is off the front.
    assert rows == [
        ("big", 0.97, 90.0, True),
        ("fast", 0.95, 12.0, True),
        ("slow", 0.93, 40.0, False),
    ]


def test_a_model_metric_of_the_lifecycle_chooses_the_quality_key(project, member, lifecycle, log):
    run = RunFactory(project=project, created_by=member)
    log(run, accuracy=0.9, **{"ndcg@5": 0.41})
    assert speed_vs_accuracy(project=project)["quality_key"] == "ndcg@5"


def test_a_lower_is_better_quality_metric_ranks_the_lowest_first(project, member, log):
    for name, rmse in (("a", 3.0), ("b", 2.0)):
        log(RunFactory(project=project, created_by=member, name=name), rmse=rmse, latency_ms=5)
    data = speed_vs_accuracy(project=project)
    assert data["quality_lower_is_better"] is True
    assert [r["run_name"] for r in data["rows"]] == ["b", "a"]
    assert [r["pareto"] for r in data["rows"]] == [True, False]


def test_without_a_latency_nothing_is_marked(project, member, log):
    log(RunFactory(project=project, created_by=member), accuracy=0.9)
    (row,) = speed_vs_accuracy(project=project)["rows"]
    assert row["latency"] is None and row["pareto"] is None


def test_step_7_shows_the_comparison_beside_the_requirement(
    project, member, candidates, client_for
):
    lifecycle.section_update(
        project=project,
        user=member,
        section="performance",
        values={"speed_vs_accuracy": "Under 50 ms on the tablet."},
    )
    html = client_for(member).get(f"/o/acme/projects/{project.slug}/").content.decode()
    assert "Speed vs accuracy of the candidate models" in html
    assert "Step 5 asks: Under 50 ms on the tablet." in html
    assert html.count("on the front") >= 2 and "dominated" in html


def test_the_api_answers_the_comparison_and_takes_the_keys(api, project, candidates):
    url = f"/api/v1/projects/{project.pk}/runs/speed-vs-accuracy/"
    data = api.get(url).json()
    assert data["latency_keys"] == ["latency_ms"] and data["quality_keys"] == ["accuracy"]
    assert [r["run_name"] for r in data["rows"]] == ["big", "fast", "slow"]
    data = api.get(url + "?quality=latency_ms&latency=").json()
    assert data["quality_key"] == "latency_ms" and data["latency_key"] == "latency_ms"
    assert api.get(url + "?quality=" + "x" * 251).status_code == 400


def test_another_organizations_project_is_a_404(api, other_project):
    response = api.get(f"/api/v1/projects/{other_project.pk}/runs/speed-vs-accuracy/")
    assert response.status_code == 404


def test_the_comparison_is_evidence_of_the_proposal(project, candidates):
    entries = speed_vs_accuracy_evidence(project=project)
    assert [e["title"] for e in entries] == ["big", "fast", "slow"]
    fields = {f["label"]: f["value"] for f in entries[2]["fields"]}
    assert fields == {
        "accuracy": "0.93",
        "latency_ms": "40",
        "Trade-off": "Dominated: another run is faster and at least as good",
    }
