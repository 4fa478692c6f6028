"""Forms of the lifecycle workspace. They validate (including the models' `clean`, which
keeps references inside the cycle); the services save."""

import json

from django import forms

from mlprojects.lifecycle import rule_builder
from mlprojects.lifecycle.feasibility import CRITERIA, CRITERION_NAMES, RED_FLAGS
from mlprojects.lifecycle.rules import validate_rules
from mlprojects.models import (
    Baseline,
    BaselineKind,
    DataSource,
    DeploymentPlan,
    EvaluationPlan,
    Feasibility,
    Feedback,
    FurtherAnalysis,
    Goal,
    Hypothesis,
    Metric,
    MetricKind,
    Objective,
    PerformanceRequirements,
    Phenomenon,
    ProblemDefinition,
    ProblemNode,
    Project,
    ProjectConstraint,
    ProjectCycle,
    Prototype,
    Reference,
    Solution,
    WatchedMetric,
)


def _area(rows: int = 3) -> forms.Textarea:
    return forms.Textarea(attrs={"rows": rows})


def _text_last(fields: tuple[str, ...], text: str, *, after: tuple[str, ...] = ()) -> list[str]:
    """A model's `EDITABLE_FIELDS` in the order its form shows them: the long text box
    `text` last, below the short fields (and the references `after`) laid out in the grid."""
    return [*(name for name in fields if name != text), *after, text]


class ProjectForm(forms.ModelForm):
    class Meta:
        model = Project
        fields = ["name", "summary"]
        widgets = {"summary": forms.Textarea(attrs={"rows": 3})}


class ProjectDeleteForm(forms.Form):
    confirm = forms.CharField(
        label="Type the project's name to confirm",
        max_length=200,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )


class CycleForm(forms.ModelForm):
    """A form whose choices of related items are narrowed to one cycle."""

    def __init__(self, *args, cycle: ProjectCycle, **kwargs):
        self.cycle = cycle
        super().__init__(*args, **kwargs)
        self.instance.cycle = cycle
        for field in self.fields.values():
            # Django's default of 10 rows makes every step's form a wall of boxes.
            if isinstance(field.widget, forms.Textarea) and field.widget.attrs.get("rows") == "10":
                field.widget.attrs["rows"] = 3


# ---------------------------------------------------------------- single-row sections


class PhenomenonForm(CycleForm):
    class Meta:
        model = Phenomenon
        fields = [*Phenomenon.EDITABLE_FIELDS, "data_sources"]
        widgets = {"data_sources": forms.CheckboxSelectMultiple}

    def __init__(self, *args, cycle: ProjectCycle, **kwargs):
        super().__init__(*args, cycle=cycle, **kwargs)
        self.fields["data_sources"].queryset = DataSource.objects.filter(
            organization_id=cycle.project.organization_id
        )
        self.fields[
            "data_sources"
        ].help_text = "Data sources of the organization (from its business analyses)."


class ProblemForm(CycleForm):
    class Meta:
        model = ProblemDefinition
        fields = list(ProblemDefinition.EDITABLE_FIELDS)


class FeasibilityForm(CycleForm):
    class Meta:
        model = Feasibility
        fields = list(Feasibility.EDITABLE_FIELDS)
        widgets = {key: forms.RadioSelect for key in CRITERIA}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for key in list(CRITERIA) + list(RED_FLAGS):
            self.fields[f"{key}_rationale"].widget.attrs.update(rows=2, placeholder="Why?")
        self.fields["business_value"].widget.attrs.update(rows=2)
        self.fields["currency"].widget.attrs.update(size=4, placeholder="EUR")

    def criteria_rows(self):
        return [
            (CRITERION_NAMES[key], question, self[key], self[f"{key}_rationale"])
            for key, question in CRITERIA.items()
        ]

    def flag_rows(self):
        return [
            (key, label, self[key], self[f"{key}_rationale"]) for key, label in RED_FLAGS.items()
        ]

    def split(self) -> dict:
        """The cleaned data as the arguments of `services.feasibility_update`."""
        data = self.cleaned_data
        return {
            "criteria": {k: data[k] for k in CRITERIA},
            "red_flags": {k: data[k] for k in RED_FLAGS},
            "rationales": {k: data[f"{k}_rationale"] for k in list(CRITERIA) + list(RED_FLAGS)},
            "values": {
                k: data[k] for k in (*Feasibility.BUSINESS_CASE_FIELDS, *Feasibility.PLAN_FIELDS)
            },
        }

    def business_case_fields(self):
        return [self[name] for name in Feasibility.BUSINESS_CASE_FIELDS]


class GoalForm(CycleForm):
    class Meta:
        model = Goal
        fields = list(Goal.EDITABLE_FIELDS)
        widgets = {"statement": _area(2)}


class MultiObjectiveForm(CycleForm):
    class Meta:
        model = Goal
        fields = ["multi_objective_strategy", "multi_objective_rationale"]
        help_texts = {
            "multi_objective_strategy": "Set each objective's weight on the objective itself."
        }


class PerformanceForm(CycleForm):
    class Meta:
        model = PerformanceRequirements
        fields = list(PerformanceRequirements.EDITABLE_FIELDS)


class PrototypeForm(CycleForm):
    url = forms.URLField(label="Link", max_length=500, required=False, assume_scheme="https")

    class Meta:
        model = Prototype
        fields = list(Prototype.EDITABLE_FIELDS)


class EvaluationPlanForm(CycleForm):
    class Meta:
        model = EvaluationPlan
        fields = [*EvaluationPlan.EDITABLE_FIELDS, "metrics"]
        widgets = {"text": _area(4), "metrics": forms.CheckboxSelectMultiple}

    def __init__(self, *args, cycle: ProjectCycle, **kwargs):
        super().__init__(*args, cycle=cycle, **kwargs)
        self.fields["metrics"].queryset = Metric.objects.filter(cycle=cycle)


class DeploymentPlanForm(CycleForm):
    class Meta:
        model = DeploymentPlan
        fields = list(DeploymentPlan.EDITABLE_FIELDS)


class FurtherAnalysisForm(CycleForm):
    class Meta:
        model = FurtherAnalysis
        fields = list(FurtherAnalysis.EDITABLE_FIELDS)
        widgets = {"findings": _area(5)}


# ---------------------------------------------------------------- list items


class HypothesisForm(CycleForm):
    class Meta:
        model = Hypothesis
        fields = list(Hypothesis.EDITABLE_FIELDS)
        widgets = {"statement": _area(2)}


class ProblemNodeForm(CycleForm):
    class Meta:
        model = ProblemNode
        fields = _text_last(ProblemNode.EDITABLE_FIELDS, "notes", after=("parent",))
        labels = {"parent": "Under"}
        help_texts = {"parent": "Leave empty for a top-level problem."}

    def __init__(self, *args, cycle: ProjectCycle, **kwargs):
        super().__init__(*args, cycle=cycle, **kwargs)
        nodes = ProblemNode.objects.filter(cycle=cycle)
        if self.instance.pk:
            nodes = nodes.exclude(pk__in=_subtree_ids(self.instance))
        self.fields["parent"].queryset = nodes


def _subtree_ids(node: ProblemNode) -> set[int]:
    pairs = list(ProblemNode.objects.filter(cycle_id=node.cycle_id).values_list("id", "parent_id"))
    ids, frontier = {node.pk}, [node.pk]
    while frontier:
        frontier = [i for i, parent in pairs if parent in frontier]
        ids.update(frontier)
    return ids


class SolutionForm(CycleForm):
    class Meta:
        model = Solution
        fields = ["cause", *_text_last(Solution.EDITABLE_FIELDS, "description")]
        help_texts = {
            "cause": "A cause, or the problem itself for a fix that does not wait for the "
            "causes (e.g. the marketing team promoting the restaurant on social media)."
        }

    def __init__(self, *args, cycle: ProjectCycle, **kwargs):
        super().__init__(*args, cycle=cycle, **kwargs)
        self.fields["cause"].queryset = ProblemNode.objects.filter(cycle=cycle)


class ObjectiveForm(CycleForm):
    class Meta:
        model = Objective
        fields = list(Objective.EDITABLE_FIELDS)


class MetricForm(CycleForm):
    class Meta:
        model = Metric
        fields = _text_last(Metric.EDITABLE_FIELDS, "description", after=("objective", "parent"))

    def __init__(self, *args, cycle: ProjectCycle, **kwargs):
        super().__init__(*args, cycle=cycle, **kwargs)
        self.fields["objective"].queryset = Objective.objects.filter(cycle=cycle)
        parents = Metric.objects.filter(cycle=cycle, kind=MetricKind.BUSINESS)
        if self.instance.pk:
            parents = parents.exclude(pk=self.instance.pk)
        self.fields["parent"].queryset = parents


class ConstraintForm(CycleForm):
    class Meta:
        model = ProjectConstraint
        fields = list(ProjectConstraint.EDITABLE_FIELDS)
        widgets = {
            "starts_on": forms.DateInput(attrs={"type": "date"}),
            "due_on": forms.DateInput(attrs={"type": "date"}),
        }


class RulesField(forms.JSONField):
    """JSON rules; an empty box means no rules (not the text “null”)."""

    def prepare_value(self, value):
        return "" if value is None else super().prepare_value(value)


class BaselineForm(CycleForm):
    """A baseline; a rules baseline's rules are built with the rule builder (rows of
    conditions, then/recommend, a default) or typed as JSON (`rules_mode` says which view
    was submitted). A `rules_action` (add or remove a row, switch the view) re-renders the
    form without saving: `rebuilding` tells the view."""

    class Meta:
        model = Baseline
        fields = list(Baseline.EDITABLE_FIELDS)
        field_classes = {"rules": RulesField}
        labels = {"rules": "Rules (JSON)"}
        widgets = {"rules": forms.Textarea(attrs={"rows": 10, "class": "mono"})}
        help_texts = {
            "rules": 'As JSON: {"rules": [{"when": [{"feature": "age", "op": ">=", "value": 30}],'
            ' "then": 1}], "default": 0}; for ranking a rule may "recommend": ["item", …] '
            "instead of “then”. Ops: == != > >= < <= in not_in."
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        data = self.data if self.is_bound else {}
        mode = data.get("rules_mode") or ("json" if data.get("rules") else "form")
        self.rules_mode = "json" if mode == "json" else "form"
        self.rules_action = data.get("rules_action", "")
        self.rebuilding = bool(self.rules_action)
        self.json_error = ""
        if self.is_bound and self.rules_mode == "form":
            self.builder = rule_builder.builder_from_data(data)
        else:
            self.builder = rule_builder.builder_from_spec(self.instance.rules)
        if self.rules_action == "view-json":
            self._to_json()
        elif self.rules_action == "view-form":
            self._to_form()
        elif self.rules_action:
            rule_builder.apply_action(self.builder, self.rules_action)
        self.builder.padded()

    op_labels = list(rule_builder.OP_LABELS.items())
    blank_rule = rule_builder.RuleRow()

    def _to_json(self) -> None:
        spec = rule_builder.builder_to_spec(self.builder)
        if rule_builder.has_errors(self.builder):
            return  # stay on the form, with its errors shown
        self.rules_mode = "json"
        self.data = self.data.copy()
        self.data["rules"] = "" if spec is None else json.dumps(spec, indent=2, ensure_ascii=False)

    def _to_form(self) -> None:
        text = self.data.get("rules", "").strip()
        try:
            spec = json.loads(text) if text else None
        except json.JSONDecodeError as exc:
            self.json_error = (
                f"This is not valid JSON ({exc.msg}, line {exc.lineno}): fix it first."
            )
            return
        problems = validate_rules(spec) if spec is not None else []
        if problems:
            self.json_error = " ".join(problems)
            return
        self.builder = rule_builder.builder_from_spec(spec)
        self.rules_mode = "form"

    def clean(self):
        data = super().clean()
        if self.rules_mode != "form":
            return data
        if data.get("kind") != BaselineKind.RULES:
            data["rules"] = None  # rows left in the builder of another kind are not its rules
            return data
        spec = rule_builder.builder_to_spec(self.builder)
        if rule_builder.has_errors(self.builder):
            self.add_error(None, "Fix the rules marked below.")
        else:
            data["rules"] = spec
        return data


class ReferenceForm(CycleForm):
    url = forms.URLField(label="Link", max_length=500, required=False, assume_scheme="https")

    class Meta:
        model = Reference
        fields = list(Reference.EDITABLE_FIELDS)


class FeedbackForm(CycleForm):
    class Meta:
        model = Feedback
        fields = _text_last(Feedback.EDITABLE_FIELDS, "text")
        widgets = {"given_on": forms.DateInput(attrs={"type": "date"})}


class WatchedMetricForm(CycleForm):
    class Meta:
        model = WatchedMetric
        fields = ["metric", *WatchedMetric.EDITABLE_FIELDS]

    def __init__(self, *args, cycle: ProjectCycle, **kwargs):
        super().__init__(*args, cycle=cycle, **kwargs)
        self.fields["metric"].queryset = Metric.objects.filter(cycle=cycle)
