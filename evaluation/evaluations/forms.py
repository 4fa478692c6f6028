"""Forms of the evaluation pages: upload a file, then map its columns. They validate; the
services in `evaluation.services.evaluations` save."""

from typing import Any

from django import forms

from evaluation.metrics import HIGHER_IS_BETTER, suggest_mapping
from evaluation.metrics.guess import column_roles, guess_columns
from evaluation.models import EvaluationTask


class EvaluationUploadForm(forms.Form):
    file = forms.FileField(
        label="Predictions file",
        help_text="CSV, gzip-compressed CSV or Parquet, one row per prediction, with a header.",
    )
    name = forms.CharField(max_length=200, required=False, help_text="Defaults to the file name.")


def _values(data: Any, key: str) -> list[str]:
    """A multi-valued field of submitted data (a QueryDict, or a dict in tests)."""
    if hasattr(data, "getlist"):
        return data.getlist(key)
    value = data.get(key) or []
    return [value] if isinstance(value, str) else list(value)


def _optional(header: list[str]) -> list[tuple[str, str]]:
    return [("", "—")] + [(c, c) for c in header]


class EvaluationColumnsForm(forms.Form):
    """Step 2: which column is which, the task and the options, with the guesses of
    `guess_columns` (from the header and the first rows) as initial values."""

    name = forms.CharField(max_length=200)
    task = forms.ChoiceField(choices=EvaluationTask.choices)
    y_true = forms.ChoiceField(label="True label / target (y_true)")
    y_score = forms.ChoiceField(label="Score or probability (y_score)", required=False)
    y_pred = forms.ChoiceField(label="Predicted label or value (y_pred)", required=False)
    proba = forms.MultipleChoiceField(
        label="Per-class probability columns (multiclass)",
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    group = forms.ChoiceField(label="Group / query / user id (ranking)", required=False)
    item = forms.ChoiceField(label="Item id (ranking)", required=False)
    features = forms.MultipleChoiceField(
        label="Feature columns to load",
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="For slices and rule baselines.",
    )
    slice_columns = forms.MultipleChoiceField(
        label="Slice by", required=False, widget=forms.CheckboxSelectMultiple
    )
    threshold = forms.FloatField(initial=0.5, help_text="Predict positive when score ≥ this.")
    cost_fn = forms.FloatField(label="Cost of a false negative", initial=1, min_value=0)
    cost_fp = forms.FloatField(label="Cost of a false positive", initial=1, min_value=0)
    k = forms.IntegerField(label="k (ranking cut-off)", initial=10, min_value=1)
    drop_invalid = forms.BooleanField(
        label="Drop rows with missing or non-finite values (they are counted and reported)",
        required=False,
    )
    score_b = forms.ChoiceField(label="Second objective: score", required=False)
    label_b = forms.ChoiceField(label="Second objective: label", required=False)
    target_metric = forms.TypedChoiceField(
        label="Project metric to update",
        required=False,
        coerce=int,
        empty_value=None,
        help_text="On success, its current value becomes this evaluation's result.",
    )
    target_metric_key = forms.ChoiceField(
        label="…from the evaluation's metric",
        required=False,
        help_text="Empty: the task's main metric (F1, accuracy, RMSE or NDCG@k).",
    )
    project_rules = forms.BooleanField(
        label="Evaluate the project's rule baselines too",
        required=False,
        initial=True,
        help_text="Baselines whose features are not columns of this file are skipped.",
    )

    GROUPS = (
        ("What the file holds", ("name", "task", "y_true", "y_score", "y_pred", "proba")),
        ("Ranking", ("group", "item", "k")),
        ("Decision threshold and costs", ("threshold", "cost_fn", "cost_fp", "drop_invalid")),
        ("Slices", ("features", "slice_columns")),
        ("Multi-objective trade-off (optional)", ("score_b", "label_b")),
        ("The project's lifecycle", ("target_metric", "target_metric_key", "project_rules")),
    )

    def __init__(
        self,
        *args: Any,
        header: list[str],
        evaluation: Any,
        rows: list[list[str]] = (),
        metrics: list[Any] = (),
        rule_baselines: list[dict[str, Any]] = (),
        **kwargs: Any,
    ) -> None:
        """`rows`: the file's first rows (the guess reads their values); `metrics`: the
        model metrics of the project's current cycle (for the target); `rule_baselines`:
        the project's rule baselines (the checkbox shows only if any)."""
        self.header = header
        self.guess = suggestion = guess_columns(header, rows)
        mapping = suggestion["mapping"]
        initial = kwargs.setdefault("initial", {})
        initial.setdefault("name", evaluation.name)
        initial.setdefault("task", suggestion["task"] or evaluation.task)
        for role in ("y_true", "y_score", "y_pred", "group", "item"):
            initial.setdefault(role, mapping.get(role, ""))
        initial.setdefault("proba", list((mapping.get("proba") or {}).values()))
        features = mapping.get("features", [])
        initial.setdefault("features", features)
        initial.setdefault("slice_columns", suggestion["slices"])
        super().__init__(*args, **kwargs)
        every = [(c, c) for c in header]
        # No guess for the label leaves it blank (required): the first column of a file
        # is often an id, which a silent default would take as the label.
        self.fields["y_true"].choices = [("", "— choose —"), *every]
        for role in ("y_score", "y_pred", "group", "item", "score_b", "label_b"):
            self.fields[role].choices = _optional(header)
        for name in ("proba", "features", "slice_columns"):
            self.fields[name].choices = every
        self.fields["target_metric"].choices = [("", "—")] + [(m.pk, m.name) for m in metrics]
        self.fields["target_metric_key"].choices = [("", "The task's main metric")] + [
            (k, k) for k in sorted(HIGHER_IS_BETTER)
        ]
        if not rule_baselines:
            del self.fields["project_rules"]
        else:
            names = ", ".join(f"“{b['name']}”" for b in rule_baselines)
            self.fields[
                "project_rules"
            ].help_text = f"{names}. {self.fields['project_rules'].help_text}"

    def column_roles(self) -> dict[str, str]:
        """Each column's role under the mapping now in the form (the guess, or what was
        submitted), for the preview table."""
        if self.is_bound:
            data = self.data
            mapping: dict[str, Any] = {
                role: data.get(role, "")
                for role in ("y_true", "y_score", "y_pred", "group", "item", "score_b", "label_b")
            }
            mapping["proba"] = {c: c for c in _values(data, "proba")}
            mapping["features"] = _values(data, "features")
            slices = _values(data, "slice_columns")
        else:
            mapping = {**self.initial, "proba": self.guess["mapping"].get("proba") or {}}
            slices = self.initial.get("slice_columns", [])
        return column_roles(mapping, slices, self.header)

    def groups(self) -> list[tuple[str, list[forms.BoundField]]]:
        return [
            (title, [self[name] for name in names if name in self.fields])
            for title, names in self.GROUPS
        ]

    def mapping(self) -> dict[str, Any]:
        """The cleaned form as the service's `columns` and `options`."""
        data = self.cleaned_data
        columns: dict[str, Any] = {
            role: data[role]
            for role in ("y_true", "y_score", "y_pred", "group", "item", "score_b", "label_b")
            if data.get(role)
        }
        if data["proba"]:
            # Class names from the column names (proba_cat -> cat) when they follow a
            # recognised pattern, else the column name itself.
            detected = suggest_mapping(data["proba"])["mapping"].get("proba") or {}
            if len(detected) == len(data["proba"]):
                columns["proba"] = detected
            else:
                columns["proba"] = {c: c for c in data["proba"]}
            columns.pop("y_score", None)
        columns["features"] = list(dict.fromkeys([*data["features"], *data["slice_columns"]]))
        options: dict[str, Any] = {
            "threshold": data["threshold"],
            "cost_fn": data["cost_fn"],
            "cost_fp": data["cost_fp"],
            "k": data["k"],
            "drop_invalid": data["drop_invalid"],
            "slice_columns": data["slice_columns"],
        }
        return {"columns": columns, "options": options}
