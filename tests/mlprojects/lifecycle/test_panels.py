"""The project page's panels: filled by evaluation through `mlprojects.lifecycle.panels`,
rendered where their slot is, and only there."""

import pytest

from evaluation.abtests import services as abtests
from mlprojects.lifecycle import services
from mlprojects.lifecycle.panels import project_panels, register_project_panel

HX = {"HTTP_HX_REQUEST": "true"}
BASE = "/o/acme/projects/restaurant-revenue/"


@pytest.fixture
def proj(org, member):
    return services.project_create(org=org, user=member, name="Restaurant revenue")


def _abtest(project, user, name: str):
    return abtests.abtest_create(
        project=project,
        user=user,
        name=name,
        hypothesis="A shorter menu converts better.",
        variants=[{"key": "control", "allocation": 0.5}, {"key": "b", "allocation": 0.5}],
        metrics=[{"key": "conversion", "type": "binomial", "role": "primary"}],
    )


def test_evaluation_registers_its_buttons_and_its_sections():
    assert [p.key for p in project_panels("actions")] == [
        "runs",
        "models",
        "evaluations",
        "monitoring-link",
    ]
    assert [p.key for p in project_panels("step-baselines")] == ["prototype"]
    assert [p.key for p in project_panels("step-evaluation")] == [
        "evaluations-section",
        "abtests",
        "speed-vs-accuracy",
    ]
    assert [p.key for p in project_panels("step-deployment")] == ["monitoring"]


def test_a_panel_needs_a_slot_the_page_has():
    with pytest.raises(ValueError, match="Unknown slot"):
        register_project_panel(key="x", slot="sidebar", template="x.html")


def test_the_project_page_shows_the_registered_panels(proj, member, client_for):
    _abtest(proj, member, "Short menu")
    html = client_for(member).get(BASE).content.decode()
    assert f'href="{BASE}runs/"' in html
    assert f'href="{BASE}evaluations/"' in html
    assert 'id="project-abtests"' in html
    assert "Short menu" in html
    assert f'href="{BASE}ab-tests/new/"' in html  # a member may edit


def test_a_viewer_gets_no_new_ab_test_link(proj, viewer, client_for):
    html = client_for(viewer).get(BASE).content.decode()
    assert 'id="project-abtests"' in html
    assert f'href="{BASE}ab-tests/new/"' not in html


def test_a_step_fragment_renders_only_its_own_panels(proj, member, client_for):
    client = client_for(member)
    evaluation = client.get(BASE + "steps/evaluation/", **HX).content.decode()
    assert 'id="project-abtests"' in evaluation
    phenomenon = client.get(BASE + "steps/phenomenon/", **HX).content.decode()
    assert "project-abtests" not in phenomenon
    assert "Experiment runs" not in phenomenon


def test_the_ab_tests_panel_takes_the_same_queries_for_one_test_or_five(
    proj, member, client_for, django_assert_max_num_queries
):
    client = client_for(member)
    _abtest(proj, member, "Test 0")
    # The project page with every panel; what matters is that five tests cost the same.
    with django_assert_max_num_queries(36) as one:
        client.get(BASE)
    for i in range(1, 5):
        _abtest(proj, member, f"Test {i}")
    with django_assert_max_num_queries(len(one.captured_queries)):
        html = client.get(BASE).content.decode()
    assert html.count(f'href="{BASE}ab-tests/') >= 5
