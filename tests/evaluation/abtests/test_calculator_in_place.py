"""The design page's calculator answers in place; only there does it offer to fill the
design. The standalone calculator has no design to fill, so it offers nothing."""

import pytest

from evaluation.abtests.forms import sample_size_defaults

pytestmark = pytest.mark.django_db

URL = "/o/acme/projects/menu-recommender/ab-tests/sample-size/"


def _params() -> dict:
    return {k: v for k, v in sample_size_defaults().items() if v is not None} | {"fill_design": "1"}


def test_the_design_pages_calculator_offers_to_fill_the_design(project, member, client_for):
    html = client_for(member).get(URL, _params(), HTTP_HX_REQUEST="true").content.decode()
    assert 'id="plan-per-variant"' in html
    assert "Use in this design" in html


def test_the_standalone_calculator_offers_no_design_to_fill(project, member, client_for):
    html = client_for(member).get(URL, _params()).content.decode()
    assert 'id="plan-per-variant"' in html
    assert "Use in this design" not in html
