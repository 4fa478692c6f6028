"""API serializers. Output is the plain data of `selectors` (the same shapes as
`project_snapshot`), so what GET answers can be sent back with PUT. Input serializers
validate only; references to other items are narrowed to the project's current cycle
(`context["cycle"]`), so a foreign id is a 400 naming the field."""

from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from accounts.api.fields import (
    MAX_ID,
    StrictCharField,
    StrictChoiceField,
    StrictIdField,
    StrictModelSerializer,
    StrictPrimaryKeyRelatedField,
    WholeItemsField,
)
from mlprojects.lifecycle import feasibility
from mlprojects.models import (
    Baseline,
    DataSource,
    DeploymentPlan,
    EvaluationPlan,
    Feasibility,
    Feedback,
    FurtherAnalysis,
    Goal,
    Hypothesis,
    Metric,
    MultiObjectiveStrategy,
    Objective,
    PerformanceRequirements,
    Phenomenon,
    ProblemDefinition,
    ProblemNode,
    Project,
    ProjectConstraint,
    Prototype,
    Reference,
    Solution,
    WatchedMetric,
)


class ProjectSerializer(StrictModelSerializer):
    owner = serializers.EmailField(source="owner.email", read_only=True, default=None)
    # "" until the feasibility section has a verdict.
    verdict = StrictChoiceField(
        choices=Project._meta.get_field("verdict").choices, allow_blank=True, read_only=True
    )

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


class CycleScoped:
    """Narrows the related-item fields named in `cycle_fields` to the current cycle."""

    cycle_fields: dict[str, type] = {}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        cycle = self.context.get("cycle")  # none when the API schema describes the fields
        for name, model in self.cycle_fields.items():
            field = self.fields[name]
            target = field.child_relation if hasattr(field, "child_relation") else field
            target.queryset = model.objects.filter(cycle=cycle)


def _related(**kwargs) -> StrictPrimaryKeyRelatedField:
    return StrictPrimaryKeyRelatedField(queryset=Metric.objects.none(), **kwargs)


@extend_schema_field(
    {
        "oneOf": [
            {"type": "integer"},
            {"type": "object", "properties": {"id": {"type": "integer"}}, "required": ["id"]},
        ]
    }
)
class IdOrObjectField(serializers.Field):
    """A reference given as an id or as `{"id": …}` (the shape GET answers with)."""

    def to_internal_value(self, data):
        if isinstance(data, dict):
            data = data.get("id")
        if isinstance(data, bool) or not isinstance(data, int):
            raise serializers.ValidationError("Give an id (or an object with an id).")
        # An id no row can have (the database could not even compare it) names nothing.
        if not 1 <= data <= MAX_ID:
            raise serializers.ValidationError(f"No object {data}.")
        return data

    def to_representation(self, value):
        return value


# ---------------------------------------------------------------- items


class HypothesisInput(StrictModelSerializer):
    id = StrictIdField(required=False)

    class Meta:
        model = Hypothesis
        fields = ["id", *Hypothesis.EDITABLE_FIELDS]


class ProblemNodeInput(CycleScoped, StrictModelSerializer):
    cycle_fields = {"parent": ProblemNode}
    parent = StrictPrimaryKeyRelatedField(
        queryset=ProblemNode.objects.none(), allow_null=True, required=False
    )

    class Meta:
        model = ProblemNode
        fields = [*ProblemNode.EDITABLE_FIELDS, "parent"]


class SolutionInput(CycleScoped, StrictModelSerializer):
    cycle_fields = {"cause": ProblemNode}
    cause = StrictPrimaryKeyRelatedField(queryset=ProblemNode.objects.none())

    class Meta:
        model = Solution
        fields = ["cause", *Solution.EDITABLE_FIELDS]


class ObjectiveInput(StrictModelSerializer):
    class Meta:
        model = Objective
        fields = list(Objective.EDITABLE_FIELDS)


@extend_schema_serializer(component_name="ProjectMetricInput")
class MetricInput(CycleScoped, StrictModelSerializer):
    cycle_fields = {"objective": Objective, "parent": Metric}
    objective = StrictPrimaryKeyRelatedField(
        queryset=Objective.objects.none(), allow_null=True, required=False
    )
    parent = _related(allow_null=True, required=False)

    class Meta:
        model = Metric
        fields = [*Metric.EDITABLE_FIELDS, "objective", "parent"]


class ConstraintInput(StrictModelSerializer):
    class Meta:
        model = ProjectConstraint
        fields = list(ProjectConstraint.EDITABLE_FIELDS)


class BaselineInput(StrictModelSerializer):
    rules = serializers.JSONField(required=False, allow_null=True)

    class Meta:
        model = Baseline
        fields = list(Baseline.EDITABLE_FIELDS)


class ReferenceInput(StrictModelSerializer):
    class Meta:
        model = Reference
        fields = list(Reference.EDITABLE_FIELDS)


class FeedbackInput(StrictModelSerializer):
    id = StrictIdField(required=False)

    class Meta:
        model = Feedback
        fields = ["id", *Feedback.EDITABLE_FIELDS]


class WatchedMetricInput(CycleScoped, StrictModelSerializer):
    cycle_fields = {"metric": Metric}
    id = StrictIdField(required=False)
    metric = _related()

    class Meta:
        model = WatchedMetric
        fields = ["id", "metric", *WatchedMetric.EDITABLE_FIELDS]


# ---------------------------------------------------------------- single-row sections


class PhenomenonInput(StrictModelSerializer):
    hypotheses = WholeItemsField(HypothesisInput, required=False)
    data_sources = serializers.ListField(child=IdOrObjectField(), required=False)

    class Meta:
        model = Phenomenon
        fields = [*Phenomenon.EDITABLE_FIELDS, "hypotheses", "data_sources"]

    def validate_data_sources(self, ids: list[int]) -> list[DataSource]:
        org_id = self.context["cycle"].project.organization_id
        found = {d.id: d for d in DataSource.objects.filter(organization_id=org_id, id__in=ids)}
        missing = [i for i in ids if i not in found]
        if missing:
            raise serializers.ValidationError(f"No data source {missing[0]} in this organization.")
        return [found[i] for i in ids]


class ProblemInput(StrictModelSerializer):
    class Meta:
        model = ProblemDefinition
        fields = list(ProblemDefinition.EDITABLE_FIELDS)


class MultiObjectiveInput(serializers.Serializer):
    strategy = StrictChoiceField(
        choices=MultiObjectiveStrategy.choices, allow_blank=True, required=False
    )
    rationale = StrictCharField(required=False, allow_blank=True)


class GoalInput(StrictModelSerializer):
    """`multi_objective.weights` and `formula` are answered, not accepted: each weight is
    set on its objective (`/objectives/{id}/`)."""

    multi_objective = MultiObjectiveInput(required=False)

    class Meta:
        model = Goal
        fields = [*Goal.EDITABLE_FIELDS, "multi_objective"]


class PerformanceInput(StrictModelSerializer):
    class Meta:
        model = PerformanceRequirements
        fields = list(PerformanceRequirements.EDITABLE_FIELDS)


class PrototypeInput(StrictModelSerializer):
    feedback = WholeItemsField(FeedbackInput, required=False)

    class Meta:
        model = Prototype
        fields = [*Prototype.EDITABLE_FIELDS, "feedback"]


class EvaluationPlanInput(CycleScoped, StrictModelSerializer):
    cycle_fields = {"metrics": Metric}
    metrics = StrictPrimaryKeyRelatedField(
        queryset=Metric.objects.none(), many=True, required=False
    )

    class Meta:
        model = EvaluationPlan
        fields = [*EvaluationPlan.EDITABLE_FIELDS, "metrics"]


class DeploymentPlanInput(StrictModelSerializer):
    watched_metrics = WholeItemsField(WatchedMetricInput, required=False)

    class Meta:
        model = DeploymentPlan
        fields = [*DeploymentPlan.EDITABLE_FIELDS, "watched_metrics"]


class FurtherAnalysisInput(StrictModelSerializer):
    class Meta:
        model = FurtherAnalysis
        fields = list(FurtherAnalysis.EDITABLE_FIELDS)


class BusinessCaseInput(StrictModelSerializer):
    """The business value and cost estimate beside the "not cost-effective" red flag."""

    class Meta:
        model = Feasibility
        fields = list(Feasibility.BUSINESS_CASE_FIELDS)


class FeasibilityInput(serializers.Serializer):
    """Answers in either form, per key:

    - `"criteria": {"pattern": "yes"}` or `{"pattern": {"answer": "yes", "rationale": "…"}}`
    - `"red_flags": {"unethical": false}` or `{"unethical": {"raised": false, "rationale": …}}`
    - and optionally `"rationales": {"pattern": "…", "unethical": "…"}` (the shape GET
      answers with, so a GET body can be PUT back).
    - `"business_case": {"business_value": "…", "estimated_value": "60000", "estimated_cost":
      "25000", "currency": "EUR"}` and `"data_collection_plan": "…"` (optional; PATCH any
      subset of the business case).

    PUT needs all five criteria and all six red flags; PATCH any subset.
    """

    criteria = serializers.DictField(required=False)
    red_flags = serializers.DictField(required=False)
    rationales = serializers.DictField(child=StrictCharField(allow_blank=True), required=False)
    business_case = BusinessCaseInput(required=False)
    data_collection_plan = StrictCharField(required=False, allow_blank=True)

    def validate(self, data: dict) -> dict:
        criteria, red_flags, rationales, errors = {}, {}, {}, {}
        for key, value in data.get("criteria", {}).items():
            if key not in feasibility.CRITERIA:
                errors.setdefault("criteria", {})[key] = "Unknown criterion."
                continue
            if isinstance(value, dict):
                if "rationale" in value:
                    rationales[key] = str(value.get("rationale") or "")
                value = value.get("answer")
            if value not in feasibility.ANSWERS:
                errors.setdefault("criteria", {})[key] = (
                    f"Answer one of {', '.join(feasibility.ANSWERS)}."
                )
            else:
                criteria[key] = value
        for key, value in data.get("red_flags", {}).items():
            if key not in feasibility.RED_FLAGS:
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
            if key not in feasibility.CRITERIA and key not in feasibility.RED_FLAGS:
                errors.setdefault("rationales", {})[key] = "Unknown criterion or red flag."
            else:
                rationales.setdefault(key, value)
        if not self.partial:
            missing_c = [k for k in feasibility.CRITERIA if k not in criteria]
            missing_f = [k for k in feasibility.RED_FLAGS if k not in red_flags]
            if missing_c and "criteria" not in errors:
                errors["criteria"] = f"Answer every criterion (missing: {', '.join(missing_c)})."
            if missing_f and "red_flags" not in errors:
                errors["red_flags"] = f"Answer every red flag (missing: {', '.join(missing_f)})."
        if errors:
            raise serializers.ValidationError(errors)
        values = dict(data.get("business_case", {}))
        if "data_collection_plan" in data:
            values["data_collection_plan"] = data["data_collection_plan"]
        return {
            "criteria": criteria,
            "red_flags": red_flags,
            "rationales": rationales,
            "values": values,
        }
