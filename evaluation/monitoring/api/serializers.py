"""Serializers of the monitoring API: inputs separate from outputs."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.api.fields import (
    QuerySerializer,
    StrictBooleanField,
    StrictCharField,
    StrictChoiceField,
    StrictFloatField,
    StrictIdField,
    StrictIntegerField,
    StrictModelSerializer,
)
from evaluation.monitoring.models import (
    Alert,
    AlertStatus,
    Deployment,
    DriftReport,
    MetricValue,
    MonitoringWindow,
    WindowSize,
)
from evaluation.monitoring.services import MAX_INGEST_ROWS, MAX_METRIC_VALUES
from evaluation.registry.models import ModelVersion
from evaluation.registry.selectors import project_model_version_by_ref
from mlprojects.models import Finding


class DriftReportInputSerializer(serializers.Serializer):
    reference = serializers.FileField(help_text="The reference data (CSV, gzip CSV or Parquet).")
    current = serializers.FileField(help_text="The data compared with it, same format choices.")
    columns = serializers.JSONField(
        binary=True,
        required=False,
        help_text='A JSON list of the columns to compare, e.g. ["amount", "merchant"]; '
        "default: every numeric or categorical column of the reference.",
    )


class DriftColumnSerializer(serializers.Serializer):
    column = StrictCharField()
    type = StrictChoiceField(choices=["numeric", "categorical"])
    method = StrictCharField(help_text="ks, wasserstein, psi, jensenshannon, chisquare, z")
    statistic = StrictFloatField(
        allow_null=True, help_text="A p-value for ks/chisquare/z, a distance for the others."
    )
    threshold = StrictFloatField()
    drifted = StrictBooleanField()
    psi = StrictFloatField(allow_null=True)
    reference_rows = StrictIntegerField(help_text="Non-missing values in the reference.")
    current_rows = StrictIntegerField(help_text="Non-missing values in the current data.")


class DriftFileSerializer(serializers.Serializer):
    name = StrictCharField()
    format = StrictCharField()


class DriftFilesSerializer(serializers.Serializer):
    reference = DriftFileSerializer()
    current = DriftFileSerializer()


class DriftReportSerializer(StrictModelSerializer):
    project = StrictIntegerField(source="project_id", read_only=True)
    error = serializers.SerializerMethodField()
    files = serializers.SerializerMethodField()
    columns = serializers.SerializerMethodField()
    share_drifted = serializers.SerializerMethodField()
    drifted_columns = serializers.SerializerMethodField()
    dataset_drifted = serializers.SerializerMethodField()
    drift_share = serializers.SerializerMethodField()

    class Meta:
        model = DriftReport
        fields = [
            "id",
            "project",
            "status",
            "error",
            "files",
            "columns",
            "share_drifted",
            "drifted_columns",
            "dataset_drifted",
            "drift_share",
            "attempts",
            "created_at",
            "started_at",
            "finished_at",
        ]

    def _result(self, report: DriftReport, key: str):
        return (report.result or {}).get(key)

    def get_error(self, report: DriftReport) -> str | None:
        return report.error or None

    @extend_schema_field(DriftFilesSerializer)
    def get_files(self, report: DriftReport) -> dict:
        return {
            "reference": {"name": report.reference_filename, "format": report.reference_format},
            "current": {"name": report.current_filename, "format": report.current_format},
        }

    @extend_schema_field(DriftColumnSerializer(many=True, allow_null=True))
    def get_columns(self, report: DriftReport) -> list | None:
        columns = self._result(report, "columns")
        return DriftColumnSerializer(columns, many=True).data if columns is not None else None

    def get_share_drifted(self, report: DriftReport) -> float | None:
        return self._result(report, "share_drifted")

    def get_drifted_columns(self, report: DriftReport) -> int | None:
        return self._result(report, "drifted_columns")

    def get_dataset_drifted(self, report: DriftReport) -> bool | None:
        return self._result(report, "dataset_drifted")

    def get_drift_share(self, report: DriftReport) -> float | None:
        return self._result(report, "drift_share")


# -- deployments ------------------------------------------------------------------------------


class DeploymentInputSerializer(serializers.Serializer):
    what = StrictCharField(
        max_length=200, help_text="What is deployed: a model name, a version, a release tag."
    )
    model_version = StrictCharField(
        max_length=200,
        required=False,
        allow_blank=True,
        default="",
        help_text='The registered model version that is deployed, "name/version", when '
        "there is one: a version of this project's registered models.",
    )
    environment = StrictCharField(max_length=100, required=False, default="production")
    since = serializers.DateTimeField(help_text="When it started serving (ISO 8601).")
    traffic_share = StrictFloatField(
        min_value=0, max_value=1, required=False, default=1.0, help_text="0–1; 1 = all traffic."
    )
    notes = StrictCharField(required=False, allow_blank=True, default="")

    def validate_model_version(self, value: str) -> ModelVersion | None:
        if not value.strip():
            return None
        version = project_model_version_by_ref(self.context["project"], value)
        if version is None:
            raise serializers.ValidationError(
                f"No registered model version “{value}” in this project "
                '(name it "name/version", as on the project\'s Models page).'
            )
        return version


class DeploymentSerializer(StrictModelSerializer):
    project = StrictIntegerField(source="project_id", read_only=True)
    recorded_by = serializers.SerializerMethodField()
    model_version = serializers.SerializerMethodField(
        help_text='The registered model version that is deployed ("name/version"), or null.'
    )
    model_version_url = serializers.SerializerMethodField(
        help_text="Its entry on the project's Models page, or null."
    )

    class Meta:
        model = Deployment
        fields = [
            "id",
            "project",
            "what",
            "model_version",
            "model_version_url",
            "environment",
            "since",
            "traffic_share",
            "notes",
            "recorded_by",
            "created_at",
        ]

    def get_recorded_by(self, deployment: Deployment) -> str | None:
        user = deployment.recorded_by
        return user.email if user else None

    def get_model_version(self, deployment: Deployment) -> str | None:
        version = deployment.model_version
        return version.ref if version else None

    def get_model_version_url(self, deployment: Deployment) -> str | None:
        version = deployment.model_version
        if version is None:
            return None
        request = self.context.get("request")
        url = version.get_absolute_url()
        return request.build_absolute_uri(url) if request else url


class DeploymentListSerializer(serializers.Serializer):
    results = DeploymentSerializer(many=True)


# -- metric values ----------------------------------------------------------------------------


class MetricValueInputSerializer(serializers.Serializer):
    metric = StrictIdField(help_text="Id of a metric of the project (step 4).")
    timestamp = serializers.DateTimeField()
    value = StrictFloatField()
    segment = StrictCharField(
        max_length=200, required=False, allow_blank=True, allow_null=True, default=""
    )

    def validate_segment(self, value: str | None) -> str:
        return (value or "").strip()


class MetricValuesInputSerializer(serializers.Serializer):
    values = MetricValueInputSerializer(many=True, allow_empty=False, max_length=MAX_METRIC_VALUES)


class MetricValuesRecordedSerializer(serializers.Serializer):
    received = StrictIntegerField()
    created = StrictIntegerField()
    replaced = StrictIntegerField()


class MetricValueSerializer(StrictModelSerializer):
    metric = StrictIntegerField(source="metric_id", read_only=True)

    class Meta:
        model = MetricValue
        fields = ["metric", "timestamp", "segment", "value", "updated_at"]


class MetricValueListSerializer(serializers.Serializer):
    results = MetricValueSerializer(many=True)


class MetricValueQuerySerializer(QuerySerializer):
    metric = StrictIdField(required=False, help_text="Only this metric's values.")
    # "from" is a Python keyword: the field is named in `get_fields`.
    to = serializers.DateTimeField(required=False, help_text="Up to this time (inclusive).")
    segment = StrictCharField(required=False, allow_blank=True)

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = serializers.DateTimeField(
            required=False, help_text="From this time (inclusive)."
        )
        return fields


# -- alerts -----------------------------------------------------------------------------------


class AlertSerializer(StrictModelSerializer):
    project = StrictIntegerField(source="project_id", read_only=True)
    metric = StrictIntegerField(source="metric_id", read_only=True, allow_null=True)
    drift_report = StrictIntegerField(source="drift_report_id", read_only=True, allow_null=True)
    acknowledged_by = serializers.SerializerMethodField()
    resolved_by = serializers.SerializerMethodField()

    class Meta:
        model = Alert
        fields = [
            "id",
            "project",
            "kind",
            "status",
            "title",
            "metric",
            "segment",
            "threshold",
            "value",
            "breach_started_at",
            "breach_ended_at",
            "drift_report",
            "details",
            "created_at",
            "acknowledged_by",
            "acknowledged_at",
            "resolved_by",
            "resolved_at",
        ]

    def get_acknowledged_by(self, alert: Alert) -> str | None:
        return alert.acknowledged_by.email if alert.acknowledged_by else None

    def get_resolved_by(self, alert: Alert) -> str | None:
        return alert.resolved_by.email if alert.resolved_by else None


class AlertListSerializer(serializers.Serializer):
    results = AlertSerializer(many=True)


class AlertQuerySerializer(QuerySerializer):
    status = StrictChoiceField(choices=AlertStatus.choices, required=False)


# -- findings ---------------------------------------------------------------------------------


class FindingInputSerializer(serializers.Serializer):
    what = StrictCharField(
        required=False,
        allow_blank=True,
        help_text="What was seen (default: what the alert, drift cell or slice showed).",
    )
    evidence_url = StrictCharField(
        max_length=500,
        required=False,
        allow_blank=True,
        help_text="A link to the evidence (default: back to the alert, window or slice).",
    )
    suspected_cause = StrictCharField(required=False, allow_blank=True)
    as_cause = StrictBooleanField(
        required=False,
        default=False,
        help_text="Carried into the next cycle, it becomes a cause in the problem tree too.",
    )
    alert = StrictIdField(
        required=False, help_text="An alert of the project this finding comes from."
    )
    window = StrictIdField(
        required=False,
        help_text="A monitoring window of the project (an id of GET …/monitoring/); with "
        "`column` for a drift cell, or with `slice_column` and `slice_value` for a worst slice.",
    )
    column = StrictCharField(
        required=False, allow_blank=True, max_length=200, help_text="The drift cell's column."
    )
    slice_column = StrictCharField(
        required=False, allow_blank=True, max_length=200, help_text="The worst slice's column."
    )
    slice_value = StrictCharField(
        required=False,
        allow_blank=True,
        max_length=200,
        help_text="The worst slice's value, as the window's `worst_slices` shows it.",
    )

    def validate(self, attrs):
        if "alert" in attrs and "window" in attrs:
            raise serializers.ValidationError(
                {"window": "A finding comes from an alert or from a window, not both."}
            )
        cell = bool(attrs.get("column"))
        piece = bool(attrs.get("slice_column"))
        if "window" in attrs and cell == piece:
            raise serializers.ValidationError(
                {"window": "With a window, name a column or a slice (one of them)."}
            )
        if "window" not in attrs and (cell or piece):
            raise serializers.ValidationError({"window": "Name the window of the column or slice."})
        return attrs


class FindingSerializer(StrictModelSerializer):
    cycle = StrictIntegerField(source="cycle.number", read_only=True)
    hypothesis = StrictIntegerField(source="hypothesis_id", read_only=True, allow_null=True)
    cause = StrictIntegerField(source="cause_id", read_only=True, allow_null=True)
    decided_by = serializers.SerializerMethodField()
    evidence = serializers.JSONField(
        read_only=True, help_text="What the alert, drift cell or slice showed when recorded."
    )

    class Meta:
        model = Finding
        fields = [
            "id",
            "cycle",
            "what",
            "evidence_kind",
            "evidence_url",
            "evidence",
            "suspected_cause",
            "as_cause",
            "status",
            "decision_reason",
            "decided_by",
            "decided_at",
            "hypothesis",
            "cause",
            "created_at",
        ]

    def get_decided_by(self, finding: Finding) -> str | None:
        return finding.decided_by.email if finding.decided_by else None


class FindingListSerializer(serializers.Serializer):
    results = FindingSerializer(many=True)


class FindingDecisionInputSerializer(serializers.Serializer):
    decision = StrictChoiceField(
        choices=[
            ("carry", "Carry into the next cycle"),
            ("wont_fix", "Won't fix (give a reason)"),
            ("reopen", "Back to open, without a decision"),
        ]
    )
    reason = StrictCharField(required=False, allow_blank=True, max_length=2000)


# -- predictions, labels and windows ------------------------------------------------------------


class PredictionRowsInputSerializer(serializers.Serializer):
    rows = serializers.ListField(
        child=serializers.DictField(),
        required=False,
        allow_empty=False,
        max_length=MAX_INGEST_ROWS,
        help_text="Prediction rows: prediction_id, timestamp (ISO 8601), optional deployment "
        "or model_version, feature values, score and/or prediction, optional attribution "
        "columns shap_<feature>. At most 10,000 rows a call.",
    )
    file = serializers.FileField(
        required=False, help_text="Instead of rows (multipart): a CSV, gzip CSV or Parquet file."
    )


class LabelRowsInputSerializer(serializers.Serializer):
    rows = serializers.ListField(
        child=serializers.DictField(),
        required=False,
        allow_empty=False,
        max_length=MAX_INGEST_ROWS,
        help_text="Label rows {prediction_id, label}; a label may come any time after its "
        "prediction, and a label sent again replaces the earlier one.",
    )
    file = serializers.FileField(
        required=False,
        help_text="Instead of rows (multipart): a CSV, gzip CSV or Parquet file with "
        "prediction_id and label columns.",
    )


class IngestedSerializer(serializers.Serializer):
    received = StrictIntegerField(help_text="Rows stored.")
    recomputing = serializers.ListField(
        child=serializers.DateField(), help_text="Day partitions whose windows are recomputed."
    )


class WindowSerializer(StrictModelSerializer):
    result = serializers.SerializerMethodField(
        help_text="rows, labelled_rows, label_coverage, label_delay {median_seconds, "
        "p90_seconds, max_seconds}, score {mean, p05..p95, histogram}, performance "
        "{metrics, undefined} (realized on labelled rows), estimated_performance (CBPE: "
        "roc_auc, precision, recall, f1, specificity, accuracy, tp/fp/fn/tn), drift "
        "(per column vs the reference window, as drift reports), worst_slices [{column, "
        "value, kind, rows, errors, rate, ci_low, ci_high}], attribution {feature: mean "
        "|attribution|}, reference_start."
    )

    class Meta:
        model = MonitoringWindow
        fields = [
            "id",
            "size",
            "start",
            "end",
            "rows",
            "labelled_rows",
            "is_reference",
            "computed_at",
            "result",
        ]

    @extend_schema_field({"type": "object", "additionalProperties": True})
    def get_result(self, window: MonitoringWindow) -> dict:
        return window.result


class WindowListSerializer(serializers.Serializer):
    size = StrictChoiceField(choices=WindowSize.choices, help_text="The project's setting.")
    results = WindowSerializer(many=True)
