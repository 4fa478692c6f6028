"""Factories for incidental test data."""

import factory
from django.utils import timezone

from accounts.models import Invitation, Membership, Organization, User
from accounts.permissions import Role
from evaluation.models import Evaluation, Run
from mlprojects.lifecycle.services import cycle_create
from mlprojects.models import Project


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.org")
    full_name = factory.Faker("name")
    password = factory.PostGenerationMethodCall("set_password", "correct-horse-battery")

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):  # noqa: N805
        if create:
            obj.save()


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"Org {n}")
    slug = factory.Sequence(lambda n: f"org-{n}")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    organization = factory.SubFactory(OrganizationFactory)
    user = factory.SubFactory(UserFactory)
    role = Role.MEMBER


class ProjectFactory(factory.django.DjangoModelFactory):
    """A project with its current cycle, as `project_create` makes it (without the audit
    row)."""

    class Meta:
        model = Project
        skip_postgeneration_save = True

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Project {n}")
    slug = factory.Sequence(lambda n: f"project-{n}")

    @factory.post_generation
    def current_cycle(obj, create, extracted, **kwargs):  # noqa: N805
        if create:
            cycle_create(project=obj, number=obj.cycle, user=None)


class InvitationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Invitation

    organization = factory.SubFactory(OrganizationFactory)
    email = factory.Sequence(lambda n: f"invitee{n}@example.org")
    role = Role.MEMBER
    token_hash = factory.Sequence(lambda n: f"{n:064d}")
    expires_at = factory.LazyFunction(lambda: timezone.now() + timezone.timedelta(days=7))


class RunFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Run

    project = factory.SubFactory(ProjectFactory)
    name = factory.Sequence(lambda n: f"run-{n}")


class EvaluationFactory(factory.django.DjangoModelFactory):
    """An evaluation row without a stored file (for tenancy and list tests)."""

    class Meta:
        model = Evaluation

    project = factory.SubFactory(ProjectFactory)
    name = factory.Sequence(lambda n: f"Evaluation {n}")
    status = "queued"
    file = "evaluations/0/missing.csv"
    file_format = "csv"
    columns = factory.LazyFunction(lambda: {"y_true": "label", "y_score": "score"})
