"""The seed's stories as demo data. Each loader is idempotent (keyed on slugs/names)."""

from accounts.models import Organization, User
from mlprojects.demo_analyses import load_uber_analysis
from mlprojects.models import Project
from mlprojects.services import project_create


def _ensure_project(
    *, org: Organization, slug: str, name: str, summary: str, owner_email: str
) -> Project:
    project = Project.objects.filter(organization=org, slug=slug).first()
    if project is None:
        owner = User.objects.get(email=owner_email)
        project = project_create(org=org, user=owner, name=name, summary=summary, slug=slug)
    return project


def load_stories(*, demo: Organization, other: Organization, stdout=None) -> None:
    _ensure_project(
        org=demo,
        slug="restaurant-revenue",
        name="Restaurant revenue decline",
        summary="Revenue fell three months in a row and total guests are down; first-time "
        "guests dropped most.",
        owner_email="member@example.com",
    )
    load_uber_analysis(demo)
    _ensure_project(
        org=other,
        slug="churn-forecast",
        name="Subscriber churn forecast",
        summary="Another organization's project: never visible to the demo organization.",
        owner_email="other@example.com",
    )
