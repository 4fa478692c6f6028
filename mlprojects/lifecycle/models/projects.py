from django.conf import settings
from django.db import models

from accounts.models import Organization, TimeStampedModel
from mlprojects.lifecycle.feasibility import VERDICTS


class Stage(models.TextChoices):
    """The nine steps of the lifecycle (seed §1), in order."""

    PHENOMENON = "phenomenon", "1. Phenomenon"
    PROBLEM_DEFINITION = "problem_definition", "2. Problem definition"
    FEASIBILITY = "feasibility", "3. ML feasibility"
    GOALS = "goals", "4. Goal, objectives, metrics"
    CONSTRAINTS = "constraints", "5. Constraints and risks"
    BASELINES = "baselines", "6. Baselines and prototype"
    EVALUATION = "evaluation", "7. Metric evaluation"
    DEPLOYMENT = "deployment", "8. Deployment and monitoring"
    FURTHER_ANALYSIS = "further_analysis", "9. Further cause analysis"


class ProjectQuerySet(models.QuerySet):
    def for_org(self, org: Organization) -> "ProjectQuerySet":
        return self.filter(organization=org)

    def for_member(self, user) -> "ProjectQuerySet":
        if not user.is_authenticated:
            return self.none()
        return self.filter(organization__memberships__user=user)


class Project(TimeStampedModel):
    """An ML project of an organization, walked through the lifecycle one cycle at a time."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="projects"
    )
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80)
    summary = models.TextField(blank=True)
    stage = models.CharField(max_length=30, choices=Stage.choices, default=Stage.PHENOMENON)
    cycle = models.PositiveIntegerField(default=1)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="owned_projects",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    # Summaries of the current cycle, refreshed by every lifecycle service, so that the
    # dashboard can sort and filter without loading every section of every project.
    readiness_score = models.PositiveSmallIntegerField(default=0)
    verdict = models.CharField(max_length=16, blank=True, choices=list(VERDICTS.items()))

    objects = ProjectQuerySet.as_manager()

    class Meta:
        ordering = ["-updated_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "slug"],
                name="project_slug_unique_per_org",
                violation_error_message="A project with this slug exists in the organization.",
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def readiness_level(self) -> str:
        """`ok` / `warn` / `bad`: the badge colour of the readiness score."""
        score = self.readiness_score
        return "ok" if score >= 80 else "warn" if score >= 50 else "bad"
