"""Business model analysis (seed §2, the Uber case study): understand the business before
defining problems — what it offers, which data exists and how far it can be trusted, and
how a prediction would be used."""

from django.conf import settings
from django.db import models

from accounts.models import Organization, TimeStampedModel


class BusinessAnalysis(TimeStampedModel):
    """An analysis of a company or business unit, owned by an organization."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="business_analyses"
    )
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80)
    how_it_earns = models.TextField("How it earns money", blank=True)
    notes = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "business analyses"
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "slug"],
                name="analysis_slug_unique_per_org",
                violation_error_message="An analysis with this slug exists.",
            )
        ]

    def __str__(self) -> str:
        return self.name


class Rating(models.IntegerChoices):
    """How far a data source can be relied on, 1 (poor) to 5 (excellent)."""

    POOR = 1, "1 – poor"
    WEAK = 2, "2 – weak"
    FAIR = 3, "3 – fair"
    GOOD = 4, "4 – good"
    EXCELLENT = 5, "5 – excellent"


# The four questions the seed asks of every data source, as (field, short label).
RATING_FIELDS = [
    ("trustworthiness", "Trustworthy"),
    ("consistency", "Consistent"),
    ("label_quality", "Labels"),
    ("continuity", "Keeps coming"),
]


def rating_level(value: int | None) -> str:
    """The badge level of one rating: 4–5 `ok`, 3 `warn`, 1–2 `bad`, unrated empty."""
    if value is None:
        return ""
    if value >= 4:
        return "ok"
    return "warn" if value == 3 else "bad"


class DataSource(TimeStampedModel):
    """Data that exists in the organization (seed §2 “input”): who owns it, and whether it
    is trustworthy, consistent, well labelled and will keep coming."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="data_sources"
    )
    analysis = models.ForeignKey(
        BusinessAnalysis,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="data_sources",
    )
    name = models.CharField(max_length=200)
    owning_team = models.CharField(max_length=200, blank=True)
    description = models.TextField(blank=True)
    trustworthiness = models.PositiveSmallIntegerField(
        choices=Rating.choices, null=True, blank=True
    )
    consistency = models.PositiveSmallIntegerField(choices=Rating.choices, null=True, blank=True)
    label_quality = models.PositiveSmallIntegerField(choices=Rating.choices, null=True, blank=True)
    continuity = models.PositiveSmallIntegerField(
        choices=Rating.choices, null=True, blank=True, help_text="Will it keep coming?"
    )
    notes = models.TextField(blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(**{f"{field}__isnull": True})
                | models.Q(**{f"{field}__gte": 1, f"{field}__lte": 5}),
                name=f"data_source_{field}_1_to_5",
                violation_error_message=f"The {label.lower()} rating is 1 to 5.",
            )
            for field, label in RATING_FIELDS
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def ratings(self) -> list[tuple[str, int | None, str]]:
        """The four ratings as (label, value, badge level), in the order the seed asks."""
        return [
            (label, getattr(self, field), rating_level(getattr(self, field)))
            for field, label in RATING_FIELDS
        ]

    @property
    def weakest(self) -> tuple[str, int] | None:
        """The lowest rating given (the first on a tie), or None when nothing is rated. A
        source is only as usable as its weakest property, so this is its summary."""
        rated = [(label, value) for label, value, _ in self.ratings if value is not None]
        return min(rated, key=lambda pair: pair[1]) if rated else None

    @property
    def trust_level(self) -> str:
        weakest = self.weakest
        return rating_level(weakest[1]) if weakest else ""


class Offering(TimeStampedModel):
    """Something the business offers (seed §2 (1)) and the value it brings to customers,
    e.g. Uber's rides, Uber Eats, earning, cities, business."""

    analysis = models.ForeignKey(
        BusinessAnalysis, on_delete=models.CASCADE, related_name="offerings"
    )
    name = models.CharField(max_length=200)
    value = models.TextField("Value to customers", blank=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.name


class OutputUse(models.TextChoices):
    """How a prediction would be used (seed §2 (3)): shown to customers, or automating
    internal manual work."""

    RECOMMENDATION = "recommendation", "Shown to customers: recommendation"
    FILTER = "filter", "Shown to customers: filter"
    RANKING = "ranking", "Shown to customers: ranking"
    CUSTOMER_OTHER = "customer_other", "Shown to customers: other"
    AUTOMATION = "automation", "Automates internal manual work"


CUSTOMER_FACING_USES = frozenset(
    {OutputUse.RECOMMENDATION, OutputUse.FILTER, OutputUse.RANKING, OutputUse.CUSTOMER_OTHER}
)


class UseCase(TimeStampedModel):
    """Input data → what a model would predict → how the output is used, and the impact
    expected. Can be turned into a project, which it then links to."""

    analysis = models.ForeignKey(
        BusinessAnalysis, on_delete=models.CASCADE, related_name="use_cases"
    )
    name = models.CharField(max_length=200)
    data_sources = models.ManyToManyField(
        DataSource, blank=True, related_name="use_cases", verbose_name="Input data"
    )
    prediction = models.TextField("What a model would predict")
    output_use = models.CharField(
        "How the output is used", max_length=20, choices=OutputUse.choices
    )
    output_detail = models.TextField(
        "Where and how", blank=True, help_text="Where the output appears, or which work it saves."
    )
    expected_impact = models.TextField(blank=True)
    project = models.ForeignKey(
        "mlprojects.Project",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="source_use_cases",
    )

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_customer_facing(self) -> bool:
        return self.output_use in CUSTOMER_FACING_USES

    @property
    def output_kind(self) -> str:
        """The short name of the use, e.g. "Recommendation" or "Automation"."""
        if self.output_use == OutputUse.AUTOMATION:
            return "Automation"
        if self.output_use == OutputUse.CUSTOMER_OTHER:
            return "Customer-facing"
        return self.get_output_use_display().rsplit(": ", 1)[-1].capitalize()


class Interview(TimeStampedModel):
    """Notes from talking to another team about their data and work (seed §2 (2))."""

    analysis = models.ForeignKey(
        BusinessAnalysis, on_delete=models.CASCADE, related_name="interviews"
    )
    interviewee = models.CharField("Who", max_length=200)
    team = models.CharField(max_length=200, blank=True)
    held_on = models.DateField("When")
    learned = models.TextField("What we learned")

    class Meta:
        ordering = ["-held_on", "-id"]

    def __str__(self) -> str:
        return f"{self.interviewee} ({self.held_on:%Y-%m-%d})"
