"""Every model of the app, for Django's app registry and for `from mlprojects.models import
…`. The models themselves live in their domain packages; the lifecycle package lists its
own exports, so they are named once."""

from mlprojects.analyses.models import (
    BusinessAnalysis,
    DataSource,
    Interview,
    Offering,
    OutputUse,
    Rating,
    UseCase,
)
from mlprojects.lifecycle.models import *  # noqa: F403 (exactly its __all__)
from mlprojects.lifecycle.models import __all__ as _lifecycle_names
from mlprojects.review.models import (
    ANALYSIS_SECTION,
    OPEN_STATUSES,
    PROPOSAL_TRANSITIONS,
    Comment,
    Decision,
    Proposal,
    ProposalReview,
    ProposalStatus,
)

__all__ = [
    "BusinessAnalysis",
    "DataSource",
    "Interview",
    "Offering",
    "OutputUse",
    "Rating",
    "UseCase",
    *_lifecycle_names,
    "ANALYSIS_SECTION",
    "OPEN_STATUSES",
    "PROPOSAL_TRANSITIONS",
    "Comment",
    "Decision",
    "Proposal",
    "ProposalReview",
    "ProposalStatus",
]
