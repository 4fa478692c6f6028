"""The demo's production data: the fraud model deployed with a drift alert acknowledged,
late recall values, and the restaurant's daily series - loaded once, quickly."""

import io
import time

import pytest
from django.core.management import call_command

from evaluation.models import Alert, Deployment, DriftReport, MetricValue
from evaluation.monitoring.demo import DAYS, LABEL_DELAY_DAYS
from mlprojects.models import Finding


@pytest.fixture
def demo(db, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    call_command("load_demo", stdout=io.StringIO())


def test_the_fraud_model_is_deployed_and_its_new_merchant_category_drifts(demo):
    deployment = Deployment.objects.get(project__slug="fraud-detection")
    assert deployment.model_version.ref == "fraud-gbm/1"
    assert deployment.model_version.registered_model.aliases == {"champion": 1}
    report = DriftReport.objects.get(project__slug="fraud-detection")
    assert report.status == "succeeded"
    merchant = next(c for c in report.result["columns"] if c["column"] == "merchant_category")
    assert merchant["drifted"] and merchant["method"] == "jensenshannon"
    alert = Alert.objects.get(project__slug="fraud-detection")
    assert alert.kind == "drift" and alert.status == "acknowledged"
    assert alert.acknowledged_by.email == "owner@example.com"
    finding = Finding.objects.get(cycle__project__slug="fraud-detection")
    assert finding.evidence_url.endswith(f"#alert-{alert.pk}") and finding.status == "open"


def test_recall_is_known_only_where_the_late_labels_arrived(demo):
    values = MetricValue.objects.filter(project__slug="fraud-detection")
    assert values.count() == DAYS - LABEL_DELAY_DAYS


def test_the_restaurant_has_daily_revenue_and_second_visit_rate(demo):
    names = set(
        MetricValue.objects.filter(project__slug="restaurant-revenue").values_list(
            "metric__name", flat=True
        )
    )
    assert names == {"Daily revenue", "Second-visit rate of first-time guests"}
    assert MetricValue.objects.filter(project__slug="restaurant-revenue").count() == 2 * DAYS


def test_loading_again_adds_nothing_and_the_monitoring_part_is_quick(demo):
    from accounts.models import Organization
    from evaluation.monitoring.demo import load_monitoring_demo

    counts = (Deployment.objects.count(), MetricValue.objects.count(), Alert.objects.count())
    call_command("load_demo", stdout=io.StringIO())
    assert counts == (
        Deployment.objects.count(),
        MetricValue.objects.count(),
        Alert.objects.count(),
    )
    Deployment.objects.all().delete()
    MetricValue.objects.all().delete()
    started = time.perf_counter()
    load_monitoring_demo(Organization.objects.get(slug="demo"))
    assert time.perf_counter() - started < 5


def test_the_fraud_monitoring_page_shows_the_alert(demo, client):
    client.post(
        "/accounts/login/", {"username": "owner@example.com", "password": "mlprojects-demo"}
    )
    html = client.get("/o/demo/projects/fraud-detection/monitoring/").content.decode()
    assert "Drift in" in html and "merchant_category" in html and "Acknowledged" in html


def test_the_fraud_demo_has_prediction_windows_estimated_and_realized(demo):
    from evaluation.models import MonitoringWindow
    from evaluation.monitoring.demo import PREDICTION_DAYS, PREDICTION_ROWS

    found = list(MonitoringWindow.objects.filter(project__slug="fraud-detection"))
    assert len(found) == PREDICTION_DAYS
    assert all(w.rows == PREDICTION_ROWS for w in found)
    assert found[0].is_reference and found[0].labelled_rows == PREDICTION_ROWS
    labelled = [w for w in found if w.result["performance"]]
    assert 0 < len(labelled) < len(found)
    assert all(w.result["estimated_performance"] for w in found)
    late = found[-1].result["drift"]["columns"]
    assert any(c["column"] == "merchant_category" and c["drifted"] for c in late)
