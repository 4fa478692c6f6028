"""Forms of the A/B test pages. They validate and shape input; services save."""

import csv
import io
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from evaluation.models import ABMetric, ABTest, MetricRole, MetricType, Outcome, QueryKind
from evaluation.stats.inputs import RATIO_COVARIATE_FIELDS
from mlprojects.models import Direction

#: Largest aggregates CSV (one row per metric × variant, so a few KB in practice).
AGGREGATES_CSV_MAX_BYTES = 1024 * 1024
AGGREGATES_CSV_TOO_LARGE = "The aggregates CSV is larger than 1 MB; is it raw rows?"


class ABTestForm(forms.Form):
    name = forms.CharField(max_length=200)
    hypothesis = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="We believe that <change> for <whom> will move <metric>, because <reason>.",
    )
    control = forms.SlugField(
        max_length=60,
        initial="control",
        label="Control variant",
        help_text="The key of the variant that keeps the old way.",
    )
    planned_users_per_variant = forms.IntegerField(
        min_value=1, required=False, label="Planned users per variant"
    )
    planned_days = forms.IntegerField(min_value=1, required=False, label="Planned duration (days)")
    objective = forms.TypedChoiceField(
        label="Objective", required=False, coerce=int, empty_value=None
    )
    business_metric = forms.TypedChoiceField(
        label="Business metric",
        required=False,
        coerce=int,
        empty_value=None,
        help_text="The project's business metric the decision is argued on.",
    )
    sequential_testing = forms.BooleanField(
        required=False,
        label="Sequential testing",
        help_text="Always-valid intervals and p-values: you may look at the results every day "
        "and stop as soon as they are significant, at the price of wider intervals.",
    )
    sequential_tuning_parameter = forms.FloatField(
        min_value=1,
        initial=5000,
        required=False,
        label="Sequential tuning parameter",
        help_text="The total number of users at which the interval is tightest; set it near "
        "the users you expect (GrowthBook's default is 5000).",
    )

    def __init__(self, *args: Any, objectives=(), business_metrics=(), **kwargs: Any) -> None:
        """`objectives` and `business_metrics`: the project's current cycle's (plus the
        ones the test is already linked to)."""
        super().__init__(*args, **kwargs)
        self.fields["objective"].choices = [("", "—")] + [(o.pk, o.title) for o in objectives]
        self.fields["business_metric"].choices = [("", "—")] + [
            (m.pk, m.name) for m in business_metrics
        ]


class VariantForm(forms.Form):
    key = forms.SlugField(max_length=60, required=False)
    description = forms.CharField(max_length=200, required=False)
    allocation = forms.FloatField(
        min_value=0,
        max_value=100,
        required=False,
        label="Traffic %",
        widget=forms.NumberInput(attrs={"step": "any"}),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("key") and data.get("allocation") is None:
            self.add_error("allocation", "Give this variant a share of the traffic.")
        return data


class MetricForm(forms.Form):
    key = forms.SlugField(max_length=60, required=False)
    description = forms.CharField(max_length=200, required=False)
    # Short labels: the design table shows five inputs in a row.
    type = forms.ChoiceField(
        choices=[
            (MetricType.BINOMIAL, "Binomial (0/1)"),
            (MetricType.CONTINUOUS, "Continuous"),
            (MetricType.RATIO, "Ratio"),
            (MetricType.QUANTILE, "Quantile"),
        ],
        initial=MetricType.BINOMIAL,
    )
    quantile_level = forms.FloatField(
        required=False,
        min_value=0.0001,
        max_value=0.9999,
        label="Quantile",
        widget=forms.NumberInput(attrs={"step": "any", "placeholder": "0.9"}),
    )
    role = forms.ChoiceField(choices=MetricRole.choices, initial=MetricRole.SECONDARY)
    direction = forms.ChoiceField(
        choices=[(Direction.HIGHER, "Higher"), (Direction.LOWER, "Lower")],
        initial=Direction.HIGHER,
        label="Good when",
    )


VariantFormSet = forms.formset_factory(VariantForm, extra=1, max_num=10, absolute_max=10)
MetricFormSet = forms.formset_factory(MetricForm, extra=2, max_num=20, absolute_max=20)


def design_variants(formset: forms.BaseFormSet) -> list[dict]:
    """Filled variant rows as the service takes them (percent → share of traffic)."""
    return [
        {
            "key": f.cleaned_data["key"],
            "description": f.cleaned_data.get("description", ""),
            "allocation": f.cleaned_data["allocation"] / 100,
        }
        for f in formset
        if f.cleaned_data.get("key")
    ]


def design_metrics(formset: forms.BaseFormSet) -> list[dict]:
    return [
        {
            k: f.cleaned_data.get(k)
            for k in ("key", "description", "type", "role", "direction", "quantile_level")
        }
        for f in formset
        if f.cleaned_data.get("key")
    ]


def design_initial(abtest: ABTest | None) -> tuple[dict, list[dict], list[dict]]:
    """Initial values of the design form: the test's own, or a two-arm starting point."""
    if abtest is None:
        return (
            {"control": "control"},
            [
                {"key": "control", "description": "The old way", "allocation": 50},
                {"key": "treatment", "description": "The new way", "allocation": 50},
            ],
            [{"type": MetricType.BINOMIAL, "role": MetricRole.PRIMARY}],
        )
    variants = list(abtest.variants.all())
    return (
        {
            "name": abtest.name,
            "hypothesis": abtest.hypothesis,
            "control": next((v.key for v in variants if v.is_control), "control"),
            "planned_users_per_variant": abtest.planned_users_per_variant,
            "planned_days": abtest.planned_days,
            "objective": abtest.objective_id,
            "business_metric": abtest.business_metric_id,
            "sequential_testing": abtest.sequential_testing,
            "sequential_tuning_parameter": abtest.sequential_tuning_parameter,
        },
        [
            {"key": v.key, "description": v.description, "allocation": round(v.allocation * 100, 6)}
            for v in variants
        ],
        [
            {
                k: getattr(m, k)
                for k in ("key", "description", "type", "role", "direction", "quantile_level")
            }
            for m in abtest.metrics.all()
        ],
    )


class SampleSizeForm(forms.Form):
    """Inputs of the sample-size and duration calculator."""

    metric_type = forms.ChoiceField(
        choices=[("binomial", "Conversion rate"), ("continuous", "Mean (continuous)")],
        initial="binomial",
        label="Metric",
    )
    baseline = forms.FloatField(
        required=False, initial=0.1, label="Baseline rate", help_text="e.g. 0.10 for 10%"
    )
    mean = forms.FloatField(required=False, label="Baseline mean")
    sd = forms.FloatField(required=False, label="Standard deviation")
    mde = forms.FloatField(initial=0.05, label="Minimum detectable effect")
    mde_type = forms.ChoiceField(
        choices=[("relative", "relative (share of baseline)"), ("absolute", "absolute")],
        initial="relative",
        label="MDE is",
    )
    alpha = forms.FloatField(initial=0.05, label="α (significance)")
    power = forms.FloatField(initial=0.8, label="Power")
    variants = forms.IntegerField(
        initial=2, min_value=2, max_value=20, label="Variants (incl. control)"
    )
    daily_users = forms.FloatField(required=False, label="Expected daily users (all variants)")

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("metric_type") == "binomial" and data.get("baseline") is None:
            self.add_error("baseline", "Give the baseline conversion rate.")
        if data.get("metric_type") == "continuous":
            if data.get("sd") is None:
                self.add_error("sd", "Give the per-user standard deviation.")
            if data.get("mde_type") == "relative" and data.get("mean") is None:
                self.add_error("mean", "A relative MDE needs the baseline mean.")
        return data


def sample_size_defaults() -> dict[str, Any]:
    return {name: field.initial for name, field in SampleSizeForm.base_fields.items()}


#: The aggregates a results form asks for, per metric type (as the engine names them).
RESULT_FORM_FIELDS: dict[str, tuple[str, ...]] = {
    MetricType.BINOMIAL: ("users", "conversions"),
    MetricType.CONTINUOUS: ("users", "sum", "sum_squares"),
    MetricType.RATIO: (
        "users",
        "numerator_sum",
        "numerator_sum_squares",
        "denominator_sum",
        "denominator_sum_squares",
        "sum_products",
    ),
    MetricType.QUANTILE: ("users", "n_star", "quantile", "lower", "upper"),
}
RESULT_FIELD_LABELS = {
    "users": "Users",
    "conversions": "Conversions",
    "sum": "Sum",
    "sum_squares": "Sum of squares",
    "numerator_sum": "Numerator sum",
    "numerator_sum_squares": "Numerator sum of squares",
    "denominator_sum": "Denominator sum",
    "denominator_sum_squares": "Denominator sum of squares",
    "sum_products": "Σ numerator × denominator",
    "n_star": "n* (bounds read at)",
    "quantile": "Sample quantile",
    "lower": "Lower bound",
    "upper": "Upper bound",
    "mean": "or mean",
    "sd": "and standard deviation (sample)",
}
#: A continuous metric may be entered either way: Σ and Σ², or mean and sample standard
#: deviation (converted exactly by `evaluation.stats.expand_mean_sd`).
CONTINUOUS_ALTERNATIVE = ("mean", "sd")


def results_form_class(metric: ABMetric, variant_keys: list[str]) -> type[forms.Form]:
    """A form with users and conversions (binomial) or users, Σ and Σ² (continuous) for
    every variant of the test; field names are `<variant>__<field>` (use the metric key as
    the prefix, so several metrics' forms can share a page)."""
    fields: dict[str, forms.Field] = {}
    value_fields = RESULT_FORM_FIELDS[metric.type]
    continuous = metric.type == MetricType.CONTINUOUS
    if continuous:
        value_fields = (*value_fields, *CONTINUOUS_ALTERNATIVE)
    for key in variant_keys:
        for name in value_fields:
            label = RESULT_FIELD_LABELS[name]
            fields[f"{key}__{name}"] = forms.CharField(
                label=f"{label} ({key})",
                # Σ and Σ², or mean and sd: each pair is optional, one is checked in
                # `results_from_form`.
                required=not continuous or name == "users",
                widget=forms.TextInput(attrs={"inputmode": "decimal"}),
            )
    return type("ResultsForm", (forms.Form,), fields)


def parse_number(text: str) -> int | float:
    """A whole number stays an int (exact counts); anything else must be a float."""
    text = text.strip().replace("_", "")
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError as exc:
        raise ValidationError(f"{text!r} is not a number.") from exc


def results_from_form(form: forms.Form, metric: ABMetric, variant_keys: list[str]) -> dict:
    """`{metric: {variant: {field: number}}}` from a valid results form; bad numbers are
    added to the form as field errors (the caller checks `form.errors`)."""
    per_variant: dict[str, dict] = {key: {} for key in variant_keys}
    for name, value in list(form.cleaned_data.items()):
        variant, field = name.split("__", 1)
        if not value.strip():
            continue  # an optional pair of a continuous metric, left empty
        try:
            per_variant[variant][field] = parse_number(value)
        except ValidationError as exc:
            form.add_error(name, exc)
    if metric.type == MetricType.CONTINUOUS:
        for key, values in per_variant.items():
            if {"mean", "sd"} <= values.keys():
                # The form shows the stored Σ and Σ²; a mean and sd typed over them win.
                values.pop("sum", None)
                values.pop("sum_squares", None)
            given = values.keys() - {"users"}
            if not given:
                form.add_error(
                    f"{key}__sum",
                    "Enter Σ and Σ², or the mean and the sample standard deviation.",
                )
    return {metric.key: per_variant}


class AggregatesCSVForm(forms.Form):
    file = forms.FileField(
        label="Aggregates CSV",
        help_text="Columns: metric, variant, users, then conversions (binomial) or sum, "
        "sum_squares (continuous).",
    )

    def clean_file(self) -> dict[str, dict[str, dict]]:
        upload = self.cleaned_data["file"]
        if upload.size > AGGREGATES_CSV_MAX_BYTES:
            raise ValidationError(AGGREGATES_CSV_TOO_LARGE)
        try:
            text = upload.read().decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ValidationError("The file is not UTF-8 text.") from exc
        return parse_aggregates_csv(text)


AGGREGATE_COLUMNS = (
    "users",
    "conversions",
    "sum",
    "sum_squares",
    "covariate_sum",
    "covariate_sum_squares",
    "covariate_sum_products",
    *RESULT_FORM_FIELDS[MetricType.RATIO][1:],
    *RATIO_COVARIATE_FIELDS,
    *RESULT_FORM_FIELDS[MetricType.QUANTILE][1:],
)


def parse_aggregates_csv(text: str) -> dict[str, dict[str, dict]]:
    """Rows of (metric, variant, users, conversions | sum, sum_squares) into the results
    mapping. Empty cells are left out, so a continuous metric's row with `conversions`
    filled is rejected later as the wrong type, with the engine's message."""
    reader = csv.DictReader(io.StringIO(text))
    columns = [c.strip() for c in reader.fieldnames or []]
    missing = [c for c in ("metric", "variant", "users") if c not in columns]
    if missing:
        raise ValidationError(f"The CSV needs the column(s) {', '.join(missing)}.")
    unknown = [c for c in columns if c not in ("metric", "variant", *AGGREGATE_COLUMNS)]
    if unknown:
        raise ValidationError(f"Unknown column(s) {', '.join(unknown)}.")
    results: dict[str, dict[str, dict]] = {}
    for number, raw in enumerate(reader, start=2):
        row = {(k or "").strip(): (v or "").strip() for k, v in raw.items() if k is not None}
        metric, variant = row.get("metric", ""), row.get("variant", "")
        if not metric or not variant:
            raise ValidationError(f"Line {number}: metric and variant are required.")
        if variant in results.get(metric, {}):
            raise ValidationError(f"Line {number}: {metric}/{variant} appears twice.")
        values = {}
        for column in AGGREGATE_COLUMNS:
            if row.get(column):
                try:
                    values[column] = parse_number(row[column])
                except ValidationError as exc:
                    raise ValidationError(f"Line {number}, column {column}: {exc.message}") from exc
        results.setdefault(metric, {})[variant] = values
    if not results:
        raise ValidationError("The CSV has no data rows.")
    return results


class RawUploadForm(forms.Form):
    file = forms.FileField(
        label="Raw per-user rows",
        help_text="CSV, gzip-compressed CSV or Parquet: one row per user, a variant column "
        "and one column per metric key (a ratio metric: <key>_numerator and "
        "<key>_denominator; a quantile metric: the user's value).",
    )
    variant_column = forms.CharField(max_length=100, initial="variant")
    covariate_suffix = forms.CharField(
        max_length=30,
        required=False,
        label="Pre-period column suffix (CUPED)",
        help_text="e.g. _pre when the file has revenue_pre next to revenue; leave empty if none.",
    )


class AnalysisOptionsForm(forms.Form):
    alpha = forms.FloatField(initial=0.05, min_value=0.0001, max_value=0.5, label="α")
    correction = forms.ChoiceField(
        choices=[
            ("none", "No correction"),
            ("holm", "Holm (family-wise error)"),
            ("bh", "Benjamini–Hochberg (false discovery rate)"),
        ],
        initial="none",
        label="Multiple comparisons",
    )
    cuped = forms.BooleanField(required=False, label="CUPED (uses pre-period covariates)")
    prior = forms.ChoiceField(
        choices=[("flat", "Flat (uninformative)"), ("normal", "Normal on the lift")],
        initial="flat",
        label="Bayesian prior",
    )
    prior_mean = forms.FloatField(required=False, initial=0.0, label="Prior mean of the lift")
    prior_variance = forms.FloatField(
        required=False, initial=0.09, label="Prior variance of the lift"
    )
    sequential = forms.BooleanField(
        required=False,
        label="Sequential testing (always-valid intervals; safe to peek daily)",
    )
    sequential_tuning_parameter = forms.FloatField(
        required=False, min_value=1, initial=5000, label="Sequential tuning parameter"
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("prior") == "normal" and data.get("prior_variance") is None:
            self.add_error("prior_variance", "A normal prior needs a variance.")
        return data

    def options(self) -> dict[str, Any]:
        data = self.cleaned_data
        prior = None
        if data["prior"] == "normal":
            prior = {"mean": data.get("prior_mean") or 0.0, "variance": data["prior_variance"]}
        return {
            "alpha": data["alpha"],
            "correction": data["correction"],
            "cuped": data["cuped"],
            "prior": prior,
            "sequential": data["sequential"],
            "sequential_tuning_parameter": data.get("sequential_tuning_parameter") or 5000.0,
        }


class DecisionForm(forms.Form):
    outcome = forms.ChoiceField(choices=Outcome.choices, widget=forms.RadioSelect)
    rationale = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="Tie it to the business metric: what did the test show about it (e.g. "
        "revisit rate, revenue), and what will you do?",
    )
    measured_value = forms.FloatField(
        required=False,
        label="Measured value of the business metric",
        help_text="The business impact, once measured: written to the metric's current value "
        "(step 4), so the metric tree shows what the decision achieved.",
    )

    def __init__(self, *args: Any, business_metric: Any = None, **kwargs: Any) -> None:
        """With the test's `business_metric` (a lifecycle Metric), the prompt names it."""
        super().__init__(*args, **kwargs)
        if business_metric is not None:
            field = self.fields["rationale"]
            field.help_text = rationale_prompt(business_metric)
            field.widget.attrs["placeholder"] = (
                f"What did the test show about {business_metric.name}? What will you do?"
            )
            measured = self.fields["measured_value"]
            unit = f" ({business_metric.unit})" if business_metric.unit else ""
            measured.label = f"Measured {business_metric.name}{unit}"
        else:
            # Without a business metric there is nothing to write the impact back to.
            del self.fields["measured_value"]


def rationale_prompt(metric: Any) -> str:
    """The decision's prompt for the test's business metric, with its target and current
    value when the project has them."""
    known = []
    unit = f" {metric.unit}" if metric.unit else ""
    if metric.current is not None:
        known.append(f"now {metric.current:g}{unit}")
    if metric.target is not None:
        known.append(f"target {metric.target:g}{unit}")
    facts = f" ({', '.join(known)})" if known else ""
    return (
        f"Tie it to the business metric “{metric.name}”{facts}: what did the test show "
        "about it, and what will you do?"
    )


# --- warehouse: data sources, saved queries, a test's queries ----------------------------------


class DataSourceForm(forms.Form):
    """Connect or change a data source. The stored URL is never shown back: on edit an
    empty URL keeps it."""

    name = forms.CharField(max_length=100)
    url = forms.CharField(
        label="SQLAlchemy URL",
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="Of a read-only user, e.g. postgresql+psycopg://reader:password@host:5432/dwh. "
        "Stored encrypted; never shown again.",
    )
    statement_timeout_ms = forms.IntegerField(
        label="Statement timeout (ms)", initial=60_000, min_value=100, max_value=3_600_000
    )
    row_cap = forms.IntegerField(
        label="Row cap",
        initial=50_000_000,
        min_value=1,
        help_text="Most exposure rows a refresh may read.",
    )

    def __init__(self, *args: Any, editing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if editing:
            self.fields["url"].required = False
            self.fields["url"].help_text = "Leave empty to keep the stored URL."


SQL_WIDGET = forms.Textarea(attrs={"rows": 8, "class": "mono", "spellcheck": "false"})


class QueryForm(forms.Form):
    """A new exposure query or metric definition (its first version)."""

    name = forms.CharField(max_length=100)
    description = forms.CharField(max_length=300, required=False)
    data_source = forms.ModelChoiceField(queryset=None, empty_label=None)
    kind = forms.ChoiceField(choices=QueryKind.choices, widget=forms.RadioSelect)
    metric_type = forms.ChoiceField(
        choices=[("", "—")] + MetricType.choices,
        required=False,
        help_text="Metric definitions only: proportion (binomial), mean, ratio or quantile.",
    )
    sql = forms.CharField(
        label="SQL",
        widget=SQL_WIDGET,
        help_text="One SELECT. Exposure: user_id, variant, exposed_at. "
        "Metric: user_id, value, ts (numerator for a ratio).",
    )
    denominator_sql = forms.CharField(
        label="Denominator SQL (ratio metrics)",
        widget=SQL_WIDGET,
        required=False,
        help_text="user_id, value, ts of the denominator, e.g. one row per order.",
    )
    note = forms.CharField(max_length=300, required=False, label="Note to the reviewer")

    def __init__(self, *args: Any, sources: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["data_source"].queryset = sources


class QueryVersionForm(forms.Form):
    sql = forms.CharField(label="SQL", widget=SQL_WIDGET)
    denominator_sql = forms.CharField(
        label="Denominator SQL (ratio metrics)", widget=SQL_WIDGET, required=False
    )
    note = forms.CharField(max_length=300, required=False, label="What changed, and why")


class QueryReviewForm(forms.Form):
    decision = forms.ChoiceField(
        choices=[("approve", "Approve"), ("request_changes", "Request changes")],
        widget=forms.RadioSelect,
    )
    comment = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)


class ABTestQueriesForm(forms.Form):
    """Which saved queries a test runs: one exposure query, a definition per metric."""

    exposure_query = forms.ModelChoiceField(queryset=None, empty_label="—")
    conversion_window_hours = forms.FloatField(
        min_value=0.001, initial=72.0, help_text="Events up to this long after first exposure."
    )
    cuped_lookback_days = forms.FloatField(
        label="CUPED lookback (days)",
        min_value=0,
        max_value=365,
        initial=14.0,
        help_text="Each metric over this many days before first exposure is its CUPED "
        "covariate; 0 for none.",
    )

    def __init__(self, *args: Any, abtest: ABTest, queries: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.abtest = abtest
        self.fields["exposure_query"].queryset = queries.filter(kind=QueryKind.EXPOSURE)
        for metric in abtest.metrics.all():
            self.fields[f"metric_{metric.key}"] = forms.ModelChoiceField(
                queryset=queries.filter(kind=QueryKind.METRIC, metric_type=metric.type),
                required=False,
                empty_label="—",
                label=f"Metric “{metric.key}” ({metric.get_type_display().lower()})",
            )

    def metric_queries(self) -> dict:
        return {m.key: self.cleaned_data.get(f"metric_{m.key}") for m in self.abtest.metrics.all()}
