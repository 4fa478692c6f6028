"""Serializers of the A/B test API. Input serializers validate the shape (the services
validate the meaning); output serializers say what a test and an analysis look like."""

from typing import Any

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
from evaluation.abtests import services
from evaluation.abtests.models import STATS_DIRECTION
from evaluation.models import (
    ABTest,
    ABTestAnalysis,
    MetricRole,
    MetricType,
    Outcome,
    QueryKind,
    QueryVersionStatus,
)
from mlprojects.models import Direction


class DirectionField(StrictChoiceField):
    """Which way is good, in the API's words ("increase", "decrease"), read and written as
    the lifecycle's `Direction` that a metric stores."""

    def __init__(self, **kwargs: Any) -> None:
        choices = [(word, f"{word.capitalize()} is good") for word in STATS_DIRECTION.values()]
        super().__init__(choices=choices, **kwargs)

    def to_internal_value(self, data: Any) -> str:
        word = super().to_internal_value(data)
        return next(value for value, text in STATS_DIRECTION.items() if text == word)

    def to_representation(self, value: str) -> str:
        return STATS_DIRECTION[value]


# --- input ---------------------------------------------------------------------------------


class VariantInputSerializer(serializers.Serializer):
    key = StrictCharField(max_length=60)
    allocation = StrictFloatField()
    description = StrictCharField(max_length=200, required=False, allow_blank=True)


class MetricInputSerializer(serializers.Serializer):
    key = StrictCharField(max_length=60)
    type = StrictChoiceField(choices=MetricType.choices)
    role = StrictChoiceField(choices=MetricRole.choices, default=MetricRole.PRIMARY)
    direction = DirectionField(default=Direction.HIGHER)
    description = StrictCharField(max_length=200, required=False, allow_blank=True)
    quantile_level = StrictFloatField(
        required=False,
        allow_null=True,
        help_text="Quantile metrics only: 0.5 for the median, 0.9 for p90.",
    )


class ABTestCreateSerializer(serializers.Serializer):
    name = StrictCharField(max_length=200)
    hypothesis = StrictCharField(required=False, allow_blank=True, default="")
    variants = VariantInputSerializer(many=True)
    metrics = MetricInputSerializer(many=True)
    control = StrictCharField(max_length=60, required=False)
    planned_users_per_variant = StrictIntegerField(min_value=1, required=False)
    planned_days = StrictIntegerField(min_value=1, required=False)
    objective = StrictIdField(
        required=False, allow_null=True, help_text="Id of an objective of the project."
    )
    business_metric = StrictIdField(
        required=False,
        allow_null=True,
        help_text="Id of a business metric of the project, the one the decision is argued on.",
    )
    sequential_testing = StrictBooleanField(
        default=False,
        help_text="Always-valid intervals and p-values, safe to look at daily (GrowthBook's "
        "sequential testing).",
    )
    sequential_tuning_parameter = StrictFloatField(
        default=5000.0, help_text="Total users at which the sequential interval is tightest."
    )


class ResultsInputSerializer(serializers.Serializer):
    metric = StrictCharField(max_length=60)
    variants = serializers.DictField(
        child=serializers.DictField(),
        help_text='{"<variant>": {"users", "conversions"}} for a binomial metric, '
        '{"<variant>": {"users", "sum", "sum_squares"}} or {"users", "mean", "sd"} (sample '
        "standard deviation, n − 1) for a continuous one, "
        '{"<variant>": {"users", "numerator_sum", "numerator_sum_squares", "denominator_sum", '
        '"denominator_sum_squares", "sum_products"}} for a ratio, '
        '{"<variant>": {"users", "n_star", "quantile", "lower", "upper"}} for a quantile.',
    )


class PriorSerializer(serializers.Serializer):
    mean = StrictFloatField(default=0.0)
    variance = StrictFloatField()


class AnalysisOptionsSerializer(serializers.Serializer):
    alpha = StrictFloatField(default=0.05)
    correction = StrictChoiceField(choices=services.CORRECTIONS, default="none")
    cuped = StrictBooleanField(default=False)
    prior = PriorSerializer(required=False, allow_null=True, default=None)
    sequential = StrictBooleanField(
        required=False, help_text="Always-valid sequential test; by default the test's setting."
    )
    sequential_tuning_parameter = StrictFloatField(
        required=False,
        help_text="Total users at which the sequential interval is tightest (default: the "
        "test's setting, 5000 unless changed).",
    )


class SampleSizeQuerySerializer(QuerySerializer):
    type = StrictChoiceField(choices=["binomial", "continuous"], required=False)
    baseline = StrictFloatField(required=False)
    mean = StrictFloatField(required=False)
    sd = StrictFloatField(required=False)
    mde = StrictFloatField()
    relative = StrictBooleanField(default=True)
    alpha = StrictFloatField(default=0.05)
    power = StrictFloatField(default=0.8)
    variants = StrictIntegerField(default=2)
    daily_users = StrictFloatField(required=False)

    def validate(self, data: dict) -> dict:
        if "type" not in data:
            data["type"] = "continuous" if "sd" in data else "binomial"
        if data["type"] == "binomial" and "baseline" not in data:
            raise serializers.ValidationError({"baseline": ["The baseline rate is required."]})
        if data["type"] == "continuous" and "sd" not in data:
            raise serializers.ValidationError({"sd": ["The standard deviation is required."]})
        return data


# --- output --------------------------------------------------------------------------------


class VariantSerializer(serializers.Serializer):
    key = StrictCharField()
    allocation = StrictFloatField()
    description = StrictCharField()


class MetricSerializer(serializers.Serializer):
    key = StrictCharField()
    type = StrictChoiceField(choices=MetricType.choices)
    role = StrictChoiceField(choices=MetricRole.choices)
    direction = DirectionField()
    description = StrictCharField()
    quantile_level = StrictFloatField(allow_null=True)
    query = StrictIntegerField(
        source="query_id", allow_null=True, help_text="The saved metric definition it runs."
    )


class BusinessMetricSerializer(serializers.Serializer):
    id = StrictIntegerField()
    name = StrictCharField()


class DecisionSerializer(serializers.Serializer):
    outcome = StrictCharField()
    rationale = StrictCharField()
    analysis_version = StrictIntegerField(source="analysis.version")
    business_metric = BusinessMetricSerializer(allow_null=True)
    measured_value = StrictFloatField(
        allow_null=True, help_text="The business metric's value measured under the decision."
    )
    previous_value = StrictFloatField(
        allow_null=True, help_text="The business metric's current value before it."
    )
    created_at = serializers.DateTimeField()


class ABTestDecisionInputSerializer(serializers.Serializer):
    outcome = StrictChoiceField(choices=Outcome.choices)
    rationale = StrictCharField(help_text="Why, in terms of the business metric the test serves.")
    business_metric = StrictIdField(
        required=False,
        allow_null=True,
        help_text="Id of the project's business metric the decision is argued on; by default "
        "the test's own.",
    )
    measured_value = StrictFloatField(
        required=False,
        allow_null=True,
        help_text="The business metric's value measured under the decision (its business "
        "impact), written back as the metric's current value.",
    )


class ABTestSerializer(StrictModelSerializer):
    """A test with its design, its results and its latest decision (the variants,
    metrics, results and decisions prefetched)."""

    project = StrictIntegerField(source="project_id")
    objective = StrictIntegerField(source="objective_id", allow_null=True)
    business_metric = StrictIntegerField(source="business_metric_id", allow_null=True)
    exposure_query = StrictIntegerField(source="exposure_query_id", allow_null=True)
    control = serializers.SerializerMethodField()
    variants = VariantSerializer(many=True)
    metrics = MetricSerializer(many=True)
    results = serializers.SerializerMethodField()
    decision = serializers.SerializerMethodField()

    class Meta:
        model = ABTest
        fields = [
            "id",
            "project",
            "name",
            "hypothesis",
            "objective",
            "business_metric",
            "status",
            "control",
            "variants",
            "metrics",
            "results",
            "planned_users_per_variant",
            "planned_days",
            "sequential_testing",
            "sequential_tuning_parameter",
            "exposure_query",
            "conversion_window_hours",
            "cuped_lookback_days",
            "started_at",
            "stopped_at",
            "created_at",
            "updated_at",
            "decision",
        ]
        read_only_fields = fields

    def get_control(self, abtest: ABTest) -> str | None:
        return next((v.key for v in abtest.variants.all() if v.is_control), None)

    def get_results(self, abtest: ABTest) -> dict[str, dict[str, dict]]:
        """{metric: {variant: aggregates}} of the metrics that have results."""
        variant_keys = {v.pk: v.key for v in abtest.variants.all()}
        results: dict[str, dict[str, dict]] = {}
        for metric in abtest.metrics.all():
            for row in metric.results.all():
                results.setdefault(metric.key, {})[variant_keys[row.variant_id]] = row.as_stats()
        return results

    @extend_schema_field(DecisionSerializer(allow_null=True))
    def get_decision(self, abtest: ABTest) -> dict | None:
        decision = next(iter(abtest.decisions.all()), None)
        return None if decision is None else DecisionSerializer(decision).data


class ABTestAnalysisSerializer(StrictModelSerializer):
    """One analysis version; its result's parts at the top level (null until it ran)."""

    abtest = StrictIntegerField(source="abtest_id")
    srm_p_value = serializers.SerializerMethodField()
    srm_warning = serializers.SerializerMethodField()
    metrics = serializers.SerializerMethodField()
    warnings = serializers.SerializerMethodField()

    class Meta:
        model = ABTestAnalysis
        fields = [
            "id",
            "abtest",
            "version",
            "status",
            "error",
            "options",
            "srm_p_value",
            "srm_warning",
            "metrics",
            "warnings",
            "created_at",
            "finished_at",
        ]
        read_only_fields = fields

    def get_srm_p_value(self, analysis: ABTestAnalysis) -> float | None:
        return (analysis.result or {}).get("srm_p_value")

    def get_srm_warning(self, analysis: ABTestAnalysis) -> bool | None:
        return (analysis.result or {}).get("srm_warning")

    def get_metrics(self, analysis: ABTestAnalysis) -> dict[str, Any]:
        return (analysis.result or {}).get("metrics", {})

    def get_warnings(self, analysis: ABTestAnalysis) -> list[dict[str, Any]]:
        return (analysis.result or {}).get("warnings", [])


# --- warehouse ----------------------------------------------------------------------------


class ABDataSourceInputSerializer(serializers.Serializer):
    name = StrictCharField(max_length=100)
    url = StrictCharField(
        help_text="SQLAlchemy URL of a read-only user, e.g. "
        "postgresql+psycopg://reader:pw@host/db; stored encrypted, never returned."
    )
    statement_timeout_ms = StrictIntegerField(default=60_000)
    row_cap = StrictIntegerField(default=50_000_000)


class ABDataSourceSerializer(serializers.Serializer):
    id = StrictIntegerField()
    name = StrictCharField()
    display_url = StrictCharField(help_text="The URL with its password masked.")
    statement_timeout_ms = StrictIntegerField()
    row_cap = StrictIntegerField()
    created_at = serializers.DateTimeField()


class MetricSQLSerializer(serializers.Serializer):
    sql = StrictCharField(help_text="SELECT user_id, value, ts …")
    denominator_sql = StrictCharField(
        required=False, allow_blank=True, help_text="Ratio metrics: the denominator's events."
    )


class WarehouseInputSerializer(serializers.Serializer):
    data_source = StrictIdField(help_text="Id of the organization's data source.")
    exposure_sql = StrictCharField(help_text="SELECT user_id, variant, exposed_at …")
    conversion_window_hours = StrictFloatField(default=72.0)
    metric_sql = serializers.DictField(child=MetricSQLSerializer())


class QueryLogSerializer(serializers.Serializer):
    metric = StrictCharField()
    sql = StrictCharField()
    seconds = StrictFloatField()


class RefreshSerializer(serializers.Serializer):
    id = StrictIntegerField()
    status = StrictCharField()
    error = StrictCharField()
    queries = QueryLogSerializer(many=True)
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)


class RawUploadInputSerializer(serializers.Serializer):
    file = serializers.FileField(
        help_text="CSV, gzip-compressed CSV or Parquet: one row per user, a variant column and "
        "one column per metric key (a ratio metric: <key>_numerator and <key>_denominator). "
        "At most ABTEST_MAX_UPLOAD_BYTES."
    )
    variant_column = StrictCharField(max_length=100, default="variant")
    covariate_suffix = StrictCharField(
        max_length=30,
        required=False,
        allow_blank=True,
        default="",
        help_text="CUPED: pre-period columns are named <metric><suffix>, e.g. _pre.",
    )


class RawUploadSerializer(serializers.Serializer):
    id = StrictIntegerField()
    status = StrictCharField(help_text="queued, running, succeeded or failed.")
    original_name = StrictCharField()
    size = StrictIntegerField()
    rows_read = StrictIntegerField()
    progress = StrictFloatField()
    error = StrictCharField()
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)


# --- saved warehouse queries ---------------------------------------------------------------


class ABQueryInputSerializer(serializers.Serializer):
    data_source = StrictIdField(help_text="Id of the organization's data source.")
    name = StrictCharField(max_length=100)
    description = StrictCharField(max_length=300, required=False, allow_blank=True)
    kind = StrictChoiceField(choices=QueryKind.choices)
    metric_type = StrictChoiceField(
        choices=MetricType.choices,
        required=False,
        allow_blank=True,
        help_text="Metric definitions only: proportion (binomial), mean, ratio or quantile.",
    )
    sql = StrictCharField(
        help_text="One SELECT. Exposure: user_id, variant, exposed_at. "
        "Metric: user_id, value, ts (the numerator for a ratio)."
    )
    denominator_sql = StrictCharField(
        required=False, allow_blank=True, help_text="Ratio metrics: the denominator's events."
    )
    note = StrictCharField(
        max_length=300, required=False, allow_blank=True, help_text="A note to the reviewer."
    )


class ABQueryVersionInputSerializer(serializers.Serializer):
    sql = StrictCharField()
    denominator_sql = StrictCharField(required=False, allow_blank=True)
    note = StrictCharField(
        max_length=300, required=False, allow_blank=True, help_text="What changed, and why."
    )


class ABQueryReviewInputSerializer(serializers.Serializer):
    decision = StrictChoiceField(choices=list(services.REVIEW_DECISIONS))
    comment = StrictCharField(
        required=False, allow_blank=True, help_text="Required when requesting changes."
    )


class ABTestQueriesInputSerializer(serializers.Serializer):
    exposure_query = StrictIdField(help_text="Id of a saved exposure query.")
    metric_queries = serializers.DictField(
        child=StrictIdField(allow_null=True),
        help_text="Per metric key, the id of a saved metric definition of the same type "
        "(null for none).",
    )
    conversion_window_hours = StrictFloatField(default=72.0)
    cuped_lookback_days = StrictFloatField(default=14.0, help_text="0 for no CUPED covariate.")


class ABQueryVersionSerializer(serializers.Serializer):
    number = StrictIntegerField()
    sql = StrictCharField()
    denominator_sql = StrictCharField()
    note = StrictCharField()
    status = StrictChoiceField(choices=QueryVersionStatus.choices)
    author = serializers.EmailField(source="author.email", allow_null=True, default=None)
    reviewed_by = serializers.EmailField(source="reviewed_by.email", allow_null=True, default=None)
    review_comment = StrictCharField()
    reviewed_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()


class ABQuerySerializer(serializers.Serializer):
    """A saved query with its versions, newest first. `approved_version` is the version
    experiments run (the newest approved one), null until one is approved."""

    id = StrictIntegerField()
    name = StrictCharField()
    description = StrictCharField()
    kind = StrictChoiceField(choices=QueryKind.choices)
    metric_type = StrictCharField(help_text="Empty for an exposure query.")
    data_source = StrictIntegerField(source="data_source_id")
    approved_version = serializers.SerializerMethodField()
    versions = ABQueryVersionSerializer(many=True, source="version_list")
    created_at = serializers.DateTimeField()

    @extend_schema_field(StrictIntegerField(allow_null=True))
    def get_approved_version(self, query: Any) -> int | None:
        approved = [v.number for v in query.version_list if v.status == QueryVersionStatus.APPROVED]
        return max(approved, default=None)
