import pytest

from mlprojects.lifecycle.services import section_update
from mlprojects.review.services import proposal_submit


@pytest.fixture
def proj(project):
    """The shared test project, under the short name these tests use."""
    return project


@pytest.fixture
def written(proj, member):
    """The project with a phenomenon written by the member."""
    section_update(
        project=proj, user=member, section="phenomenon", values={"what": "Revenue fell."}
    )
    return proj


@pytest.fixture
def submitted(written, member, stakeholder, admin, owner):
    """v1 submitted by the member; the stakeholder, admin and owner are asked."""
    return proposal_submit(project=written, user=member)
