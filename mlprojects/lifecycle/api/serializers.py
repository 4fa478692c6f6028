"""API serializers. Output is the plain data of `selectors` (the same shapes as
`project_snapshot`), so what GET answers can be sent back with PUT. Input serializers
validate only; references to other items are narrowed to the project's current cycle
(`context["cycle"]`), so a foreign id is a 400 naming the field."""

from rest_framework import serializers

from mlprojects.lifecycle import feasibility as feas
from mlprojects.models import (
    Baseline,
    DataSource,
    Feedback,
    Hypothesis,
    Metric,
    MultiObjectiveStrategy,
    Objective,
    ProblemNode,
    Project,
    ProjectConstraint,
    Reference,
    Solution,
    WatchedMetric,
)
from mlprojects.models import PerformanceRequirements as Performance


class ProjectSerializer(serializers.ModelSerializer):
    owner = serializers.EmailField(source="owner.email", read_only=True, default=None)

    class Meta:
        model = Project
        fields = [
            "id",
            "name",
            "slug",
            "summary",
            "stage",
            "cycle",
            "owner",
            "readiness_score",
            "verdict",
            "created_at",
            "updated_at",
        ]
        read_only_fields = [
            "id",
            "slug",
            "stage",
            "cycle",
            "owner",
            "readiness_score",
            "verdict",
            "created_at",
            "updated_at",
        ]


def _text(**kwargs) -> serializers.CharField:
    return serializers.CharField(required=False, allow_blank=True, **kwargs)


class CycleScoped:
    """Narrows the related-item fields named in `cycle_fields` to the current cycle."""

    cycle_fields: dict[str, type] = {}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        cycle = self.context["cycle"]
        for name, model in self.cycle_fields.items():
            field = self.fields[name]
            target = field.child_relation if hasattr(field, "child_relation") else field
            target.queryset = model.objects.filter(cycle=cycle)


def _related(**kwargs) -> serializers.PrimaryKeyRelatedField:
    return serializers.PrimaryKeyRelatedField(queryset=Metric.objects.none(), **kwargs)


class IdOrObjectField(serializers.Field):
    """A reference given as an id or as `{"id": …}` (the shape GET answers with)."""

    def to_internal_value(self, data):
        if isinstance(data, dict):
            data = data.get("id")
        if isinstance(data, bool) or not isinstance(data, int):
            raise serializers.ValidationError("Give an id (or an object with an id).")
        return data

    def to_representation(self, value):
        return value


# ---------------------------------------------------------------- items


class HypothesisInput(serializers.ModelSerializer):
    id = serializers.IntegerField(required=False)

    class Meta:
        model = Hypothesis
        fields = ["id", "statement", "status", "evidence"]


class ProblemNodeInput(CycleScoped, serializers.ModelSerializer):
    cycle_fields = {"parent": ProblemNode}
    parent = serializers.PrimaryKeyRelatedField(
        queryset=ProblemNode.objects.none(), allow_null=True, required=False
    )

    class Meta:
        model = ProblemNode
        fields = ["title", "notes", "parent"]


class SolutionInput(CycleScoped, serializers.ModelSerializer):
    cycle_fields = {"cause": ProblemNode}
    cause = serializers.PrimaryKeyRelatedField(queryset=ProblemNode.objects.none())

    class Meta:
        model = Solution
        fields = [
            "cause",
            "title",
            "description",
            "kind",
            "owner",
            "effort",
            "expected_impact",
            "time_to_value",
            "status",
        ]


class ObjectiveInput(serializers.ModelSerializer):
    class Meta:
        model = Objective
        fields = [
            "title",
            "kind",
            "loss_function",
            "label_scenario",
            "label_source",
            "update_cadence",
            "owner",
            "weight",
        ]


class MetricInput(CycleScoped, serializers.ModelSerializer):
    cycle_fields = {"objective": Objective, "parent": Metric}
    objective = serializers.PrimaryKeyRelatedField(
        queryset=Objective.objects.none(), allow_null=True, required=False
    )
    parent = _related(allow_null=True, required=False)

    class Meta:
        model = Metric
        fields = [
            "name",
            "kind",
            "direction",
            "unit",
            "target",
            "current",
            "objective",
            "parent",
            "description",
        ]


class ConstraintInput(serializers.ModelSerializer):
    class Meta:
        model = ProjectConstraint
        fields = [
            "kind",
            "description",
            "likelihood",
            "impact",
            "mitigation",
            "owner",
            "status",
            "red_flag",
        ]


class BaselineInput(serializers.ModelSerializer):
    rules = serializers.JSONField(required=False, allow_null=True)

    class Meta:
        model = Baseline
        fields = ["name", "kind", "strategy", "description", "rules", "result"]


class ReferenceInput(serializers.ModelSerializer):
    class Meta:
        model = Reference
        fields = ["title", "url", "notes"]


class FeedbackInput(serializers.ModelSerializer):
    id = serializers.IntegerField(required=False)

    class Meta:
        model = Feedback
        fields = ["id", "who", "given_on", "text", "sentiment"]


class WatchedMetricInput(CycleScoped, serializers.ModelSerializer):
    cycle_fields = {"metric": Metric}
    id = serializers.IntegerField(required=False)
    metric = _related()

    class Meta:
        model = WatchedMetric
        fields = ["id", "metric", "alert_when", "threshold", "notes"]


# ---------------------------------------------------------------- single-row sections


class PhenomenonInput(serializers.Serializer):
    what = _text()
    since = _text(max_length=200)
    evidence = _text()
    difficulties = _text()
    worth_solving = _text()
    hypotheses = HypothesisInput(many=True, required=False)
    data_sources = serializers.ListField(child=IdOrObjectField(), required=False)

    def validate_data_sources(self, ids: list[int]) -> list[DataSource]:
        org_id = self.context["cycle"].project.organization_id
        found = {d.id: d for d in DataSource.objects.filter(organization_id=org_id, id__in=ids)}
        missing = [i for i in ids if i not in found]
        if missing:
            raise serializers.ValidationError(f"No data source {missing[0]} in this organization.")
        return [found[i] for i in ids]


class ProblemInput(serializers.Serializer):
    statement = _text()
    what_to_know = _text()
    ship_now = _text()
    build_in_parallel = _text()


class MultiObjectiveInput(serializers.Serializer):
    strategy = serializers.ChoiceField(
        choices=MultiObjectiveStrategy.choices, allow_blank=True, required=False
    )
    rationale = _text()


class GoalInput(serializers.Serializer):
    """`multi_objective.weights` and `formula` are answered, not accepted: each weight is
    set on its objective (`/objectives/{id}/`)."""

    statement = _text()
    multi_objective = MultiObjectiveInput(required=False)


class PerformanceInput(serializers.ModelSerializer):
    class Meta:
        model = Performance
        fields = list(Performance.EDITABLE_FIELDS)


class PrototypeInput(serializers.Serializer):
    url = serializers.URLField(required=False, allow_blank=True, max_length=500)
    tool = serializers.ChoiceField(
        choices=["streamlit", "gradio", "voila", "other"], allow_blank=True, required=False
    )
    description = _text()
    feedback = FeedbackInput(many=True, required=False)


class EvaluationPlanInput(CycleScoped, serializers.Serializer):
    cycle_fields = {"metrics": Metric}
    text = _text()
    metrics = serializers.PrimaryKeyRelatedField(
        queryset=Metric.objects.none(), many=True, required=False
    )


class DeploymentPlanInput(serializers.Serializer):
    watch = _text()
    where_wrong = _text()
    watched_metrics = serializers.ListField(child=serializers.DictField(), required=False)

    def validate_watched_metrics(self, items: list[dict]) -> list[dict]:
        out, errors = [], {}
        for i, item in enumerate(items):
            s = WatchedMetricInput(data=item, context=self.context)
            if s.is_valid():
                out.append(s.validated_data)
            else:
                errors[i] = s.errors
        if errors:
            raise serializers.ValidationError(errors)
        return out


class FurtherAnalysisInput(serializers.Serializer):
    findings = _text()
    next_questions = _text()


class FeasibilityInput(serializers.Serializer):
    """Answers in either form, per key:

    - `"criteria": {"pattern": "yes"}` or `{"pattern": {"answer": "yes", "rationale": "…"}}`
    - `"red_flags": {"unethical": false}` or `{"unethical": {"raised": false, "rationale": …}}`
    - and optionally `"rationales": {"pattern": "…", "unethical": "…"}` (the shape GET
      answers with, so a GET body can be PUT back).

    PUT needs all five criteria and all six red flags; PATCH any subset.
    """

    criteria = serializers.DictField(required=False)
    red_flags = serializers.DictField(required=False)
    rationales = serializers.DictField(
        child=serializers.CharField(allow_blank=True), required=False
    )

    def validate(self, data: dict) -> dict:
        criteria, red_flags, rationales, errors = {}, {}, {}, {}
        for key, value in data.get("criteria", {}).items():
            if key not in feas.CRITERIA:
                errors.setdefault("criteria", {})[key] = "Unknown criterion."
                continue
            if isinstance(value, dict):
                if "rationale" in value:
                    rationales[key] = str(value.get("rationale") or "")
                value = value.get("answer")
            if value not in feas.ANSWERS:
                errors.setdefault("criteria", {})[key] = f"Answer one of {', '.join(feas.ANSWERS)}."
            else:
                criteria[key] = value
        for key, value in data.get("red_flags", {}).items():
            if key not in feas.RED_FLAGS:
                errors.setdefault("red_flags", {})[key] = "Unknown red flag."
                continue
            if isinstance(value, dict):
                if "rationale" in value:
                    rationales[key] = str(value.get("rationale") or "")
                value = value.get("raised")
            if not isinstance(value, bool):
                errors.setdefault("red_flags", {})[key] = "Give true or false."
            else:
                red_flags[key] = value
        for key, value in data.get("rationales", {}).items():
            if key not in feas.CRITERIA and key not in feas.RED_FLAGS:
                errors.setdefault("rationales", {})[key] = "Unknown criterion or red flag."
            else:
                rationales.setdefault(key, value)
        if not self.partial:
            missing_c = [k for k in feas.CRITERIA if k not in criteria]
            missing_f = [k for k in feas.RED_FLAGS if k not in red_flags]
            if missing_c and "criteria" not in errors:
                errors["criteria"] = f"Answer every criterion (missing: {', '.join(missing_c)})."
            if missing_f and "red_flags" not in errors:
                errors["red_flags"] = f"Answer every red flag (missing: {', '.join(missing_f)})."
        if errors:
            raise serializers.ValidationError(errors)
        return {"criteria": criteria, "red_flags": red_flags, "rationales": rationales}
