"""The demo's production data: the fraud model deployed for 60 days with late labels, a
new merchant category in week 6 that drifts, drags the estimated recall below step 5's
minimum before the chargebacks confirm it and tops the worst slices; the alert that
fired is acknowledged, recorded as a finding and carried into cycle 2. The restaurant's
daily series. Loaded once, quickly."""

import io
import statistics
from collections import Counter

import pytest
from django.core.management import call_command

from evaluation.models import Alert, Deployment, DriftReport, MetricValue, MonitoringWindow
from evaluation.monitoring.demo import (
    DAYS,
    LABEL_DELAY_DAYS,
    NEW_CATEGORY,
    NEW_CATEGORY_DAY,
    PREDICTION_ROWS,
    REQUIRED_RECALL,
)
from mlprojects.models import Finding, Hypothesis, Project


@pytest.fixture
def demo(db, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    call_command("load_demo", stdout=io.StringIO())


@pytest.fixture
def fraud(demo):
    return Project.objects.get(slug="fraud-detection")


def windows_of(project):
    return list(MonitoringWindow.objects.filter(project=project).order_by("start"))


def check_the_fraud_model_is_deployed_and_its_new_merchant_category_drifts(fraud):
    deployment = Deployment.objects.get(project=fraud)
    assert deployment.model_version.ref == "fraud-gbm/1"
    assert deployment.model_version.registered_model.aliases == {"champion": 1}
    report = DriftReport.objects.get(project=fraud)
    assert report.status == "succeeded"
    merchant = next(c for c in report.result["columns"] if c["column"] == "merchant_category")
    assert merchant["drifted"] and merchant["method"] == "jensenshannon"
    assert Alert.objects.get(project=fraud, kind="drift").drift_report == report


def check_sixty_days_of_predictions_with_labels_thirty_days_late(fraud):
    found = windows_of(fraud)
    assert len(found) == DAYS and all(w.rows == PREDICTION_ROWS for w in found)
    assert found[0].is_reference
    old, recent = found[: DAYS - LABEL_DELAY_DAYS - 1], found[DAYS - LABEL_DELAY_DAYS + 1 :]
    # Chargebacks cover the old windows; recent ones only have the cardholders' reports.
    assert all(w.labelled_rows == w.rows for w in old)
    assert all(w.labelled_rows < w.rows / 4 for w in recent)
    delay = found[1].result["label_delay"]["median_seconds"]
    assert delay == pytest.approx(LABEL_DELAY_DAYS * 86_400, rel=0.05)
    assert MetricValue.objects.filter(project=fraud).count() == DAYS - LABEL_DELAY_DAYS


def check_the_new_category_drifts_and_tops_the_worst_slices_in_week_six(fraud):
    found = windows_of(fraud)
    after = found[NEW_CATEGORY_DAY:]
    drifted = [{c["column"] for c in w.result["drift"]["columns"] if c["drifted"]} for w in after]
    assert all("merchant_category" in d for d in drifted)
    tops = [w.result["worst_slices"][0] for w in after if w.result["worst_slices"]]
    assert sum(s["value"] == NEW_CATEGORY for s in tops) > len(tops) / 2


def check_the_estimated_recall_dips_below_the_minimum_before_labels_confirm_it(fraud):
    found = windows_of(fraud)
    estimated = [w.result["estimated_performance"]["recall"] for w in found]
    before, after = estimated[1:NEW_CATEGORY_DAY], estimated[NEW_CATEGORY_DAY:]
    # A noisy day may cross alone; it takes two in a row to alert.
    assert statistics.median(before) > REQUIRED_RECALL > statistics.median(after)
    alert = Alert.objects.get(project=fraud, kind="estimated_performance")
    assert alert.breach_started_at == found[NEW_CATEGORY_DAY].start
    # No chargeback for week 6 had arrived when the estimate fell.
    assert alert.breach_started_at > found[DAYS - LABEL_DELAY_DAYS].start


def check_each_breach_alerts_once_and_the_estimate_is_acknowledged(fraud):
    kinds = Counter(Alert.objects.filter(project=fraud).values_list("kind", flat=True))
    assert {"drift", "estimated_performance", "feature_drift"} <= set(kinds)
    assert set(kinds.values()) == {1}
    feature = Alert.objects.get(project=fraud, kind="feature_drift")
    assert "merchant_category" in feature.details["columns"] and feature.status == "open"
    estimate = Alert.objects.get(project=fraud, kind="estimated_performance")
    assert estimate.status == "acknowledged"
    assert estimate.acknowledged_by.email == "owner@example.com"


def check_the_finding_became_cycle_two_hypothesis_and_cause(fraud):
    assert fraud.cycle == 2
    finding = Finding.objects.get(cycle__project=fraud)
    alert = Alert.objects.get(project=fraud, kind="estimated_performance")
    assert finding.cycle.number == 1 and finding.status == "carried_forward"
    assert finding.evidence_url.endswith(f"#alert-{alert.pk}")
    assert finding.evidence["alert"] == alert.pk
    hypothesis = Hypothesis.objects.get(pk=finding.hypothesis_id)
    assert hypothesis.cycle.number == 2 and "crypto exchanges" in hypothesis.statement
    assert finding.cause.cycle.number == 2 and "crypto exchanges" in finding.cause.title


def test_the_fraud_story(fraud):
    """One load of the demo (it takes a while), every part of the story checked."""
    check_the_fraud_model_is_deployed_and_its_new_merchant_category_drifts(fraud)
    check_sixty_days_of_predictions_with_labels_thirty_days_late(fraud)
    check_the_new_category_drifts_and_tops_the_worst_slices_in_week_six(fraud)
    check_the_estimated_recall_dips_below_the_minimum_before_labels_confirm_it(fraud)
    check_each_breach_alerts_once_and_the_estimate_is_acknowledged(fraud)
    check_the_finding_became_cycle_two_hypothesis_and_cause(fraud)


def test_the_restaurant_has_daily_revenue_and_second_visit_rate_and_reloading_adds_nothing(
    demo,
):
    names = set(
        MetricValue.objects.filter(project__slug="restaurant-revenue").values_list(
            "metric__name", flat=True
        )
    )
    assert names == {"Daily revenue", "Second-visit rate of first-time guests"}
    assert MetricValue.objects.filter(project__slug="restaurant-revenue").count() == 2 * DAYS
    counts = (Deployment.objects.count(), MetricValue.objects.count(), Alert.objects.count())
    call_command("load_demo", stdout=io.StringIO())
    assert counts == (
        Deployment.objects.count(),
        MetricValue.objects.count(),
        Alert.objects.count(),
    )


def test_the_fraud_monitoring_page_offers_the_alerts_drift_cells_and_slices(demo, client):
    client.post(
        "/accounts/login/", {"username": "owner@example.com", "password": "mlprojects-demo"}
    )
    html = client.get("/o/demo/projects/fraud-detection/monitoring/").content.decode()
    assert "Estimated recall below" in html and "Acknowledged" in html
    assert "Record merchant_category as finding" in html
    assert 'name="slice_column"' in html
