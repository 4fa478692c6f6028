"""What the lecture asks a team to write down, where the lecture puts it: the business
value and cost beside the "not cost-effective" red flag, schedule and budget as dates and
amounts, the problem made clear (for whom, what success means), solutions to the problem
itself, the evidence behind a cause, and the data-collection plan of a "Rules first"
verdict — each in the page, the API, the snapshot and the proposal document."""

import json
from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from mlprojects.lifecycle import readiness, selectors, services
from mlprojects.models import ProblemNode, ProjectConstraint, SectionVersion, Solution
from mlprojects.review.document import document_sections

HX = {"HTTP_HX_REQUEST": "true"}
RULES_FIRST_ANSWERS = {
    "pattern": "yes",
    "objective": "yes",
    "complexity": "yes",
    "data": "no",
    "repetition": "yes",
}


@pytest.fixture
def proj(org, member):
    return services.project_create(org=org, user=member, name="Restaurant revenue")


@pytest.fixture
def api(client_for, member):
    client = client_for(member)

    def call(method: str, path: str, body=None):
        kwargs = {"content_type": "application/json", "HTTP_X_ORGANIZATION": "acme"}
        if body is not None:
            kwargs["data"] = json.dumps(body)
        return getattr(client, method)(path, **kwargs)

    return call


def base(proj) -> str:
    return f"/api/v1/projects/{proj.id}/"


def page(client, proj) -> str:
    return client.get(f"/o/acme/projects/{proj.slug}/").content.decode()


def steps(proj) -> dict:
    return selectors.cycle_steps(selectors.cycle_get(project=proj))


def rows_text(proj, key: str) -> list[tuple[int, str, str]]:
    """The rows of one section of the proposal document made from the current snapshot."""
    snapshot = {"steps": steps(proj), "evidence": {}}
    (section,) = [s for s in document_sections(snapshot) if s.key == key]
    return [(row.depth, row.label, row.value) for row in section.rows]


# ---------------------------------------------------------------- business value and cost


def test_the_business_case_is_written_over_the_api_and_read_back(api, proj):
    body = {
        "business_case": {
            "business_value": "Returning guests spend about €40 a visit.",
            "estimated_value": "60000",
            "estimated_cost": "25000.50",
            "currency": "EUR",
        }
    }
    response = api("patch", base(proj) + "feasibility/", body)
    assert response.status_code == 200, response.content
    case = response.json()["business_case"]
    assert case == {
        "business_value": "Returning guests spend about €40 a visit.",
        "estimated_value": "60000.00",
        "estimated_cost": "25000.50",
        "currency": "EUR",
    }
    assert api("get", base(proj) + "feasibility/").json()["business_case"] == case
    assert api("get", base(proj)).json()["sections"]["feasibility"]["business_case"] == case


def test_estimates_without_a_currency_are_refused_and_save_nothing(api, proj):
    response = api("patch", base(proj) + "feasibility/", {"business_case": {"estimated_cost": "9"}})
    assert response.status_code == 400
    assert "currency" in response.json()["error"]["fields"]
    assert selectors.cycle_get(project=proj).feasibility.estimated_cost is None


def test_a_negative_estimate_is_a_400(api, proj):
    body = {"business_case": {"estimated_value": "-1", "currency": "EUR"}}
    response = api("patch", base(proj) + "feasibility/", body)
    assert response.status_code == 400
    assert "estimated_value" in response.json()["error"]["fields"]["business_case"]


def test_the_answers_form_saves_the_business_case_and_the_page_shows_it(proj, client_for, member):
    client = client_for(member)
    form = {
        **RULES_FIRST_ANSWERS,
        "data": "yes",
        "business_value": "Fewer empty tables at lunch.",
        "estimated_value": "1000",
        "estimated_cost": "4000",
        "currency": "EUR",
    }
    url = reverse("mlprojects:section_edit", args=["acme", proj.slug, "feasibility"])
    assert 'name="estimated_cost"' in client.get(url).content.decode()
    client.post(url, form, **HX)
    feasibility = selectors.cycle_get(project=proj).feasibility
    assert feasibility.estimated_cost == Decimal("4000")
    text = page(client, proj)
    assert "Fewer empty tables at lunch." in text
    assert "4,000.00 EUR" in text
    # The estimates say what the red flag says, and the flag is not raised.
    assert "consider raising the red flag" in text


def test_the_document_shows_the_business_case_beside_the_red_flag(proj, member):
    services.feasibility_update(
        project=proj,
        user=member,
        red_flags={"not_cost_effective": False},
        values={"estimated_value": Decimal("60000"), "currency": "EUR"},
    )
    rows = rows_text(proj, "feasibility")
    flag = rows.index((1, "It is not cost-effective", "not raised"))
    assert rows[flag + 1] == (2, "Business case", "")
    assert (3, "Estimated value per year", "60,000.00") in rows[flag + 2 :]
    assert (3, "Currency", "EUR") in rows[flag + 2 :]


# ---------------------------------------------------------------- schedule and budget


def test_a_schedule_has_dates_and_a_budget_an_amount(api, proj):
    schedule = {
        "kind": "schedule",
        "description": "Before the autumn menu.",
        "starts_on": "2026-04-01",
        "due_on": "2026-09-01",
    }
    response = api("post", base(proj) + "constraints/", schedule)
    assert response.status_code == 201, response.content
    assert response.json()["starts_on"] == "2026-04-01"
    assert response.json()["due_on"] == "2026-09-01"
    budget = {"kind": "budget", "description": "This year.", "amount": "25000", "currency": "EUR"}
    response = api("post", base(proj) + "constraints/", budget)
    assert response.status_code == 201, response.content
    assert response.json()["amount"] == "25000.00"
    items = steps(proj)["constraints"]["items"]
    assert [(i["due_on"], i["amount"]) for i in items] == [
        ("2026-09-01", None),
        (None, "25000.00"),
    ]


@pytest.mark.parametrize(
    "body, field",
    [
        ({"kind": "privacy", "description": "x", "due_on": "2026-01-01"}, "due_on"),
        ({"kind": "schedule", "description": "x", "amount": "10", "currency": "EUR"}, "amount"),
        (
            {
                "kind": "schedule",
                "description": "x",
                "starts_on": "2026-05-01",
                "due_on": "2026-04-01",
            },
            "due_on",
        ),
        ({"kind": "budget", "description": "x", "amount": "10"}, "currency"),
        ({"kind": "budget", "description": "x", "amount": "-5", "currency": "EUR"}, "amount"),
    ],
)
def test_dates_and_amounts_that_do_not_fit_the_constraint_are_a_400(api, proj, body, field):
    response = api("post", base(proj) + "constraints/", body)
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
    assert not ProjectConstraint.objects.filter(cycle__project=proj).exists()


def test_the_page_shows_the_schedule_and_the_budget(proj, client_for, member):
    for values in (
        {"kind": "schedule", "description": "Autumn.", "due_on": date(2026, 9, 1)},
        {"kind": "budget", "description": "Year.", "amount": Decimal("25000"), "currency": "EUR"},
    ):
        services.item_create(project=proj, user=member, model=ProjectConstraint, values=values)
    text = page(client_for(member), proj)
    assert "… → 2026-09-01" in text
    assert "at most 25,000.00 EUR" in text
    rows = rows_text(proj, "constraints")
    assert (2, "Due on", "2026-09-01") in rows
    assert (2, "Maximum budget", "25,000.00") in rows


# ---------------------------------------------------------------- a clear problem


def test_for_whom_and_what_success_means_round_trip_and_show(api, proj, client_for, member):
    body = {"for_whom": "First-time guests.", "success_means": "They come back: 35% return."}
    response = api("patch", base(proj) + "problem/", body)
    assert response.status_code == 200
    assert response.json()["for_whom"] == "First-time guests."
    text = page(client_for(member), proj)
    assert "First-time guests." in text and "They come back: 35% return." in text
    assert (0, "What success means", "They come back: 35% return.") in rows_text(
        proj, "problem_definition"
    )


# ---------------------------------------------------------------- solutions to the problem


def test_a_solution_can_answer_the_problem_itself(api, proj, client_for, member):
    root = services.item_create(
        project=proj, user=member, model=ProblemNode, values={"title": "Fewer first-time guests"}
    )
    body = {"cause": root.id, "title": "SNS marketing campaign", "kind": "other_team"}
    response = api("post", base(proj) + "solutions/", body)
    assert response.status_code == 201, response.content
    assert "+ solution to the problem itself" in page(client_for(member), proj)
    rows = rows_text(proj, "problem_definition")
    assert (2, "Answers problem", "Fewer first-time guests") in rows


def test_a_solution_to_a_cause_still_says_so(proj, member):
    root = services.item_create(project=proj, user=member, model=ProblemNode, values={"title": "P"})
    cause = services.item_create(
        project=proj, user=member, model=ProblemNode, values={"title": "C", "parent": root}
    )
    services.item_create(
        project=proj, user=member, model=Solution, values={"cause": cause, "title": "Fix C"}
    )
    assert (2, "Answers cause", "C") in rows_text(proj, "problem_definition")


# ---------------------------------------------------------------- evidence behind a cause


def test_a_cause_carries_its_evidence(api, proj, client_for, member):
    root = api("post", base(proj) + "problem-tree/", {"title": "Fewer guests"}).json()
    body = {
        "title": "The menu is too large",
        "parent": root["id"],
        "evidence_kind": "interviews_and_data",
        "evidence": "12 of 15 guests picked at random.",
    }
    response = api("post", base(proj) + "problem-tree/", body)
    assert response.status_code == 201, response.content
    (node,) = api("get", base(proj) + "problem-tree/").json()[0]["children"]
    assert node["evidence_kind"] == "interviews_and_data"
    text = page(client_for(member), proj)
    assert "Interviews and a data check" in text and "12 of 15 guests picked at random." in text
    assert (4, "Evidence from", "Interviews and a data check") in rows_text(
        proj, "problem_definition"
    )


def test_a_kind_of_evidence_without_what_it_shows_is_refused(api, proj):
    body = {"title": "Menu too large", "evidence_kind": "interviews"}
    response = api("post", base(proj) + "problem-tree/", body)
    assert response.status_code == 400
    assert "evidence" in response.json()["error"]["fields"]


# ---------------------------------------------------------------- the data-collection plan


def test_a_rules_first_verdict_asks_for_a_data_collection_plan(proj, client_for, member):
    # Before feasibility is answered the verdict is unknown: the check says when it applies.
    check = [c for c in readiness.evaluate(steps(proj)).checks if c.key == "data_collection_plan"]
    assert check[0].message.startswith("If the verdict is “Rules first”")
    services.feasibility_update(project=proj, user=member, criteria=RULES_FIRST_ANSWERS)
    check = [c for c in readiness.evaluate(steps(proj)).checks if c.key == "data_collection_plan"]
    assert [c.ok for c in check] == [False]
    assert "write the data-collection plan" in page(client_for(member), proj)

    services.feasibility_update(
        project=proj, user=member, values={"data_collection_plan": "Log every order's dish."}
    )
    check = [c for c in readiness.evaluate(steps(proj)).checks if c.key == "data_collection_plan"]
    assert [c.ok for c in check] == [True]
    assert (0, "Data-collection plan", "Log every order's dish.") in rows_text(proj, "feasibility")


def test_no_plan_is_asked_for_when_ml_fits(proj, member):
    answers = {**RULES_FIRST_ANSWERS, "data": "yes"}
    services.feasibility_update(project=proj, user=member, criteria=answers)
    checks = {c.key: c.ok for c in readiness.evaluate(steps(proj)).checks}
    assert checks["data_collection_plan"]


def test_the_plan_is_written_over_the_api_with_a_version(api, proj):
    response = api("patch", base(proj) + "feasibility/", {"data_collection_plan": "Tablets."})
    assert response.status_code == 200
    assert response.json()["data_collection_plan"] == "Tablets."
    version = SectionVersion.objects.filter(cycle__project=proj, step="feasibility").last()
    assert version.data["data_collection_plan"] == "Tablets."


def test_unknown_fields_of_the_feasibility_section_are_refused(proj, member):
    with pytest.raises(ValidationError):
        services.feasibility_update(project=proj, user=member, values={"verdict": "ml_fits"})


# ---------------------------------------------------------------- the next cycle


def test_the_next_cycle_carries_everything_forward(proj, member):
    services.section_update(
        project=proj, user=member, section="problem", values={"for_whom": "First-time guests."}
    )
    services.feasibility_update(
        project=proj,
        user=member,
        values={"estimated_cost": Decimal("5"), "currency": "EUR", "data_collection_plan": "Log."},
    )
    root = services.item_create(project=proj, user=member, model=ProblemNode, values={"title": "P"})
    services.item_create(
        project=proj, user=member, model=Solution, values={"cause": root, "title": "S"}
    )
    services.item_create(
        project=proj,
        user=member,
        model=ProjectConstraint,
        values={"kind": "budget", "description": "B", "amount": Decimal("7"), "currency": "EUR"},
    )
    services.cycle_start_next(project=proj, user=member)
    new = steps(proj)
    assert new["problem_definition"]["for_whom"] == "First-time guests."
    assert new["feasibility"]["business_case"]["estimated_cost"] == "5.00"
    assert new["feasibility"]["data_collection_plan"] == "Log."
    (solution,) = new["problem_definition"]["solutions"]
    assert solution["cause"] == new["problem_definition"]["tree"][0]["id"]
    assert new["constraints"]["items"][0]["amount"] == "7.00"
