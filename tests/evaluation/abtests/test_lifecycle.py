"""A/B tests linked to the project's lifecycle: the objective a test serves and the
business metric its decision is argued on — in the services, the design page, the API,
the decision form and `abtest_decisions_for_project`."""

import json

import pytest
from django.core.exceptions import ValidationError

from evaluation.abtests import services
from evaluation.abtests.selectors import abtest_decisions_for_project
from evaluation.models import ABTest, Outcome

from .conftest import METRICS, VARIANTS
from .test_views import base, design_post


def create(project, member, **links):
    return services.abtest_create(
        project=project,
        user=member,
        name="Menu descriptions",
        hypothesis="Descriptions bring first-time guests back.",
        variants=VARIANTS,
        metrics=METRICS,
        **links,
    )


# -- services ----------------------------------------------------------------------------------


def test_a_test_is_created_linked_to_the_projects_objective_and_business_metric(
    project, member, lifecycle
):
    abtest = create(
        project, member, objective=lifecycle.recommend.pk, business_metric=lifecycle.revisit.pk
    )
    abtest.refresh_from_db()
    assert (abtest.objective, abtest.business_metric) == (lifecycle.recommend, lifecycle.revisit)


@pytest.mark.parametrize("field", ["objective", "business_metric"])
def test_another_orgs_objective_or_metric_is_refused_and_nothing_is_saved(
    project, member, lifecycle, foreign_lifecycle, field
):
    foreign = {
        "objective": foreign_lifecycle.objective,
        "business_metric": foreign_lifecycle.business,
    }
    with pytest.raises(ValidationError) as caught:
        create(project, member, **{field: foreign[field].pk})
    assert list(caught.value.message_dict) == [field]
    assert not ABTest.objects.exists()


def test_a_model_metric_cannot_be_the_business_metric(project, member, lifecycle):
    with pytest.raises(ValidationError) as caught:
        create(project, member, business_metric=lifecycle.ndcg.pk)
    assert caught.value.message_dict["business_metric"] == [
        "“NDCG@5 of recommended dishes” is a model metric; a test is decided on a business metric."
    ]


def test_editing_the_design_changes_and_clears_the_links(project, member, lifecycle, abtest):
    arguments = {
        "user": member,
        "name": abtest.name,
        "hypothesis": abtest.hypothesis,
        "variants": VARIANTS,
        "metrics": METRICS,
    }
    services.abtest_update_design(
        abtest=abtest, objective=lifecycle.churn, business_metric=lifecycle.revisit, **arguments
    )
    abtest.refresh_from_db()
    assert (abtest.objective, abtest.business_metric) == (lifecycle.churn, lifecycle.revisit)
    services.abtest_update_design(abtest=abtest, **arguments)
    abtest.refresh_from_db()
    assert (abtest.objective, abtest.business_metric) == (None, None)


def test_deleting_a_linked_objective_or_metric_keeps_the_test_and_unlinks_it(
    project, member, lifecycle
):
    """The workspace's delete must never fail with a 500 because an A/B test refers to the
    item: the test, its results and decision stay, the link is cleared."""
    abtest = create(
        project, member, objective=lifecycle.recommend, business_metric=lifecycle.revisit
    )
    lifecycle.recommend.delete()
    lifecycle.revisit.delete()
    abtest.refresh_from_db()
    assert abtest.objective is None
    assert abtest.business_metric is None


# -- the API -----------------------------------------------------------------------------------


def api_create(client, project, **extra):
    body = {
        "name": "Menu descriptions",
        "variants": [{"key": "control", "allocation": 0.5}, {"key": "b", "allocation": 0.5}],
        "metrics": [{"key": "conversion", "type": "binomial"}],
        **extra,
    }
    return client.post(
        f"/api/v1/projects/{project.pk}/ab-tests/",
        json.dumps(body),
        content_type="application/json",
    )


def test_the_api_creates_a_linked_test_and_shows_the_links(project, member, lifecycle, client_for):
    client = client_for(member)
    response = api_create(
        client, project, objective=lifecycle.recommend.pk, business_metric=lifecycle.revisit.pk
    )
    assert response.status_code == 201
    body = response.json()
    assert (body["objective"], body["business_metric"]) == (
        lifecycle.recommend.pk,
        lifecycle.revisit.pk,
    )
    assert client.get(f"/api/v1/ab-tests/{body['id']}/").json()["business_metric"] == (
        lifecycle.revisit.pk
    )


def test_the_links_are_optional_in_the_api(project, member, client_for):
    body = api_create(client_for(member), project).json()
    assert (body["objective"], body["business_metric"]) == (None, None)


def test_a_cross_org_business_metric_in_the_api_is_a_400_field_error(
    project, member, foreign_lifecycle, client_for
):
    response = api_create(
        client_for(member), project, business_metric=foreign_lifecycle.business.pk
    )
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["business_metric"] == [
        "Choose a business metric of this test's project."
    ]
    assert not ABTest.objects.exists()


# -- pages -------------------------------------------------------------------------------------


def test_the_design_page_offers_the_current_cycles_objectives_and_business_metrics(
    org, project, member, lifecycle, client_for
):
    html = client_for(member).get(base(org, project) + "new/").text
    assert f'<option value="{lifecycle.recommend.pk}">Recommend dishes</option>' in html
    assert f'<option value="{lifecycle.revisit.pk}">Revisit rate</option>' in html
    assert "NDCG@5 of recommended dishes" not in html  # a model metric


def test_the_design_form_saves_the_links(org, project, member, lifecycle, client_for):
    data = design_post(objective=lifecycle.recommend.pk, business_metric=lifecycle.revisit.pk)
    response = client_for(member).post(base(org, project) + "new/", data)
    assert response.status_code == 302
    abtest = ABTest.objects.get()
    assert (abtest.objective, abtest.business_metric) == (lifecycle.recommend, lifecycle.revisit)
    html = client_for(member).get(response["Location"]).text
    assert "Tests the objective" in html and "<strong>Revisit rate</strong>" in html
    assert "(now 24%, target 35%)" in html


def test_the_decision_form_names_the_business_metric(
    org, project, member, lifecycle, analyzed_abtest, client_for
):
    analyzed_abtest.business_metric = lifecycle.revisit
    analyzed_abtest.save()
    html = client_for(member).get(f"{base(org, project)}{analyzed_abtest.pk}/").text
    assert "Tie it to the business metric “Revisit rate” (now 24 %, target 35 %)" in html
    assert 'placeholder="What did the test show about Revisit rate? What will you do?"' in html


def test_decisions_for_the_project_carry_the_objective_and_business_metric(
    project, member, lifecycle, analyzed_abtest
):
    analyzed_abtest.objective = lifecycle.recommend
    analyzed_abtest.business_metric = lifecycle.revisit
    analyzed_abtest.save()
    services.abtest_decide(
        abtest=analyzed_abtest, user=member, outcome=Outcome.SHIP, rationale="Revisits rose."
    )
    (entry,) = abtest_decisions_for_project(project=project)
    assert entry["objective"] == {"id": lifecycle.recommend.pk, "title": "Recommend dishes"}
    assert entry["business_metric"] == {
        "id": lifecycle.revisit.pk,
        "name": "Revisit rate",
        "unit": "%",
        "target": 35,
        "current": 24,
    }
