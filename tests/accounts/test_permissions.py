"""The permissions table, role by role, and the views that enforce it."""

import pytest
from django.urls import reverse

from accounts.permissions import ROLE_PERMISSIONS, Perm, Role, role_can

EXPECTED = {
    Role.OWNER: {
        "read",
        "edit",
        "comment",
        "approve",
        "manage_members",
        "manage_tokens",
        "delete_projects",
    },
    Role.ADMIN: {
        "read",
        "edit",
        "comment",
        "approve",
        "manage_members",
        "manage_tokens",
        "delete_projects",
    },
    Role.MEMBER: {"read", "edit", "comment", "manage_tokens"},
    Role.STAKEHOLDER: {"read", "comment", "approve", "manage_tokens"},
    Role.VIEWER: {"read"},
}


@pytest.mark.parametrize("role", Role.values)
@pytest.mark.parametrize("perm", Perm.values)
def test_role_can_matches_the_table(role, perm):
    assert role_can(role, perm) == (perm in EXPECTED[role])


def test_every_role_has_a_row():
    assert set(ROLE_PERMISSIONS) == set(Role.values)


def test_an_unknown_role_can_do_nothing():
    assert not any(role_can("intern", perm) for perm in Perm.values)


@pytest.mark.parametrize("role", Role.values)
def test_read_lets_every_role_open_the_dashboard(role, org, user_with_role, client_for):
    response = client_for(user_with_role(role)).get(f"/o/{org.slug}/")
    assert response.status_code == 200


@pytest.mark.parametrize("role", Role.values)
def test_edit_is_required_to_create_a_project(role, org, user_with_role, client_for):
    client = client_for(user_with_role(role))
    response = client.post(f"/o/{org.slug}/projects/new/", {"name": "Churn", "summary": ""})
    if role_can(role, Perm.EDIT):
        assert response.status_code == 302
    else:
        assert response.status_code == 403


@pytest.mark.parametrize("role", Role.values)
def test_manage_members_is_required_to_invite(role, org, user_with_role, client_for):
    client = client_for(user_with_role(role))
    response = client.post(
        reverse("accounts:invite", args=[org.slug]), {"email": "new@acme.test", "role": "member"}
    )
    assert response.status_code == (302 if role_can(role, Perm.MANAGE_MEMBERS) else 403)
    assert org.invitations.exists() == role_can(role, Perm.MANAGE_MEMBERS)


@pytest.mark.parametrize("role", Role.values)
def test_manage_members_is_required_to_change_roles(role, org, user_with_role, viewer, client_for):
    membership = viewer.memberships.get(organization=org)
    client = client_for(user_with_role(role))
    response = client.post(
        reverse("accounts:membership_role", args=[org.slug, membership.pk]), {"role": "member"}
    )
    membership.refresh_from_db()
    if role_can(role, Perm.MANAGE_MEMBERS):
        assert response.status_code == 302
        assert membership.role == "member"
    else:
        assert response.status_code == 403
        assert membership.role == "viewer"


@pytest.mark.parametrize("role", Role.values)
def test_manage_members_is_required_for_settings(role, org, user_with_role, client_for):
    response = client_for(user_with_role(role)).get(f"/o/{org.slug}/settings/")
    assert response.status_code == (200 if role_can(role, Perm.MANAGE_MEMBERS) else 403)


@pytest.mark.parametrize("role", Role.values)
def test_write_api_needs_edit(role, org, user_with_role, client_for):
    client = client_for(user_with_role(role))
    response = client.post(
        "/api/v1/projects/",
        {"name": "Via API"},
        content_type="application/json",
        HTTP_X_ORGANIZATION=org.slug,
    )
    assert response.status_code == (201 if role_can(role, Perm.EDIT) else 403)
    if response.status_code == 403:
        assert response.json()["error"]["status"] == 403


def test_the_menu_shows_what_the_role_may_do(org, viewer, owner, client_for):
    viewer_page = client_for(viewer).get(f"/o/{org.slug}/").text
    owner_page = client_for(owner).get(f"/o/{org.slug}/").text
    assert "New project" not in viewer_page
    assert "New project" in owner_page
    assert f"/o/{org.slug}/settings/" in owner_page
    assert f"/o/{org.slug}/settings/" not in viewer_page
