from .analyses import (
    BusinessAnalysis,
    DataSource,
    Interview,
    Offering,
    OutputUse,
    Rating,
    UseCase,
)
from .projects import Project, ProjectQuerySet, Stage

__all__ = [
    "BusinessAnalysis",
    "DataSource",
    "Interview",
    "Offering",
    "OutputUse",
    "Project",
    "ProjectQuerySet",
    "Rating",
    "Stage",
    "UseCase",
]
