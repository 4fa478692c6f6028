"""A/B tests of a project: the design (variants, metrics), the per-variant results, raw
per-user uploads aggregated by a worker, the analyses (each a new version) and the
decision. The statistics live in `evaluation.stats`; these rows only record what was
planned, observed, computed and decided."""

import base64
import hashlib
import uuid
from pathlib import PurePath
from urllib.parse import urlsplit, urlunsplit

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from accounts.models import BackgroundJob, Organization, TimeStampedModel
from mlprojects.models import Direction, Project


class ABTestStatus(models.TextChoices):
    """The life of a test; the allowed moves are in `evaluation.abtests.state`."""

    DRAFT = "draft", "Draft"
    RUNNING = "running", "Running"
    STOPPED = "stopped", "Stopped"
    ANALYZED = "analyzed", "Analyzed"
    DECIDED = "decided", "Decided"


class MetricType(models.TextChoices):
    BINOMIAL = "binomial", "Binomial (conversion)"
    CONTINUOUS = "continuous", "Continuous (e.g. revenue per user)"
    RATIO = "ratio", "Ratio of two sums (e.g. revenue per order)"
    QUANTILE = "quantile", "Quantile (e.g. median or p90 latency)"


#: GrowthBook's default for the sequential tuning parameter: the total number of users at
#: which the always-valid interval is tightest.
DEFAULT_SEQUENTIAL_TUNING_PARAMETER = 5000.0


class MetricRole(models.TextChoices):
    PRIMARY = "primary", "Primary"
    SECONDARY = "secondary", "Secondary"
    GUARDRAIL = "guardrail", "Guardrail"


#: Which way is good, in the words of the statistics engine (`evaluation.stats`), which the
#: API keeps too; a metric stores the lifecycle's `Direction`.
STATS_DIRECTION = {Direction.HIGHER: "increase", Direction.LOWER: "decrease"}


class ResultSource(models.TextChoices):
    FORM = "form", "Entered in the form"
    WAREHOUSE = "warehouse", "Warehouse query"
    CSV = "csv", "Aggregates CSV"
    API = "api", "API"
    RAW = "raw", "Raw per-user rows"
    DEMO = "demo", "Demo data"


class JobStatus(models.TextChoices):
    """Status of work done by a worker (an analysis, a raw-rows aggregation)."""

    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class Outcome(models.TextChoices):
    SHIP = "ship", "Ship"
    DONT_SHIP = "dont_ship", "Don't ship"
    ITERATE = "iterate", "Iterate"
    INCONCLUSIVE = "inconclusive", "Inconclusive"


def _fernet() -> Fernet:
    """The key that encrypts data-source credentials at rest: ABTEST_DATA_SOURCE_KEY (a
    Fernet key) when set, else one derived from SECRET_KEY."""
    key = getattr(settings, "ABTEST_DATA_SOURCE_KEY", "")
    if not key:
        digest = hashlib.sha256(f"abtest-data-source:{settings.SECRET_KEY}".encode()).digest()
        key = base64.urlsafe_b64encode(digest).decode()
    return Fernet(key)


class ABDataSourceQuerySet(models.QuerySet):
    def for_org(self, org) -> "ABDataSourceQuerySet":
        return self.filter(organization=org)


class ABDataSource(TimeStampedModel):
    """An organization's read-only SQL warehouse (a SQLAlchemy URL, stored encrypted), used
    to compute A/B test aggregates inside it with a statement timeout and a row cap."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="ab_data_sources"
    )
    name = models.CharField(max_length=100)
    url_encrypted = models.TextField(editable=False)
    statement_timeout_ms = models.PositiveIntegerField(default=60_000)
    row_cap = models.PositiveBigIntegerField(default=50_000_000)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )

    objects = ABDataSourceQuerySet.as_manager()

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "name"],
                name="abdatasource_name_unique_per_org",
                violation_error_message="A data source of this name exists.",
            )
        ]

    def __str__(self) -> str:
        return self.name

    def set_url(self, url: str) -> None:
        self.url_encrypted = _fernet().encrypt(url.encode()).decode()

    @property
    def url(self) -> str:
        try:
            return _fernet().decrypt(self.url_encrypted.encode()).decode()
        except InvalidToken as exc:
            raise ValueError(
                "The data source's credentials cannot be decrypted with the current key."
            ) from exc

    @property
    def display_url(self) -> str:
        """The URL without its password, for pages and the API."""
        parts = urlsplit(self.url)
        if parts.password is None:
            return self.url
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return urlunsplit(parts._replace(netloc=netloc))


class QueryKind(models.TextChoices):
    EXPOSURE = "exposure", "Exposure (user_id, variant, exposed_at)"
    METRIC = "metric", "Metric (user_id, value, ts)"


class QueryVersionStatus(models.TextChoices):
    """A version is written as a draft, then approved (or sent back) by another member;
    experiments run only the latest approved version."""

    DRAFT = "draft", "Awaiting review"
    APPROVED = "approved", "Approved"
    CHANGES_REQUESTED = "changes_requested", "Changes requested"


class ABQueryQuerySet(models.QuerySet):
    def for_org(self, org) -> "ABQueryQuerySet":
        return self.filter(organization=org)


class ABQuery(TimeStampedModel):
    """A named warehouse query of an organization: an exposure query, or a metric
    definition of a given type. Its SQL lives in `ABQueryVersion` rows, one per save."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="ab_queries"
    )
    data_source = models.ForeignKey(ABDataSource, on_delete=models.PROTECT, related_name="queries")
    name = models.CharField(max_length=100)
    description = models.CharField(max_length=300, blank=True)
    kind = models.CharField(max_length=20, choices=QueryKind.choices)
    # Metric definitions only: how the per-user values are aggregated.
    metric_type = models.CharField(max_length=20, choices=MetricType.choices, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )

    objects = ABQueryQuerySet.as_manager()

    class Meta:
        ordering = ["kind", "name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "name"],
                name="abquery_name_unique_per_org",
                violation_error_message="A query of this name exists.",
            ),
            models.CheckConstraint(
                condition=(Q(kind="exposure") & Q(metric_type=""))
                | (Q(kind="metric") & Q(metric_type__in=MetricType.values)),
                name="abquery_metric_type_for_metrics",
                violation_error_message="A metric query has a metric type; an exposure none.",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def approved_version(self) -> "ABQueryVersion | None":
        """The version experiments run: the newest approved one."""
        return self.versions.filter(status=QueryVersionStatus.APPROVED).order_by("-number").first()


class ABQueryVersion(models.Model):
    """One saved text of a query, never changed afterwards except for its review: who
    approved it (someone other than its author) or asked for changes, and when."""

    query = models.ForeignKey(ABQuery, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    sql = models.TextField()
    denominator_sql = models.TextField(blank=True)
    note = models.CharField(max_length=300, blank=True)
    status = models.CharField(
        max_length=20, choices=QueryVersionStatus.choices, default=QueryVersionStatus.DRAFT
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    review_comment = models.TextField(blank=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(
                fields=["query", "number"],
                name="abqueryversion_number_unique",
                violation_error_message="This version of the query exists.",
            ),
            models.CheckConstraint(
                condition=Q(status__in=QueryVersionStatus.values),
                name="abqueryversion_status_valid",
                violation_error_message="Unknown review status.",
            ),
            models.CheckConstraint(
                condition=Q(reviewed_by__isnull=True) | ~Q(reviewed_by=F("author")),
                name="abqueryversion_reviewer_not_author",
                violation_error_message="A query version is reviewed by someone else.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.query} v{self.number}"


class ABTestQuerySet(models.QuerySet):
    def for_org(self, org) -> "ABTestQuerySet":
        return self.filter(project__organization=org)


class ABTest(TimeStampedModel):
    """An A/B test of a project: does the new way (a treatment) beat the old way (the
    control) on the metric that matters, without breaking a guardrail?"""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="abtests")
    name = models.CharField(max_length=200)
    hypothesis = models.TextField(
        help_text="What you change, for whom, and what you expect to move — and why."
    )
    status = models.CharField(
        max_length=20, choices=ABTestStatus.choices, default=ABTestStatus.DRAFT
    )
    # What the test serves in the lifecycle: the objective it tests and the business metric
    # the decision is argued on (both of the test's project; checked by the services).
    objective = models.ForeignKey(
        "mlprojects.Objective",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="abtests",
    )
    business_metric = models.ForeignKey(
        "mlprojects.Metric",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="abtests",
    )
    planned_users_per_variant = models.PositiveIntegerField(null=True, blank=True)
    planned_days = models.PositiveIntegerField(null=True, blank=True)
    # Sequential testing (GrowthBook's "sequentialTestingEnabled" and its tuning
    # parameter): always-valid intervals, so the results may be looked at every day.
    sequential_testing = models.BooleanField(
        default=False,
        help_text="Always-valid intervals and p-values: safe to look at the results daily.",
    )
    sequential_tuning_parameter = models.FloatField(
        default=DEFAULT_SEQUENTIAL_TUNING_PARAMETER,
        help_text="Total users at which the sequential interval is tightest.",
    )
    # Results from the organization's warehouse: the exposure query (user_id, variant,
    # exposed_at) and how long after first exposure an event still counts.
    data_source = models.ForeignKey(
        ABDataSource, on_delete=models.SET_NULL, null=True, blank=True, related_name="abtests"
    )
    exposure_sql = models.TextField(blank=True)
    # A saved, reviewed exposure query: when set, refreshes run its approved version
    # instead of `exposure_sql`.
    exposure_query = models.ForeignKey(
        ABQuery, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    conversion_window_hours = models.FloatField(default=72.0)
    # CUPED from the warehouse: each metric over this many days before a user's first
    # exposure is its pre-period covariate (0: none).
    cuped_lookback_days = models.FloatField(
        default=14.0,
        help_text="Days before first exposure whose events are each metric's CUPED covariate.",
    )
    started_at = models.DateTimeField(null=True, blank=True)
    stopped_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )

    objects = ABTestQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=ABTestStatus.values),
                name="abtest_status_valid",
                violation_error_message="Unknown A/B test status.",
            ),
            models.CheckConstraint(
                condition=Q(sequential_tuning_parameter__gt=0),
                name="abtest_sequential_tuning_positive",
                violation_error_message="The sequential tuning parameter is a positive number.",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_editable(self) -> bool:
        """The design (variants, metrics) can change only before the test starts."""
        return self.status == ABTestStatus.DRAFT


class ABVariant(models.Model):
    """One arm of a test and the share of traffic it is meant to receive."""

    abtest = models.ForeignKey(ABTest, on_delete=models.CASCADE, related_name="variants")
    key = models.SlugField(max_length=60)
    description = models.CharField(max_length=200, blank=True)
    allocation = models.FloatField()
    is_control = models.BooleanField(default=False)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["abtest", "key"],
                name="abvariant_key_unique_per_test",
                violation_error_message="Variant keys must be unique within a test.",
            ),
            models.UniqueConstraint(
                fields=["abtest"],
                condition=Q(is_control=True),
                name="abvariant_one_control_per_test",
                violation_error_message="A test has exactly one control.",
            ),
            models.CheckConstraint(
                condition=Q(allocation__gt=0) & Q(allocation__lte=1),
                name="abvariant_allocation_in_range",
                violation_error_message="An allocation is a share in (0, 1].",
            ),
        ]

    def __str__(self) -> str:
        return self.key


class ABMetric(models.Model):
    """A metric the test is judged on, how it is aggregated and which way is good."""

    abtest = models.ForeignKey(ABTest, on_delete=models.CASCADE, related_name="metrics")
    key = models.SlugField(max_length=60)
    description = models.CharField(max_length=200, blank=True)
    type = models.CharField(max_length=20, choices=MetricType.choices)
    role = models.CharField(max_length=20, choices=MetricRole.choices, default=MetricRole.PRIMARY)
    direction = models.CharField(max_length=20, choices=Direction.choices, default=Direction.HIGHER)
    quantile_level = models.FloatField(
        null=True, blank=True, help_text="For a quantile metric: 0.5 the median, 0.9 the p90."
    )
    # The warehouse query of the metric's events (user_id, value, ts) and, for a ratio,
    # of its denominator's.
    sql = models.TextField(blank=True)
    denominator_sql = models.TextField(blank=True)
    # A saved, reviewed metric definition: when set, refreshes run its approved version.
    query = models.ForeignKey(
        ABQuery, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(type="quantile", quantile_level__gt=0, quantile_level__lt=1)
                    | (~Q(type="quantile") & Q(quantile_level__isnull=True))
                ),
                name="abmetric_quantile_level_for_quantiles",
                violation_error_message="A quantile metric has a level in (0, 1); others none.",
            ),
            models.UniqueConstraint(
                fields=["abtest", "key"],
                name="abmetric_key_unique_per_test",
                violation_error_message="Metric keys must be unique within a test.",
            ),
            models.UniqueConstraint(
                fields=["abtest"],
                condition=Q(role="primary"),
                name="abmetric_one_primary_per_test",
                violation_error_message="A test has exactly one primary metric.",
            ),
            models.CheckConstraint(
                condition=Q(type__in=MetricType.values)
                & Q(role__in=MetricRole.values)
                & Q(direction__in=Direction.values),
                name="abmetric_choices_valid",
                violation_error_message="Unknown metric type, role or direction.",
            ),
        ]

    def __str__(self) -> str:
        return self.key

    def as_stats(self) -> dict:
        """The definition in the form `evaluation.stats.analyze` takes."""
        data = {
            "key": self.key,
            "type": self.type,
            "role": self.role,
            "direction": STATS_DIRECTION[self.direction],
        }
        if self.type == MetricType.QUANTILE:
            data["quantile_level"] = self.quantile_level
        return data


class ABResult(TimeStampedModel):
    """Observed aggregates of one metric in one variant: users and conversions for a
    binomial metric; users, Σy and Σy² for a continuous one; optionally the CUPED
    pre-period sums Σx, Σx², Σxy. A ratio or quantile metric keeps its sums or quantile
    inputs (field names as `evaluation.stats.inputs` documents) in `aggregates`."""

    metric = models.ForeignKey(ABMetric, on_delete=models.CASCADE, related_name="results")
    variant = models.ForeignKey(ABVariant, on_delete=models.CASCADE, related_name="results")
    users = models.PositiveBigIntegerField()
    conversions = models.PositiveBigIntegerField(null=True, blank=True)
    sum = models.FloatField(null=True, blank=True)
    sum_squares = models.FloatField(null=True, blank=True)
    covariate_sum = models.FloatField(null=True, blank=True)
    covariate_sum_squares = models.FloatField(null=True, blank=True)
    covariate_sum_products = models.FloatField(null=True, blank=True)
    aggregates = models.JSONField(default=dict, blank=True)
    source = models.CharField(max_length=10, choices=ResultSource.choices)

    class Meta:
        ordering = ["metric__position", "variant__position"]
        constraints = [
            models.UniqueConstraint(
                fields=["metric", "variant"],
                name="abresult_one_per_metric_and_variant",
                violation_error_message="There is already a result for this metric and variant.",
            ),
            models.CheckConstraint(
                condition=Q(users__gt=0),
                name="abresult_users_positive",
                violation_error_message="A variant needs at least one user.",
            ),
            models.CheckConstraint(
                condition=Q(conversions__isnull=True) | Q(conversions__lte=F("users")),
                name="abresult_conversions_at_most_users",
                violation_error_message="Conversions cannot exceed users.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.metric_id}/{self.variant_id}: {self.users} users"

    def as_stats(self) -> dict:
        """The aggregate in the form `evaluation.stats.analyze` takes."""
        data: dict = {"users": self.users}
        if self.aggregates:
            return {**data, **self.aggregates}
        if self.conversions is not None:
            data["conversions"] = self.conversions
        else:
            data["sum"] = self.sum
            data["sum_squares"] = self.sum_squares
        if self.covariate_sum is not None:
            data["covariate_sum"] = self.covariate_sum
            data["covariate_sum_squares"] = self.covariate_sum_squares
            data["covariate_sum_products"] = self.covariate_sum_products
        return data

    @property
    def mean(self) -> float | None:
        """The variant's observed value: rate, mean, ratio or sample quantile."""
        if "quantile" in self.aggregates:
            return float(self.aggregates["quantile"])
        if "numerator_sum" in self.aggregates:
            denominator = self.aggregates.get("denominator_sum") or 0
            return float(self.aggregates["numerator_sum"]) / denominator if denominator else None
        total = self.conversions if self.conversions is not None else self.sum
        return float(total) / self.users


def raw_upload_path(instance: "ABRawUpload", filename: str) -> str:
    """A server-generated name: the client's file name never reaches the storage path."""
    return f"abtests/{instance.abtest_id}/raw-{uuid.uuid4().hex}{instance.suffix}"


class ABRawUpload(TimeStampedModel):
    """A file of raw per-user rows (variant, metric values, optional pre-period values),
    aggregated by a worker into `ABResult` rows for every metric of the test."""

    abtest = models.ForeignKey(ABTest, on_delete=models.CASCADE, related_name="raw_uploads")
    file = models.FileField(upload_to=raw_upload_path, max_length=200)
    original_name = models.CharField(max_length=200, blank=True)
    suffix = models.CharField(max_length=12, default=".csv")
    size = models.PositiveBigIntegerField(default=0)
    variant_column = models.CharField(max_length=100, default="variant")
    covariate_suffix = models.CharField(
        max_length=30, blank=True, help_text="Pre-period columns are named <metric><suffix>."
    )
    status = models.CharField(max_length=20, choices=JobStatus.choices, default=JobStatus.QUEUED)
    rows_read = models.PositiveBigIntegerField(default=0)
    progress = models.FloatField(default=0.0)
    error = models.TextField(blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return PurePath(self.file.name).name if self.file else f"upload {self.pk}"

    @property
    def is_done(self) -> bool:
        return self.status in (JobStatus.SUCCEEDED, JobStatus.FAILED)


class ABTestAnalysis(BackgroundJob):
    """One version of the analysis of a test: created `queued` by the request, filled by
    the worker (a background job, `accounts.jobs`). `inputs` is the snapshot of design and
    results the analysis ran on, so a version never changes when results are edited
    later, and a restarted attempt computes the same numbers into the same row."""

    job_task = "evaluation.abtests.tasks.run_abtest_analysis_task"

    abtest = models.ForeignKey(ABTest, on_delete=models.CASCADE, related_name="analyses")
    version = models.PositiveIntegerField()
    status = models.CharField(max_length=20, choices=JobStatus.choices, default=JobStatus.QUEUED)
    options = models.JSONField(default=dict)
    inputs = models.JSONField(default=dict)
    result = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-version"]
        get_latest_by = "version"
        constraints = [
            models.UniqueConstraint(
                fields=["abtest", "version"],
                name="abtestanalysis_version_unique",
                violation_error_message="This analysis version exists.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.abtest} analysis v{self.version}"

    @property
    def is_done(self) -> bool:
        return self.status in (JobStatus.SUCCEEDED, JobStatus.FAILED)


class ABTestDecision(models.Model):
    """What the team decided from an analysis, and why in terms of the business metric —
    with, once measured, the metric's new value (the decision's business impact)."""

    abtest = models.ForeignKey(ABTest, on_delete=models.CASCADE, related_name="decisions")
    analysis = models.ForeignKey(
        ABTestAnalysis, on_delete=models.RESTRICT, related_name="decisions"
    )
    outcome = models.CharField(max_length=20, choices=Outcome.choices)
    rationale = models.TextField()
    # RESTRICT, not PROTECT: an analysis a decision rests on cannot be deleted on its own,
    # but deleting the A/B test (or its project) takes both.
    # The business metric the decision was argued on (the test's, unless another of the
    # project's business metrics is named when deciding).
    business_metric = models.ForeignKey(
        "mlprojects.Metric",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="abtest_decisions",
    )
    # The business impact the decision measured, written back to the business metric's
    # current value (`previous_value` is what that value was before).
    measured_value = models.FloatField("Measured value of the business metric", null=True)
    previous_value = models.FloatField("Value before", null=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(outcome__in=Outcome.values),
                name="abtestdecision_outcome_valid",
                violation_error_message="Unknown decision.",
            ),
            models.CheckConstraint(
                condition=~Q(rationale=""),
                name="abtestdecision_rationale_required",
                violation_error_message="A decision needs a rationale.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.abtest}: {self.get_outcome_display()}"


class ABWarehouseRefresh(BackgroundJob):
    """One run of a test's warehouse queries (a background job, `accounts.jobs`): the
    statements with the query versions they came from and their timings, and whether the
    aggregates they produced replaced the test's results."""

    job_task = "evaluation.abtests.tasks.refresh_abtest_task"

    abtest = models.ForeignKey(ABTest, on_delete=models.CASCADE, related_name="refreshes")
    status = models.CharField(max_length=20, choices=JobStatus.choices, default=JobStatus.QUEUED)
    queries = models.JSONField(default=list)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.abtest} refresh {self.pk}"

    @property
    def is_done(self) -> bool:
        return self.status in (JobStatus.SUCCEEDED, JobStatus.FAILED)
