"""The prototype page end to end with a real loopback model server: the form, the model's
answer next to the rule baseline's, feedback, batch, settings, share links, the allow-list."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import AuditEvent
from evaluation.prototypes import services
from evaluation.prototypes.headers import decrypt_headers
from evaluation.prototypes.models import AllowedHost, PrototypeCall, PrototypeFeedback, ShareLink

BASE = "/o/acme/projects/menu-recommender/prototype/"
HX = {"HTTP_HX_REQUEST": "true"}
INPUT = {"favourite_dishes": "bulgogi", "likes_spicy": "on", "diet": "vegan"}


@pytest.mark.parametrize("role", ["owner", "admin", "member", "stakeholder", "viewer"])
def test_every_role_of_the_organization_can_use_the_prototype(
    role, echo_endpoint, user_with_role, client_for
):
    client = client_for(user_with_role(role))
    page = client.get(BASE)
    assert page.status_code == 200
    assert 'name="favourite_dishes"' in page.content.decode()
    answer = client.post(BASE + "try/", INPUT, **HX)
    assert answer.status_code == 200
    assert 'id="model-answer"' in answer.content.decode()


def test_the_field_mapping_sends_the_input_and_reads_the_answer(echo_endpoint, member, client_for):
    html = client_for(member).post(BASE + "try/", INPUT, **HX).content.decode()
    call = PrototypeCall.objects.get()
    # The echo server got {"guest": {...}} with the stored header, and the answer was read
    # back from received.guest.diet.
    assert call.answer["label"] == "vegan"
    assert call.answer["raw"] == "vegan"
    assert call.inputs == {"favourite_dishes": "bulgogi", "likes_spicy": True, "diet": "vegan"}
    assert call.latency_ms > 0
    assert '<p class="proto-value">vegan</p>' in html


def test_the_stored_header_reaches_the_server_and_is_encrypted_at_rest(echo_endpoint):
    assert "s3cret" not in echo_endpoint.headers_encrypted
    assert decrypt_headers(echo_endpoint.headers_encrypted) == {"Authorization": "Bearer s3cret"}
    echo_endpoint.output_field = "authorization"
    echo_endpoint.save()
    call = services.prototype_try(endpoint=echo_endpoint, values=INPUT | {"likes_spicy": True})
    assert call.answer["label"] == "Bearer s3cret"


def test_the_rule_baseline_answers_the_same_input_side_by_side(echo_endpoint, member, client_for):
    html = client_for(member).post(BASE + "try/", INPUT, **HX).content.decode()
    call = PrototypeCall.objects.get()
    # likes_spicy is the first rule: the waiter suggests kimchi jjigae.
    assert call.baseline_answer == {
        "name": "Waiter rules",
        "text": "kimchi_jjigae",
        "value": "kimchi_jjigae",
    }
    assert 'id="baseline-answer"' in html and "kimchi_jjigae" in html
    client_for(member).post(BASE + "try/", INPUT | {"likes_spicy": ""}, **HX)
    assert PrototypeCall.objects.first().baseline_answer["text"] == "bibimbap"


def test_a_bad_value_is_an_inline_error_and_no_call(echo_endpoint, member, client_for):
    html = client_for(member).post(BASE + "try/", INPUT | {"diet": "carnivore"}, **HX)
    assert html.status_code == 200
    assert "Select a valid choice" in html.content.decode()
    assert not PrototypeCall.objects.exists()


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/slow", "did not answer within 1 seconds"),
        ("/huge", "larger than 1000 bytes"),
        ("/redirect-other", "redirect (302) to another host"),
    ],
)
def test_a_failing_model_server_gives_a_clear_message(
    path, message, echo_endpoint, model_server, member, client_for, settings
):
    settings.PROTOTYPE_TIMEOUT_SECONDS = 1
    settings.PROTOTYPE_MAX_RESPONSE_BYTES = 1000
    echo_endpoint.url = model_server + path
    echo_endpoint.save()
    response = client_for(member).post(BASE + "try/", INPUT, **HX)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert message in PrototypeCall.objects.get().error


def test_a_host_off_the_allow_list_is_refused_with_a_message(
    echo_endpoint, loopback_allowed, member, client_for
):
    loopback_allowed.delete()
    html = client_for(member).post(BASE + "try/", INPUT, **HX).content.decode()
    assert "not on this organization&#x27;s allow-list" in html


def test_loopback_is_refused_when_the_host_does_not_allow_private_addresses(
    echo_endpoint, loopback_allowed, member, client_for
):
    loopback_allowed.allow_private = False
    loopback_allowed.save()
    html = client_for(member).post(BASE + "try/", INPUT, **HX).content.decode()
    assert "private, loopback or link-local" in html


def test_calls_are_rate_limited_per_user(echo_endpoint, member, viewer, client_for, settings):
    settings.PROTOTYPE_RATE_PER_USER = "2/m"
    client = client_for(member)
    assert [client.post(BASE + "try/", INPUT, **HX).status_code for _ in range(3)] == [
        200,
        200,
        429,
    ]
    assert client_for(viewer).post(BASE + "try/", INPUT, **HX).status_code == 200
    assert PrototypeCall.objects.count() == 3


def test_feedback_is_stored_with_the_answer_and_listed_in_step_6(
    echo_endpoint, stakeholder, member, client_for
):
    client = client_for(stakeholder)
    client.post(BASE + "try/", INPUT, **HX)
    call = PrototypeCall.objects.get()
    response = client.post(
        f"{BASE}calls/{call.pk}/feedback/", {"verdict": "down", "comment": "Vegans get stew?"}, **HX
    )
    assert "Thank you" in response.content.decode()
    feedback = PrototypeFeedback.objects.get()
    assert (feedback.call, feedback.user, feedback.verdict) == (call, stakeholder, "down")
    project_page = client_for(member).get("/o/acme/projects/menu-recommender/").content.decode()
    assert 'id="project-prototype"' in project_page
    assert "Vegans get stew?" in project_page and "favourite_dishes=bulgogi" in project_page


def test_feedback_is_only_on_ones_own_answer(echo_endpoint, stakeholder, member, client_for):
    client_for(stakeholder).post(BASE + "try/", INPUT, **HX)
    call = PrototypeCall.objects.get()
    html = client_for(member).post(f"{BASE}calls/{call.pk}/feedback/", {"verdict": "up"}, **HX)
    assert "an answer you asked for" in html.content.decode()
    assert not PrototypeFeedback.objects.exists()


def test_batch_compares_model_and_baseline_and_counts_disagreements(
    echo_endpoint, member, client_for
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    csv = (
        b"favourite_dishes,likes_spicy,diet\n"
        b"bulgogi,false,vegan\njapchae,true,none\nbibimbap,false,vegan\n"
    )
    echo_endpoint.output_field = "received.guest.favourite_dishes"
    echo_endpoint.save()
    response = client_for(member).post(
        BASE + "batch/", {"file": SimpleUploadedFile("b.csv", csv, "text/csv")}, **HX
    )
    html = response.content.decode()
    # The model echoes the favourite dish; the rules answer bibimbap (vegan), kimchi_jjigae
    # (spicy), bibimbap (vegan): rows 1 and 2 differ, row 3 agrees.
    assert html.count('class="disagree"') == 2
    assert "<strong>2</strong> disagreements in 3 rows" in html


def test_the_team_sets_up_the_endpoint_without_ever_seeing_the_headers_again(
    project, member, client_for, waiter_rules
):
    client = client_for(member)
    response = client.post(
        BASE + "settings/",
        {"url": "https://models.example.com/invocations", "protocol": "mlflow_split",
         "output_kind": "class", "top_k": 5, "headers": "X-Api-Key: abc123"},
    )  # fmt: skip
    assert response.status_code == 302
    page = client.get(BASE + "settings/").content.decode()
    assert "abc123" not in page and "Headers are saved" in page
    assert AuditEvent.objects.filter(action="prototype.endpoint_saved").exists()


def test_a_viewer_can_not_change_the_settings(project, viewer, client_for):
    assert client_for(viewer).get(BASE + "settings/").status_code == 403


def test_input_fields_come_from_an_example_file(project, member, client_for):
    from django.core.files.uploadedfile import SimpleUploadedFile

    csv = (
        b"age,city,visited_on,notes\n31,Seoul,2026-01-02,first\n"
        b"45,Busan,2026-02-03,second\n22,Seoul,2026-03-04,third\n"
    )
    response = client_for(member).post(
        BASE + "settings/fields/", {"example_file": SimpleUploadedFile("e.csv", csv, "text/csv")}
    )
    assert response.status_code == 302
    endpoint = services.endpoint_for(project=project)
    assert endpoint.fields == [
        {"name": "age", "type": "integer"},
        {"name": "city", "type": "category", "choices": ["Busan", "Seoul"]},
        {"name": "visited_on", "type": "date"},
        {"name": "notes", "type": "text"},
    ]
    assert [e.inputs["age"] for e in endpoint.examples.all()] == [31, 45, 22]
    page = client_for(member).get(BASE).content.decode()
    assert 'type="date"' in page and '<option value="Busan">' in page


def test_input_fields_come_from_a_json_schema(project, member, client_for):
    schema = (
        '{"type": "object", "properties": '
        '{"amount": {"type": "number"}, "channel": {"enum": ["web", "app"]}}}'
    )
    client_for(member).post(BASE + "settings/fields/", {"json_schema": schema})
    assert services.endpoint_for(project=project).fields == [
        {"name": "amount", "type": "number"},
        {"name": "channel", "type": "category", "choices": ["web", "app"]},
    ]


def test_a_bad_schema_is_an_inline_error(project, member, client_for):
    html = (
        client_for(member)
        .post(BASE + "settings/fields/", {"json_schema": "{nope"})
        .content.decode()
    )
    assert "not valid JSON" in html


def test_a_share_link_opens_the_prototype_read_only_until_revoked(
    echo_endpoint, member, client, client_for
):
    html = (
        client_for(member)
        .post(BASE + "share-links/", {"label": "Chef", "days": 3})
        .content.decode()
    )
    url = html.split('id="new-share-link">')[1].split("<")[0]
    path = url.removeprefix("http://testserver")
    page = client.get(path).content.decode()
    assert "read-only" in page and 'name="favourite_dishes"' in page
    assert "Feedback so far" not in page and "/settings/" not in page
    answer = client.post(path, INPUT, **HX).content.decode()
    assert '<p class="proto-value">vegan</p>' in answer and "Was this a good answer" not in answer
    link = ShareLink.objects.get()
    assert PrototypeCall.objects.get().share_link == link
    client_for(member).post(f"{BASE}share-links/{link.pk}/revoke/")
    assert client.get(path).status_code == 404


def test_an_expired_share_link_is_a_404(echo_endpoint, member, client):
    link, token = services.share_link_create(project=echo_endpoint.project, user=member, days=1)
    link.expires_at = timezone.now() - timedelta(seconds=1)
    link.save()
    assert client.get(f"/share/{token}/").status_code == 404
    assert client.get("/share/not-a-token/").status_code == 404


def test_a_share_link_is_rate_limited(echo_endpoint, member, client, settings):
    settings.PROTOTYPE_SHARE_RATE = "1/m"
    _, token = services.share_link_create(project=echo_endpoint.project, user=member, days=1)
    statuses = [client.post(f"/share/{token}/", INPUT, **HX).status_code for _ in range(2)]
    assert statuses == [200, 429]


def test_only_admins_keep_the_allow_list(org, admin, member, client_for):
    assert client_for(member).get("/o/acme/prototype-hosts/").status_code == 403
    client = client_for(admin)
    client.post("/o/acme/prototype-hosts/", {"host": "Models.Example.com"})
    entry = AllowedHost.objects.get()
    assert (entry.host, entry.allow_private) == ("models.example.com", False)
    html = client.post("/o/acme/prototype-hosts/", {"host": "models.example.com"}).content.decode()
    assert "already on the allow-list" in html
    html = client.post("/o/acme/prototype-hosts/", {"host": "http://x/y"}).content.decode()
    assert "A host name or an IP address only" in html
    client.post(f"/o/acme/prototype-hosts/{entry.pk}/delete/")
    assert not AllowedHost.objects.exists()


def test_a_member_saves_the_current_input_as_an_example(echo_endpoint, member, client_for):
    client = client_for(member)
    response = client.post(BASE + "examples/", INPUT | {"name": "Spicy vegan"}, **HX)
    example = echo_endpoint.examples.get()
    assert response["HX-Redirect"] == f"{BASE}?example={example.pk}"
    assert example.inputs == {"favourite_dishes": "bulgogi", "likes_spicy": True, "diet": "vegan"}
    page = client.get(f"{BASE}?example={example.pk}").content.decode()
    assert 'value="bulgogi"' in page and "Spicy vegan" in page
    assert not PrototypeCall.objects.exists()  # saving asks no model
    response = client.post(f"{BASE}examples/{example.pk}/delete/")
    assert response.status_code == 302 and not echo_endpoint.examples.exists()


def test_a_viewer_can_not_save_examples(echo_endpoint, viewer, client_for):
    response = client_for(viewer).post(BASE + "examples/", INPUT | {"name": "x"})
    assert response.status_code == 403


def test_deleting_an_example_twice_says_it_is_gone(echo_endpoint, member, client_for):
    example = echo_endpoint.examples.create(name="Spicy", inputs={})
    client = client_for(member)
    first = client.post(f"{BASE}examples/{example.pk}/delete/", follow=True).content.decode()
    assert "Example “Spicy” deleted." in first
    again = client.post(f"{BASE}examples/{example.pk}/delete/", follow=True).content.decode()
    assert "That example is already gone." in again
