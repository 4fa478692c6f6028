"""An analysis covers the metrics that have results; only the primary metric is required,
and the page names the metrics left out."""

import pytest
from django.core.exceptions import ValidationError

from evaluation.abtests import jobs, services, state

from .conftest import RESULTS

pytestmark = pytest.mark.django_db


def test_a_guardrail_without_results_is_left_out_and_named(abtest, member, client_for):
    partial = {k: v for k, v in RESULTS.items() if k != "order_time"}
    state.abtest_results_set(abtest=abtest, user=member, results=partial, source="api")
    services.abtest_stop(abtest=abtest, user=member, analyse=False)
    analysis = services.abtest_analysis_request(abtest=abtest, user=member, enqueue=False)
    assert [m["key"] for m in analysis.inputs["metrics"]] == ["conversion", "revenue"]
    jobs.abtest_analysis_run(analysis_id=analysis.pk)
    html = client_for(member).get(f"/o/acme/projects/{abtest.project.slug}/ab-tests/{abtest.pk}/")
    assert "Not analysed — no results yet:" in html.text
    assert "guardrail “order_time”" in html.text


def test_the_primary_metric_is_still_required(abtest, member):
    partial = {k: v for k, v in RESULTS.items() if k != "conversion"}
    state.abtest_results_set(abtest=abtest, user=member, results=partial, source="api")
    with pytest.raises(ValidationError, match="primary metric “conversion”"):
        services.abtest_analysis_request(abtest=abtest, user=member, enqueue=False)
