"""The business-analysis API: round trips, validation (400 with field errors, nothing
saved) and tenancy (another organization's ids are 404 in the URL, 400 in the body)."""

import pytest

from mlprojects.models import BusinessAnalysis, DataSource, Project, UseCase

from .factories import DataSourceFactory, UseCaseFactory


@pytest.fixture
def api(member, client_for):
    client = client_for(member)

    def call(method: str, url: str, data=None):
        return getattr(client, method)(
            url, data, content_type="application/json", HTTP_X_ORGANIZATION="acme"
        )

    return call


def fields_of(response) -> dict:
    body = response.json()
    assert body["error"]["status"] == 400
    return body["error"]["fields"]


def test_an_analysis_round_trips_with_its_parts(api, org):
    created = api("post", "/api/v1/analyses/", {"name": "Uber", "how_it_earns": "Commission"})
    assert created.status_code == 201
    pk = created.json()["id"]
    assert created.json()["slug"] == "uber"

    source = api("post", "/api/v1/data-sources/", {"name": "Trip logs", "analysis": pk})
    source_id = source.json()["id"]
    offering = api("post", f"/api/v1/analyses/{pk}/offerings/", {"name": "Rides", "value": "Cars"})
    use_case = api(
        "post",
        f"/api/v1/analyses/{pk}/use-cases/",
        {
            "name": "ETA",
            "data_sources": [source_id],
            "prediction": "Minutes to pick-up",
            "output_use": "customer_other",
        },
    )
    interview = api(
        "post",
        f"/api/v1/analyses/{pk}/interviews/",
        {"interviewee": "Priya", "team": "Maps", "held_on": "2026-09-14", "learned": "4 s"},
    )
    assert [r.status_code for r in (source, offering, use_case, interview)] == [201] * 4

    body = api("get", f"/api/v1/analyses/{pk}/").json()
    assert body["how_it_earns"] == "Commission"
    assert [o["name"] for o in body["offerings"]] == ["Rides"]
    assert [s["id"] for s in body["data_sources"]] == [source_id]
    assert body["use_cases"][0]["data_sources"] == [source_id]
    assert body["use_cases"][0]["customer_facing"] is True
    assert body["interviews"][0]["held_on"] == "2026-09-14"


def test_nested_lists_return_the_parts(api, analysis):
    UseCaseFactory(analysis=analysis, name="Fraud", output_use="automation")
    body = api("get", f"/api/v1/analyses/{analysis.pk}/use-cases/").json()
    assert [(u["name"], u["customer_facing"]) for u in body] == [("Fraud", False)]


def test_patch_changes_only_the_given_fields(api, analysis):
    response = api("patch", f"/api/v1/analyses/{analysis.pk}/", {"notes": "Seed §2"})
    assert response.status_code == 200
    analysis.refresh_from_db()
    assert (analysis.name, analysis.notes) == ("Uber", "Seed §2")


def test_delete_removes_the_analysis(api, analysis):
    assert api("delete", f"/api/v1/analyses/{analysis.pk}/").status_code == 204
    assert not BusinessAnalysis.objects.exists()


def test_an_analysis_needs_a_name(api, org):
    response = api("post", "/api/v1/analyses/", {"how_it_earns": "Fees"})
    assert response.status_code == 400
    assert "name" in fields_of(response)
    assert not BusinessAnalysis.objects.exists()


def test_data_source_ratings_round_trip_with_the_weakest(api, analysis):
    data = {"name": "GPS", "trustworthiness": 4, "consistency": 3, "label_quality": 2}
    body = api("post", "/api/v1/data-sources/", data).json()
    assert body["weakest"] == {"rating": "Labels", "value": 2}
    assert body["continuity"] is None
    patched = api("patch", f"/api/v1/data-sources/{body['id']}/", {"label_quality": 5})
    assert patched.json()["weakest"] == {"rating": "Consistent", "value": 3}


@pytest.mark.parametrize("value", [0, 6, "high"])
def test_a_rating_outside_1_to_5_is_a_400(api, org, value):
    response = api("post", "/api/v1/data-sources/", {"name": "GPS", "continuity": value})
    assert response.status_code == 400
    assert "continuity" in fields_of(response)
    assert not DataSource.objects.exists()


def test_a_bad_rating_in_a_patch_changes_nothing(api, analysis):
    source = DataSourceFactory(analysis=analysis, name="GPS", consistency=3)
    response = api("patch", f"/api/v1/data-sources/{source.pk}/", {"name": "X", "consistency": 9})
    assert response.status_code == 400
    source.refresh_from_db()
    assert (source.name, source.consistency) == ("GPS", 3)


def test_an_unknown_data_source_in_a_use_case_is_a_400(api, analysis):
    data = {"name": "ETA", "data_sources": [999999], "prediction": "x", "output_use": "filter"}
    response = api("post", f"/api/v1/analyses/{analysis.pk}/use-cases/", data)
    assert response.status_code == 400
    assert "data_sources" in fields_of(response)
    assert not UseCase.objects.exists()


def test_another_organizations_data_source_is_a_400_never_a_link(api, analysis, other_data_source):
    data = {
        "name": "ETA",
        "data_sources": [other_data_source.pk],
        "prediction": "x",
        "output_use": "filter",
    }
    response = api("post", f"/api/v1/analyses/{analysis.pk}/use-cases/", data)
    assert response.status_code == 400
    assert "data_sources" in fields_of(response)
    assert not UseCase.objects.exists()


def test_another_organizations_analysis_is_a_400_for_a_data_source(api, org, other_analysis):
    data = {"name": "GPS", "analysis": other_analysis.pk}
    response = api("post", "/api/v1/data-sources/", data)
    assert response.status_code == 400
    assert "analysis" in fields_of(response)
    assert not DataSource.objects.filter(organization=org).exists()


def test_an_unknown_output_use_is_a_400(api, analysis):
    data = {"name": "ETA", "prediction": "x", "output_use": "telepathy"}
    response = api("post", f"/api/v1/analyses/{analysis.pk}/use-cases/", data)
    assert "output_use" in fields_of(response)


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/analyses/{a}/",
        "/api/v1/analyses/{a}/offerings/",
        "/api/v1/analyses/{a}/use-cases/",
        "/api/v1/analyses/{a}/interviews/",
        "/api/v1/data-sources/{s}/",
        "/api/v1/use-cases/{u}/create-project/",
    ],
)
def test_another_organizations_ids_are_404(
    api, org, url, other_analysis, other_data_source, other_use_case
):
    url = url.format(a=other_analysis.pk, s=other_data_source.pk, u=other_use_case.pk)
    method = "post" if url.endswith("create-project/") else "get"
    assert api(method, url).status_code == 404
    assert api("patch", url, {"name": "stolen"}).status_code in (404, 405)
    assert api("delete", url).status_code in (404, 405)
    other_data_source.refresh_from_db()
    assert other_data_source.name == "Globex secrets"


def test_create_project_answers_201_then_200_with_the_same_project(api, org, analysis):
    use_case = UseCaseFactory(analysis=analysis, name="Surge pricing", prediction="Demand")
    first = api("post", f"/api/v1/use-cases/{use_case.pk}/create-project/")
    second = api("post", f"/api/v1/use-cases/{use_case.pk}/create-project/")
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["id"] == second.json()["id"]
    assert first.json()["name"] == "Surge pricing"
    assert "Prediction: Demand" in first.json()["summary"]
    assert Project.objects.filter(organization=org).count() == 1
    assert (
        api("get", f"/api/v1/analyses/{analysis.pk}/").json()["use_cases"][0]["project"]
        == first.json()["id"]
    )


def test_the_list_takes_a_fixed_number_of_queries(api, analysis, django_assert_max_num_queries):
    for _ in range(5):
        UseCaseFactory(analysis=analysis).data_sources.add(DataSourceFactory(analysis=analysis))
    with django_assert_max_num_queries(12):
        assert api("get", "/api/v1/analyses/").status_code == 200


def test_the_schema_describes_the_analysis_endpoints(client):
    schema = client.get("/api/schema/").content.decode()
    assert "/api/v1/analyses/{analysis_id}/use-cases/" in schema
    assert "/api/v1/use-cases/{use_case_id}/create-project/" in schema


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"continuity": "4"}, "continuity"),
        ({"continuity": 4.0}, "continuity"),
        ({"continuity": True}, "continuity"),
        ({"analysis": "ANALYSIS"}, "analysis"),
        ({"analysis": 1.0}, "analysis"),
        ({"owning_team": 5}, "owning_team"),
    ],
)
def test_a_data_source_of_a_wrong_json_type_is_a_400_that_saves_nothing(
    api, analysis, change, field
):
    data = {"name": "GPS", **change}
    if data.get("analysis") == "ANALYSIS":
        data["analysis"] = str(analysis.pk)
    response = api("post", "/api/v1/data-sources/", data)
    assert response.status_code == 400
    assert field in fields_of(response)
    assert not DataSource.objects.exists()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"output_use": 1}, "output_use"),
        ({"data_sources": "SOURCE"}, "data_sources"),
        ({"data_sources": {"SOURCE": 1}}, "data_sources"),
        ({"data_sources": [True]}, "data_sources"),
        ({"prediction": 5}, "prediction"),
    ],
)
def test_a_use_case_of_a_wrong_json_type_is_a_400_that_saves_nothing(api, analysis, change, field):
    source = DataSourceFactory(analysis=analysis, name="GPS")
    data = {"name": "ETA", "prediction": "x", "output_use": "filter", **change}
    if data.get("data_sources") == "SOURCE":
        data["data_sources"] = [str(source.pk)]
    elif data.get("data_sources") == {"SOURCE": 1}:
        data["data_sources"] = {str(source.pk): 1}
    response = api("post", f"/api/v1/analyses/{analysis.pk}/use-cases/", data)
    assert response.status_code == 400
    assert field in fields_of(response)
    assert not UseCase.objects.exists()
