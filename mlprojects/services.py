"""State changes of the lifecycle domain."""

from django.db import transaction
from django.utils.text import slugify

from accounts.models import Organization, User
from accounts.services import audit

from .models import Project


def unique_project_slug(*, org: Organization, name: str, exclude_id: int | None = None) -> str:
    base = slugify(name)[:70] or "project"
    taken = set(
        Project.objects.filter(organization=org, slug__startswith=base)
        .exclude(pk=exclude_id)
        .values_list("slug", flat=True)
    )
    slug, n = base, 2
    while slug in taken:
        slug, n = f"{base}-{n}", n + 1
    return slug


@transaction.atomic
def project_create(
    *, org: Organization, user: User | None, name: str, summary: str = "", slug: str = ""
) -> Project:
    project = Project.objects.create(
        organization=org,
        name=name.strip(),
        slug=slug or unique_project_slug(org=org, name=name),
        summary=summary,
        owner=user,
        created_by=user,
    )
    audit(org=org, actor=user, action="project.created", target=project.name)
    return project
