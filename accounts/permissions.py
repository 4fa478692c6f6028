"""The one permissions table. Views, templates and the API all ask `role_can(role, perm)`
(or `Membership.can`), so a role's powers are changed here and nowhere else."""

from django.db import models


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    ADMIN = "admin", "Admin"
    MEMBER = "member", "Member"
    STAKEHOLDER = "stakeholder", "Stakeholder"
    VIEWER = "viewer", "Viewer"


class Perm(models.TextChoices):
    READ = "read", "Read projects and analyses"
    EDIT = "edit", "Create and edit projects, runs, evaluations and A/B tests"
    COMMENT = "comment", "Comment on sections"
    APPROVE = "approve", "Decide on proposals"
    MANAGE_MEMBERS = "manage_members", "Invite members, change roles, remove members"
    MANAGE_TOKENS = "manage_tokens", "Create and revoke own API tokens"
    DELETE_PROJECTS = "delete_projects", "Delete projects with everything in them"


ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    Role.OWNER: frozenset(Perm.values),
    Role.ADMIN: frozenset(Perm.values),
    Role.MEMBER: frozenset({Perm.READ, Perm.EDIT, Perm.COMMENT, Perm.MANAGE_TOKENS}),
    Role.STAKEHOLDER: frozenset({Perm.READ, Perm.COMMENT, Perm.APPROVE, Perm.MANAGE_TOKENS}),
    Role.VIEWER: frozenset({Perm.READ}),
}


def role_can(role: str, perm: str) -> bool:
    return perm in ROLE_PERMISSIONS.get(role, frozenset())


def permission_matrix() -> list[tuple[str, list[bool]]]:
    """Rows of (permission label, [allowed per role]) for the members page."""
    return [(perm.label, [role_can(role, perm) for role in Role.values]) for perm in Perm]
