"""Demo data for `manage.py load_demo`: the demo organizations and users, then the seed's
stories, told by loaders that each app registers from its `AppConfig.ready()`.

Loaders run in the order of their `order` number, inside one transaction; each is
idempotent (keyed on slugs and names), so loading again updates and duplicates nothing.
The order is the story's: the projects first, then what evaluation adds to them (the A/B
test, the runs, the evaluation), then the business analysis and the other company.
"""

from collections.abc import Callable
from dataclasses import dataclass

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


@dataclass(frozen=True)
class DemoOrganizations:
    demo: Organization  # where every story is told
    other: Organization  # another company, whose data the demo organization never sees


@dataclass(frozen=True)
class DemoLoader:
    name: str
    order: int
    load: Callable[[DemoOrganizations], object]


_loaders: dict[str, DemoLoader] = {}


def register_demo_loader(
    name: str, *, order: int, load: Callable[[DemoOrganizations], object]
) -> None:
    """Run `load(orgs)` as the `order`-th part of the demo (registering `name` again
    replaces it)."""
    _loaders[name] = DemoLoader(name=name, order=order, load=load)


def demo_loaders() -> list[DemoLoader]:
    return sorted(_loaders.values(), key=lambda loader: (loader.order, loader.name))


def demo_user(email: str, full_name: str) -> User:
    user = User.objects.filter(email__iexact=email).first()
    if user is None:
        user = User.objects.create_user(email=email, password=DEMO_PASSWORD, full_name=full_name)
    return user


def demo_organizations() -> DemoOrganizations:
    """The demo organization with one user per role, and another company with its owner."""
    demo, _ = Organization.objects.get_or_create(
        slug="demo", defaults={"name": "Demo Restaurant Group"}
    )
    for email, name, role in DEMO_USERS:
        membership_add(org=demo, user=demo_user(email, name), role=role)
    other, _ = Organization.objects.get_or_create(slug="other", defaults={"name": "Other Company"})
    membership_add(org=other, user=demo_user("other@example.com", "Otto Other"), role=Role.OWNER)
    return DemoOrganizations(demo=demo, other=other)


@transaction.atomic
def load_demo() -> DemoOrganizations:
    orgs = demo_organizations()
    for loader in demo_loaders():
        loader.load(orgs)
    return orgs
