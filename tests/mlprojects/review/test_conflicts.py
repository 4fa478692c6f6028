"""Two people edit the same section: the second save never silently overwrites the first.
The page shows both texts for merging; the API answers 412 (If-Match) or 409 (version)."""

import re

import pytest

from mlprojects.lifecycle.services import SectionConflict, section_etag, section_update
from mlprojects.models import Phenomenon, SectionVersion

pytestmark = pytest.mark.django_db
HX = {"HTTP_HX_REQUEST": "true"}
EDIT = "/o/acme/projects/menu-recommender/sections/phenomenon/"


def loaded_version(client) -> str:
    html = client.get(EDIT, **HX).content.decode()
    return re.search(r'name="base_version" value="([0-9a-f]+)"', html).group(1)


def test_the_edit_form_carries_the_sections_version(proj, member, client_for):
    assert len(loaded_version(client_for(member))) == 20


def test_the_second_of_two_saves_gets_the_conflict_and_nothing_is_lost(
    proj, member, admin, client_for
):
    alice, bob = client_for(member), client_for(admin)
    alice_version, bob_version = loaded_version(alice), loaded_version(bob)

    first = alice.post(EDIT, {"what": "Alice's text", "base_version": alice_version}, **HX)
    assert first.status_code == 200 and "HX-Retarget" in first

    second = bob.post(EDIT, {"what": "Bob's text", "base_version": bob_version}, **HX)
    html = second.content.decode()
    assert second.status_code == 200
    assert "Someone else saved this section while you were editing." in html
    assert "Alice&#x27;s text" in html  # theirs, saved
    assert "Bob&#x27;s text" in html  # yours, still in the form
    assert Phenomenon.objects.get(cycle__project=proj).what == "Alice's text"

    # Bob merges and saves again, based on the version he was just shown.
    merged_version = re.search(r'name="base_version" value="([0-9a-f]+)"', html).group(1)
    third = bob.post(EDIT, {"what": "Alice's and Bob's text", "base_version": merged_version}, **HX)
    assert "HX-Retarget" in third
    assert Phenomenon.objects.get(cycle__project=proj).what == "Alice's and Bob's text"
    history = SectionVersion.objects.filter(project=proj, step="phenomenon").order_by("number")
    assert [v.data["what"] for v in history] == ["Alice's text", "Alice's and Bob's text"]


def test_without_htmx_the_conflict_is_a_full_page(proj, member, admin, client_for):
    version = loaded_version(client_for(admin))
    section_update(project=proj, user=member, section="phenomenon", values={"what": "First"})
    response = client_for(admin).post(EDIT, {"what": "Second", "base_version": version})
    assert response.status_code == 200
    assert "<html" in response.content.decode()
    assert "Theirs (saved)" in response.content.decode()


def test_saves_of_other_fields_of_a_shared_row_do_not_conflict(proj, member, admin, client_for):
    goal = "/o/acme/projects/menu-recommender/sections/goal/"
    plan = "/o/acme/projects/menu-recommender/sections/multi-objective/"
    alice, bob = client_for(member), client_for(admin)
    goal_version = re.search(
        r'name="base_version" value="(\w+)"', alice.get(goal, **HX).content.decode()
    ).group(1)
    bob.post(
        plan,
        {
            "multi_objective_strategy": "separate_models",
            "multi_objective_rationale": "Different cadences",
        },
        **HX,
    )
    response = alice.post(goal, {"statement": "Engagement", "base_version": goal_version}, **HX)
    assert "HX-Retarget" in response


def test_the_service_refuses_a_stale_version(proj, member):
    phenomenon = Phenomenon.objects.get(cycle__project=proj)
    old = section_etag(phenomenon)
    section_update(project=proj, user=member, section="phenomenon", values={"what": "A"})
    with pytest.raises(SectionConflict) as caught:
        section_update(
            project=proj, user=member, section="phenomenon", values={"what": "B"}, if_version=old
        )
    assert caught.value.current.what == "A"


# ---------------------------------------------------------------- the API


def api(proj) -> str:
    return f"/api/v1/projects/{proj.pk}/phenomenon/"


def test_get_answers_an_etag(proj, member, client_for):
    response = client_for(member).get(api(proj))
    phenomenon = Phenomenon.objects.get(cycle__project=proj)
    assert response["ETag"] == f'"{section_etag(phenomenon)}"'


def test_patch_with_a_current_if_match_succeeds_and_answers_the_new_etag(proj, member, client_for):
    client = client_for(member)
    etag = client.get(api(proj))["ETag"]
    response = client.patch(
        api(proj), {"what": "A"}, content_type="application/json", HTTP_IF_MATCH=etag
    )
    assert response.status_code == 200
    assert response["ETag"] != etag


def test_patch_with_a_stale_if_match_is_412_and_changes_nothing(proj, member, admin, client_for):
    etag = client_for(admin).get(api(proj))["ETag"]
    client_for(member).patch(api(proj), {"what": "First"}, content_type="application/json")
    response = client_for(admin).patch(
        api(proj), {"what": "Second"}, content_type="application/json", HTTP_IF_MATCH=etag
    )
    assert response.status_code == 412
    assert response.json()["error"]["code"] == "precondition_failed"
    assert Phenomenon.objects.get(cycle__project=proj).what == "First"


def test_put_with_a_stale_version_field_is_409(proj, member, client_for):
    client = client_for(member)
    version = client.get(api(proj))["ETag"].strip('"')
    client.patch(api(proj), {"what": "First"}, content_type="application/json")
    response = client.put(
        api(proj), {"what": "Second", "version": version}, content_type="application/json"
    )
    assert response.status_code == 409
    assert Phenomenon.objects.get(cycle__project=proj).what == "First"


def test_feasibility_honours_if_match_too(proj, member, client_for):
    client = client_for(member)
    url = f"/api/v1/projects/{proj.pk}/feasibility/"
    etag = client.get(url)["ETag"]
    client.patch(url, {"criteria": {"pattern": "yes"}}, content_type="application/json")
    response = client.patch(
        url, {"criteria": {"pattern": "no"}}, content_type="application/json", HTTP_IF_MATCH=etag
    )
    assert response.status_code == 412


def test_writes_without_a_version_keep_working(proj, member, client_for):
    response = client_for(member).patch(api(proj), {"what": "A"}, content_type="application/json")
    assert response.status_code == 200
