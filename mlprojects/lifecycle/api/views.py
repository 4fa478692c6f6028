"""The REST API of projects and their lifecycle sections.

Every view is an `OrgScopedAPIView`: the project is looked up in the caller's
organization only (404 otherwise). Section views answer with the plain data of
`selectors` (the shapes of `project_snapshot`); writes go through the services, inside
one transaction, so an invalid body is a 400 and saves nothing. GET takes `?cycle=N` to
read an earlier (read-only) cycle; writes always change the current cycle.
"""

from django.db import transaction
from drf_spectacular.utils import extend_schema
from rest_framework import mixins
from rest_framework.exceptions import APIException
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api.base import OrgScopedAPIView
from accounts.api.schema import ListSchema
from mlprojects.lifecycle import readiness, selectors, services
from mlprojects.lifecycle.api import serializers
from mlprojects.lifecycle.api.base import ProjectScoped
from mlprojects.models import (
    Baseline,
    Feedback,
    Hypothesis,
    Metric,
    Objective,
    ProblemNode,
    Project,
    ProjectConstraint,
    Reference,
    Solution,
    WatchedMetric,
)
from mlprojects.review.selectors import approval_summary


def project_detail_data(project: Project) -> dict:
    """A project with every section of its current cycle, nested, and its readiness."""
    snapshot = selectors.project_snapshot(project)
    result = readiness.evaluate(snapshot["steps"])
    return {
        **serializers.ProjectSerializer(project).data,
        "readiness": {
            "score": result.score,
            "missing": [{"step": c.step, "message": c.message} for c in result.missing],
        },
        "cycles": selectors.cycle_numbers(project=project),
        "sections": snapshot["steps"],
        "approval": approval_summary(project=project, steps=snapshot["steps"]),
    }


class ProjectListView(mixins.ListModelMixin, OrgScopedAPIView):
    """Projects of the caller's organization (summaries; the detail nests every section)."""

    serializer_class = serializers.ProjectSerializer

    def get_queryset(self):
        return self.scope_queryset(Project.objects.select_related("owner"))

    def get(self, request: Request) -> Response:
        return self.list(request)

    # 201 with the new project's fields and more (its sections, as the detail's GET).
    @extend_schema(responses={201: serializers.ProjectSerializer})
    def post(self, request: Request) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        project = services.project_create(
            org=self.org,
            user=request.user,
            name=serializer.validated_data["name"],
            summary=serializer.validated_data.get("summary", ""),
        )
        return Response(project_detail_data(project), status=201)


class ProjectDetailView(ProjectScoped):
    plain_answer = False  # the project's fields, and more
    input_class = serializers.ProjectSerializer

    def get(self, request: Request, project_id: int) -> Response:
        return Response(project_detail_data(self.get_project()))

    def patch(self, request: Request, project_id: int) -> Response:
        project = self.get_project()
        serializer = serializers.ProjectSerializer(project, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        services.project_update(
            project=project, user=request.user, values=serializer.validated_data
        )
        return Response(project_detail_data(project))


class PreconditionFailed(APIException):
    status_code = 412
    default_code = "precondition_failed"


class VersionConflict(APIException):
    status_code = 409
    default_code = "conflict"


class SectionView(ProjectScoped):
    """GET/PUT/PATCH of one single-row section. Subclasses name the section, its input
    serializer and its dump; `save` may also replace nested lists."""

    section = ""
    input_class = None
    step = ""

    def dump(self, cycle) -> dict:
        raise NotImplementedError

    def etag(self, cycle) -> str:
        return f'"{services.section_etag(getattr(cycle, self.section))}"'

    def get(self, request: Request, project_id: int) -> Response:
        cycle = self.get_cycle()
        return Response(self.dump(cycle), headers={"ETag": self.etag(cycle)})

    def put(self, request: Request, project_id: int) -> Response:
        return self.write(request, partial=False)

    def patch(self, request: Request, project_id: int) -> Response:
        return self.write(request, partial=True)

    def expected_version(self, request: Request) -> tuple[str | None, type | None]:
        """The version the caller based the write on: `If-Match` (→ 412 when stale) or a
        `version` field in the body (→ 409); neither means no check."""
        header = request.headers.get("If-Match", "").strip()
        if header and header != "*":
            return header.removeprefix("W/").strip('"'), PreconditionFailed
        version = request.data.get("version") if hasattr(request.data, "get") else None
        if version not in (None, ""):
            return str(version), VersionConflict
        return None, None

    def write(self, request: Request, partial: bool) -> Response:
        self.if_version, error = self.expected_version(request)
        data = self.input(self.input_class, request.data, partial=partial)
        try:
            with transaction.atomic():
                self.save(dict(data))
        except services.SectionConflict as exc:
            raise error(
                "The section changed since this version was read; GET it again, merge and "
                f"retry. Current version: {services.section_etag(exc.current)}"
            ) from exc
        cycle = selectors.cycle_get(project=self.get_project())
        return Response(self.dump(cycle), headers={"ETag": self.etag(cycle)})

    def save(self, values: dict) -> None:
        services.section_update(
            project=self.get_project(),
            user=self.request.user,
            section=self.section,
            values=values,
            if_version=self.if_version,
        )

    def replace(self, model, items) -> None:
        services.children_replace(
            project=self.get_project(), user=self.request.user, model=model, items=items
        )


class PhenomenonView(SectionView):
    section, input_class = "phenomenon", serializers.PhenomenonInput

    def dump(self, cycle):
        return selectors.dump_phenomenon(cycle)

    def save(self, values):
        hypotheses = values.pop("hypotheses", None)
        super().save(values)
        if hypotheses is not None:
            self.replace(Hypothesis, hypotheses)


class ProblemView(SectionView):
    section, input_class = "problem", serializers.ProblemInput

    def dump(self, cycle):
        return selectors.dump_problem(cycle)


class GoalView(SectionView):
    section, input_class = "goal", serializers.GoalInput

    def dump(self, cycle):
        return selectors.dump_goal(cycle)

    def save(self, values):
        plan = values.pop("multi_objective", {})
        if "strategy" in plan:
            values["multi_objective_strategy"] = plan["strategy"]
        if "rationale" in plan:
            values["multi_objective_rationale"] = plan["rationale"]
        super().save(values)


class PerformanceView(SectionView):
    section, input_class = "performance", serializers.PerformanceInput

    def dump(self, cycle):
        return selectors.dump_performance(cycle)


class PrototypeView(SectionView):
    section, input_class = "prototype", serializers.PrototypeInput

    def dump(self, cycle):
        return selectors.dump_prototype(cycle)

    def save(self, values):
        feedback = values.pop("feedback", None)
        super().save(values)
        if feedback is not None:
            self.replace(Feedback, feedback)


class EvaluationPlanView(SectionView):
    section, input_class = "evaluation_plan", serializers.EvaluationPlanInput

    def dump(self, cycle):
        return selectors.dump_evaluation_plan(cycle)


class DeploymentPlanView(SectionView):
    section, input_class = "deployment_plan", serializers.DeploymentPlanInput

    def dump(self, cycle):
        return selectors.dump_deployment_plan(cycle)

    def save(self, values):
        watched = values.pop("watched_metrics", None)
        super().save(values)
        if watched is not None:
            self.replace(WatchedMetric, watched)


class FurtherAnalysisView(SectionView):
    section, input_class = "further_analysis", serializers.FurtherAnalysisInput

    def dump(self, cycle):
        return selectors.dump_further_analysis(cycle)


class FeasibilityView(SectionView):
    """The five criteria and six red flags; answers with `verdict` and `reasons`."""

    section, input_class = "feasibility", serializers.FeasibilityInput

    def dump(self, cycle):
        return selectors.dump_feasibility(cycle)

    def save(self, values):
        services.feasibility_update(
            project=self.get_project(), user=self.request.user, if_version=self.if_version, **values
        )


class ItemListView(ProjectScoped):
    """GET the items of a list section; POST adds one."""

    schema = ListSchema()
    model = None
    input_class = None
    dump_one = None

    def items(self, cycle):
        return self.model.objects.filter(cycle=cycle).order_by("id")

    def get(self, request: Request, project_id: int) -> Response:
        return Response([type(self).dump_one(i) for i in self.items(self.get_cycle())])

    def post(self, request: Request, project_id: int) -> Response:
        values = self.input(self.input_class, request.data)
        item = services.item_create(
            project=self.get_project(), user=request.user, model=self.model, values=dict(values)
        )
        return Response(type(self).dump_one(item), status=201)


class ItemDetailView(ProjectScoped):
    """GET/PUT/PATCH/DELETE one item of the current cycle."""

    model = None
    input_class = None
    dump_one = None

    def get_item(self):
        return selectors.cycle_item_get(
            project=self.get_project(), model=self.model, pk=self.kwargs["item_id"]
        )

    def get(self, request: Request, project_id: int, item_id: int) -> Response:
        return Response(type(self).dump_one(self.get_item()))

    def put(self, request: Request, project_id: int, item_id: int) -> Response:
        return self.write(request, partial=False)

    def patch(self, request: Request, project_id: int, item_id: int) -> Response:
        return self.write(request, partial=True)

    def write(self, request: Request, partial: bool) -> Response:
        item = self.get_item()
        values = self.input(self.input_class, request.data, partial=partial, instance=item)
        services.item_update(
            project=self.get_project(), user=request.user, item=item, values=dict(values)
        )
        return Response(type(self).dump_one(item))

    def delete(self, request: Request, project_id: int, item_id: int) -> Response:
        services.item_delete(project=self.get_project(), user=request.user, item=self.get_item())
        return Response(status=204)


def item_views(model, input_class, dump_one) -> tuple[type, type]:
    attrs = {"model": model, "input_class": input_class, "dump_one": staticmethod(dump_one)}
    name = model.__name__
    return (
        type(f"{name}ListView", (ItemListView,), dict(attrs)),
        type(f"{name}DetailView", (ItemDetailView,), dict(attrs)),
    )


class ProblemTreeView(ItemListView):
    """GET answers the nested tree; POST adds a node (`parent` null for a problem)."""

    model, input_class = ProblemNode, serializers.ProblemNodeInput
    dump_one = staticmethod(selectors.dump_node)

    def get(self, request: Request, project_id: int) -> Response:
        return Response(selectors.problem_tree(self.items(self.get_cycle())))


_, ProblemNodeDetailView = item_views(
    ProblemNode, serializers.ProblemNodeInput, selectors.dump_node
)
SolutionListView, SolutionDetailView = item_views(
    Solution, serializers.SolutionInput, selectors.dump_solution
)
ObjectiveListView, ObjectiveDetailView = item_views(
    Objective, serializers.ObjectiveInput, selectors.dump_objective
)
MetricListView, MetricDetailView = item_views(
    Metric, serializers.MetricInput, selectors.dump_metric
)
ConstraintListView, ConstraintDetailView = item_views(
    ProjectConstraint, serializers.ConstraintInput, selectors.dump_constraint
)
BaselineListView, BaselineDetailView = item_views(
    Baseline, serializers.BaselineInput, selectors.dump_baseline
)
ReferenceListView, ReferenceDetailView = item_views(
    Reference, serializers.ReferenceInput, selectors.dump_reference
)


class NextCycleView(ProjectScoped):
    """Start cycle N+1 from cycle N's definition; answers the project as in GET."""

    # It takes no body (the base class' serializer would document a project's).
    @extend_schema(request=None)
    def post(self, request: Request, project_id: int) -> Response:
        project = self.get_project()
        services.cycle_start_next(project=project, user=request.user)
        return Response(project_detail_data(project), status=201)
