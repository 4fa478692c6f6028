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

    def __str__(self) -> str:
        return self.name
