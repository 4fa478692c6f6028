"""API tokens: created on the tokens page or by the command, shown once, stored hashed,
scoped read/write on top of the user's role, revocable, expiring."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.utils import timezone

from accounts import services
from accounts.models import ApiToken, AuditEvent, Membership


def bearer(raw: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


@pytest.fixture
def make_token(org):
    def make(user, scope="write", **kwargs):
        return services.api_token_create(org=org, user=user, name="ci", scope=scope, **kwargs)[1]

    return make


def test_a_token_is_stored_only_as_a_hash(org, member):
    token, raw = services.api_token_create(org=org, user=member, name="laptop", scope="write")
    assert raw.startswith("mlp_")
    assert raw not in token.token_hash
    assert ApiToken.find_active(raw) == token
    assert AuditEvent.objects.filter(action="api_token.created", target="laptop").exists()


def test_a_token_needs_a_membership_in_its_organization(org, outsider):
    with pytest.raises(ValidationError):
        services.api_token_create(org=org, user=outsider, name="x", scope="read")


def test_a_token_name_is_unique_among_the_users_active_tokens(org, member):
    token, _ = services.api_token_create(org=org, user=member, name="ci")
    with pytest.raises(ValidationError):
        services.api_token_create(org=org, user=member, name="ci")
    services.api_token_revoke(token=token, actor=member)
    services.api_token_create(org=org, user=member, name="ci")


def test_the_api_accepts_a_bearer_token(client, member, project, make_token):
    response = client.get("/api/v1/projects/", **bearer(make_token(member, "read")))
    assert response.status_code == 200
    assert [p["slug"] for p in response.json()["results"]] == [project.slug]


@pytest.mark.parametrize(
    "header",
    ["", "Bearer", "Bearer mlp_not-a-real-token", "Bearer a b", "Token something"],
    ids=["none", "empty", "unknown", "malformed", "other-scheme"],
)
def test_the_api_answers_401_without_a_valid_token(client, db, header):
    extra = {"HTTP_AUTHORIZATION": header} if header else {}
    response = client.get("/api/v1/projects/", **extra)
    assert response.status_code == 401
    assert response.json()["error"]["status"] == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_a_revoked_token_answers_401(client, org, member):
    token, raw = services.api_token_create(org=org, user=member, name="old")
    services.api_token_revoke(token=token, actor=member)
    assert client.get("/api/v1/projects/", **bearer(raw)).status_code == 401


def test_an_expired_token_answers_401(client, org, member):
    token, raw = services.api_token_create(
        org=org, user=member, name="old", expires_at=timezone.now() + timedelta(days=1)
    )
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert client.get("/api/v1/projects/", **bearer(raw)).status_code == 401


def test_a_token_stops_working_when_its_user_leaves_the_organization(
    client, org, member, make_token
):
    raw = make_token(member)
    Membership.objects.filter(organization=org, user=member).delete()
    assert client.get("/api/v1/projects/", **bearer(raw)).status_code == 401


def test_a_token_of_a_deactivated_user_answers_401(client, member, make_token):
    raw = make_token(member)
    member.is_active = False
    member.save()
    assert client.get("/api/v1/projects/", **bearer(raw)).status_code == 401


def test_a_read_token_may_not_write(client, member, make_token):
    response = client.post(
        "/api/v1/projects/",
        {"name": "X"},
        content_type="application/json",
        **bearer(make_token(member, "read")),
    )
    assert response.status_code == 403
    assert "read-only" in response.json()["error"]["message"]


def test_a_write_token_of_a_viewer_still_may_not_write(client, viewer, make_token):
    response = client.post(
        "/api/v1/projects/",
        {"name": "X"},
        content_type="application/json",
        **bearer(make_token(viewer, "write")),
    )
    assert response.status_code == 403


def test_a_write_token_of_a_member_may_write(client, member, make_token):
    response = client.post(
        "/api/v1/projects/",
        {"name": "From CI"},
        content_type="application/json",
        **bearer(make_token(member, "write")),
    )
    assert response.status_code == 201


def test_a_token_acts_in_its_own_organization_whatever_the_header_says(
    client, member, project, other_org, other_project, make_token
):
    response = client.get(
        "/api/v1/projects/", HTTP_X_ORGANIZATION=other_org.slug, **bearer(make_token(member))
    )
    assert [p["slug"] for p in response.json()["results"]] == [project.slug]


def test_last_used_is_written_at_most_once_a_minute(client, member, make_token):
    raw = make_token(member, "read")
    client.get("/api/v1/projects/", **bearer(raw))
    token = ApiToken.objects.get()
    first = token.last_used_at
    assert first is not None
    client.get("/api/v1/projects/", **bearer(raw))
    token.refresh_from_db()
    assert token.last_used_at == first
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=first - timedelta(seconds=61))
    client.get("/api/v1/projects/", **bearer(raw))
    token.refresh_from_db()
    assert token.last_used_at > first


def test_the_tokens_page_lists_only_my_tokens(org, member, admin, client_for):
    services.api_token_create(org=org, user=member, name="mine")
    services.api_token_create(org=org, user=admin, name="theirs")
    response = client_for(member).get(f"/o/{org.slug}/tokens/")
    assert response.status_code == 200
    assert "mine" in response.text
    assert "theirs" not in response.text


def test_a_viewer_may_not_manage_tokens(org, viewer, client_for):
    assert client_for(viewer).get(f"/o/{org.slug}/tokens/").status_code == 403


def test_creating_a_token_on_the_page_shows_it_once(org, member, client_for):
    client = client_for(member)
    response = client.post(
        f"/o/{org.slug}/tokens/",
        {"name": "notebook", "scope": "write", "expires_in_days": "30"},
        follow=True,
    )
    token = ApiToken.objects.get(user=member)
    shown = response.context["new_token"]["token"]
    assert shown in response.text
    assert ApiToken.find_active(shown) == token
    assert token.scope == "write"
    assert (token.expires_at - timezone.now()).days in (29, 30)
    assert shown not in client.get(f"/o/{org.slug}/tokens/").text


def test_creating_a_token_without_a_name_shows_the_error(org, member, client_for):
    response = client_for(member).post(f"/o/{org.slug}/tokens/", {"name": "", "scope": "read"})
    assert response.status_code == 200
    assert "This field is required" in response.text
    assert not ApiToken.objects.exists()


def test_revoking_a_token_on_the_page(org, member, client, client_for):
    token, raw = services.api_token_create(org=org, user=member, name="old")
    response = client_for(member).post(f"/o/{org.slug}/tokens/{token.pk}/revoke/")
    assert response.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert client.get("/api/v1/projects/", **bearer(raw)).status_code == 401


def test_a_member_cannot_revoke_someone_elses_token(org, member, admin, client_for):
    token, _ = services.api_token_create(org=org, user=admin, name="admin's")
    response = client_for(member).post(f"/o/{org.slug}/tokens/{token.pk}/revoke/")
    assert response.status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None


def test_the_command_prints_a_working_token(client, org, member, project):
    out = StringIO()
    call_command(
        "create_api_token",
        "--user",
        member.email.upper(),
        "--org",
        org.slug,
        "--name",
        "ci",
        "--scope",
        "write",
        stdout=out,
    )
    raw = out.getvalue().strip()
    token = ApiToken.find_active(raw)
    assert (token.user, token.organization, token.scope) == (member, org, "write")
    assert client.get("/api/v1/projects/", **bearer(raw)).status_code == 200


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--user", "nobody@x.test", "--org", "acme"], "No user"),
        (["--user", "member@acme.test", "--org", "nope"], "No organization"),
        (["--user", "outsider@globex.test", "--org", "acme"], "not a member"),
    ],
)
def test_the_command_refuses_bad_arguments(org, member, outsider, args, message):
    with pytest.raises(CommandError, match=message):
        call_command("create_api_token", *args, "--name", "ci", stdout=StringIO())
