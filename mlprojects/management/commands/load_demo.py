"""`python manage.py load_demo`: the demo organizations and users. Idempotent: running it
again updates what it created and duplicates nothing."""

from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.models import Organization, User
from accounts.permissions import Role
from accounts.services import membership_add

DEMO_PASSWORD = "mlprojects-demo"  # noqa: S105 (public demo logins, printed by make run)
DEMO_USERS = [
    ("owner@example.com", "Olivia Owner", Role.OWNER),
    ("admin@example.com", "Adam Admin", Role.ADMIN),
    ("member@example.com", "Mina Member", Role.MEMBER),
    ("stakeholder@example.com", "Sam Stakeholder", Role.STAKEHOLDER),
    ("viewer@example.com", "Vera Viewer", Role.VIEWER),
]


def demo_user(email: str, full_name: str) -> User:
    user = User.objects.filter(email__iexact=email).first()
    if user is None:
        user = User.objects.create_user(email=email, password=DEMO_PASSWORD, full_name=full_name)
    return user


class Command(BaseCommand):
    help = "Create (or refresh) the demo organizations, users and the seed's stories."

    @transaction.atomic
    def handle(self, *args, **options) -> None:
        demo, _ = Organization.objects.get_or_create(
            slug="demo", defaults={"name": "Demo Restaurant Group"}
        )
        for email, name, role in DEMO_USERS:
            membership_add(org=demo, user=demo_user(email, name), role=role)
        other, _ = Organization.objects.get_or_create(
            slug="other", defaults={"name": "Other Company"}
        )
        membership_add(
            org=other, user=demo_user("other@example.com", "Otto Other"), role=Role.OWNER
        )
        from mlprojects.lifecycle.demo import load_stories

        load_stories(demo=demo, other=other, stdout=self.stdout)
        self.stdout.write(self.style.SUCCESS("Demo data ready."))
