"""Reads of the lifecycle domain, always narrowed to one organization.

`project_snapshot` is the whole state of a project's cycle as plain, JSON-ready data; the
API answers with its parts, the history stores them per step, the readiness checklist is
computed from them, and proposals will freeze them for review. Keys and order are stable:
lists are ordered by id, trees by id within each parent.
"""

import functools
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.apps import apps as django_apps
from django.db import models, router
from django.db.models import Prefetch, QuerySet
from django.db.models.deletion import Collector
from django.shortcuts import get_object_or_404

from accounts.models import Organization
from mlprojects.lifecycle import feasibility, readiness
from mlprojects.models import (
    LABEL_NEXT_STEPS,
    Baseline,
    DeploymentPlan,
    EvaluationPlan,
    Feasibility,
    Feedback,
    Finding,
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
    ProjectCycle,
    Prototype,
    Reference,
    SectionVersion,
    Solution,
    Stage,
    WatchedMetric,
)

READINESS_BUCKETS = {
    "ready": ("Ready (80%+)", 80, 101),
    "progress": ("In progress (50–79%)", 50, 80),
    "early": ("Early (under 50%)", 0, 50),
}


def project_list(
    *,
    org: Organization,
    query: str = "",
    stage: str = "",
    owner: str = "",
    verdict: str = "",
    readiness_bucket: str = "",
) -> QuerySet[Project]:
    projects = Project.objects.for_org(org).select_related("owner")
    if query:
        projects = projects.filter(name__icontains=query)
    if stage:
        projects = projects.filter(stage=stage)
    if owner.isdigit():
        projects = projects.filter(owner_id=int(owner))
    if verdict:
        projects = projects.filter(verdict=verdict)
    if readiness_bucket in READINESS_BUCKETS:
        _, low, high = READINESS_BUCKETS[readiness_bucket]
        projects = projects.filter(readiness_score__gte=low, readiness_score__lt=high)
    return projects


def project_get(*, org: Organization, slug: str) -> Project:
    """The project `slug` of `org`, or 404 — also for another organization's slug."""
    return get_object_or_404(Project.objects.select_related("owner"), organization=org, slug=slug)


@dataclass(frozen=True)
class ProjectContents:
    """What deleting a project takes with it: every row below it (through the foreign keys
    of this app and of the apps above it) and the files those rows keep in storage."""

    collector: Collector
    counts: list[tuple[str, int]]
    files: list[str]


def _stored_files(objects) -> list[str]:
    names = []
    for obj in objects:
        for field in obj._meta.concrete_fields:
            if isinstance(field, models.FileField) and getattr(obj, field.attname).name:
                names.append(getattr(obj, field.attname).name)
    return names


def project_contents(*, project: Project) -> ProjectContents:
    """Collect (without deleting) what `project_delete` would remove, for the confirmation
    page and for the deletion itself. The collector follows the foreign keys, so the apps
    that depend on this one are covered without this layer naming them."""
    collector = Collector(using=router.db_for_write(Project))
    collector.collect([project])
    counts: dict[str, int] = {}
    for model, objs in collector.data.items():
        if model is not Project and objs:
            label = str(model._meta.verbose_name_plural)
            counts[label] = counts.get(label, 0) + len(objs)
    for qs in collector.fast_deletes:
        if qs.model is not Project and (n := qs.count()):
            label = str(qs.model._meta.verbose_name_plural)
            counts[label] = counts.get(label, 0) + n
    files = [name for objs in collector.data.values() for name in _stored_files(objs)]
    return ProjectContents(
        collector=collector, counts=sorted(counts.items(), key=lambda kv: -kv[1]), files=files
    )


ONE_TO_ONE = [
    "phenomenon",
    "problem",
    "feasibility",
    "goal",
    "performance",
    "prototype",
    "evaluation_plan",
    "deployment_plan",
    "further_analysis",
]


def cycle_queryset() -> QuerySet[ProjectCycle]:
    """Cycles with every section loaded in a bounded number of queries."""
    return ProjectCycle.objects.select_related("project", *ONE_TO_ONE).prefetch_related(
        "phenomenon__data_sources",
        "hypotheses",
        "problem_nodes",
        Prefetch("solutions", to_attr="solution_list"),
        "objectives",
        "metrics",
        "constraints",
        "baselines",
        "references",
        "feedback",
        "findings",
        Prefetch("watched_metrics", queryset=WatchedMetric.objects.select_related("metric")),
        Prefetch("evaluation_plan__metrics", queryset=Metric.objects.order_by("id")),
    )


def cycle_get(*, project: Project, number: int | None = None) -> ProjectCycle:
    """Cycle `number` of the project (default: the current one), fully loaded, or 404."""
    cycle = get_object_or_404(cycle_queryset(), project=project, number=number or project.cycle)
    cycle.project = project  # keep the caller's instance (and its select_related owner)
    return cycle


def cycle_numbers(*, project: Project) -> list[int]:
    return list(project.cycles.order_by("number").values_list("number", flat=True))


def cycle_item_get(*, project: Project, model, pk: int):
    """An item of the project's *current* cycle, or 404 (other cycles, projects and
    organizations alike)."""
    return get_object_or_404(model, pk=pk, cycle__project=project, cycle__number=project.cycle)


# ---------------------------------------------------------------- dumping
# Each dump is the row's id (for list items), its `EDITABLE_FIELDS` and the references and
# derived values the readers need, in this order.


def _plain(value):
    """A field value as JSON-ready data: dates as ISO text, amounts as decimal text (the
    shapes the API answers with)."""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _pick(obj, fields: tuple[str, ...]) -> dict:
    return {name: _plain(getattr(obj, name)) for name in fields}


def dump_hypothesis(hypothesis: Hypothesis) -> dict:
    return {"id": hypothesis.id, **_pick(hypothesis, Hypothesis.EDITABLE_FIELDS)}


def dump_solution(solution: Solution) -> dict:
    return {
        "id": solution.id,
        **_pick(solution, Solution.EDITABLE_FIELDS),
        "cause": solution.cause_id,
    }


def dump_objective(objective: Objective) -> dict:
    return {
        "id": objective.id,
        **_pick(objective, Objective.EDITABLE_FIELDS),
        "label_next_step": LABEL_NEXT_STEPS[objective.label_scenario],
    }


def dump_metric(metric: Metric) -> dict:
    return {
        "id": metric.id,
        **_pick(metric, Metric.EDITABLE_FIELDS),
        "objective": metric.objective_id,
        "parent": metric.parent_id,
    }


def dump_constraint(constraint: ProjectConstraint) -> dict:
    return {"id": constraint.id, **_pick(constraint, ProjectConstraint.EDITABLE_FIELDS)}


def dump_baseline(baseline: Baseline) -> dict:
    return {"id": baseline.id, **_pick(baseline, Baseline.EDITABLE_FIELDS)}


def dump_reference(reference: Reference) -> dict:
    return {"id": reference.id, **_pick(reference, Reference.EDITABLE_FIELDS)}


def dump_feedback(feedback: Feedback) -> dict:
    return {"id": feedback.id, **_pick(feedback, Feedback.EDITABLE_FIELDS)}


def dump_watched_metric(watched: WatchedMetric) -> dict:
    return {
        "id": watched.id,
        "metric": watched.metric_id,
        "metric_name": watched.metric.name,
        **_pick(watched, WatchedMetric.EDITABLE_FIELDS),
    }


def dump_node(node: ProblemNode) -> dict:
    return {"id": node.id, **_pick(node, ProblemNode.EDITABLE_FIELDS), "parent": node.parent_id}


def problem_tree(nodes) -> list[dict]:
    """Nested nodes: [{id, title, notes, parent, children: [...]}], roots first, by id."""
    by_parent: dict[int | None, list] = {}
    for node in sorted(nodes, key=lambda n: n.id):
        by_parent.setdefault(node.parent_id, []).append(node)

    def build(parent_id):
        return [{**dump_node(n), "children": build(n.id)} for n in by_parent.get(parent_id, [])]

    return build(None)


def dump_phenomenon(cycle: ProjectCycle) -> dict:
    phenomenon = cycle.phenomenon
    return {
        **_pick(phenomenon, Phenomenon.EDITABLE_FIELDS),
        "hypotheses": [dump_hypothesis(h) for h in cycle.hypotheses.all()],
        "data_sources": [
            {"id": d.id, "name": d.name}
            for d in sorted(phenomenon.data_sources.all(), key=lambda d: d.id)
        ],
    }


def dump_problem(cycle: ProjectCycle) -> dict:
    return _pick(cycle.problem, ProblemDefinition.EDITABLE_FIELDS)


def dump_feasibility(cycle: ProjectCycle) -> dict:
    section = cycle.feasibility
    return {
        "criteria": section.criteria(),
        "red_flags": section.red_flags(),
        "rationales": section.rationales(),
        "verdict": section.verdict,
        "reasons": list(section.reasons),
        "business_case": _pick(section, Feasibility.BUSINESS_CASE_FIELDS),
        "data_collection_plan": section.data_collection_plan,
    }


def dump_goal(cycle: ProjectCycle) -> dict:
    goal = cycle.goal
    weighted = [o for o in cycle.objectives.all() if o.weight is not None]
    return {
        **_pick(goal, Goal.EDITABLE_FIELDS),
        "multi_objective": {
            "strategy": goal.multi_objective_strategy,
            "rationale": goal.multi_objective_rationale,
            "weights": [
                {"objective": o.id, "title": o.title, "weight": o.weight} for o in weighted
            ],
            "formula": multi_objective_formula(goal.multi_objective_strategy, weighted),
        },
    }


def multi_objective_formula(strategy: str, weighted) -> str:
    """“rank(post) = 0.7·quality + 0.3·engagement” or “loss = 0.7·quality_loss + …”."""
    if not strategy or not weighted:
        return ""
    term = "{w:g}·{t}" if strategy == MultiObjectiveStrategy.SEPARATE_MODELS else "{w:g}·loss({t})"
    lhs = "score" if strategy == MultiObjectiveStrategy.SEPARATE_MODELS else "loss"
    return f"{lhs} = " + " + ".join(term.format(w=o.weight, t=o.title) for o in weighted)


def dump_performance(cycle: ProjectCycle) -> dict:
    return _pick(cycle.performance, PerformanceRequirements.EDITABLE_FIELDS)


def dump_prototype(cycle: ProjectCycle) -> dict:
    return {
        **_pick(cycle.prototype, Prototype.EDITABLE_FIELDS),
        "feedback": [dump_feedback(f) for f in cycle.feedback.all()],
    }


def dump_evaluation_plan(cycle: ProjectCycle) -> dict:
    plan = cycle.evaluation_plan
    return {
        **_pick(plan, EvaluationPlan.EDITABLE_FIELDS),
        "metrics": [m.id for m in plan.metrics.all()],
    }


def dump_deployment_plan(cycle: ProjectCycle) -> dict:
    return {
        **_pick(cycle.deployment_plan, DeploymentPlan.EDITABLE_FIELDS),
        "watched_metrics": [dump_watched_metric(w) for w in cycle.watched_metrics.all()],
    }


def dump_finding(finding: Finding) -> dict:
    return {
        "id": finding.id,
        **_pick(finding, Finding.EDITABLE_FIELDS),
        "status": finding.status,
        "decision_reason": finding.decision_reason,
    }


def dump_further_analysis(cycle: ProjectCycle) -> dict:
    return {
        **_pick(cycle.further_analysis, FurtherAnalysis.EDITABLE_FIELDS),
        "finding_items": [dump_finding(f) for f in cycle.findings.all()],
    }


def cycle_steps(cycle: ProjectCycle) -> dict:
    """Every step of a (fully loaded) cycle as plain data, keyed by `Stage` value."""
    return {
        Stage.PHENOMENON.value: dump_phenomenon(cycle),
        Stage.PROBLEM_DEFINITION.value: {
            **dump_problem(cycle),
            "tree": problem_tree(cycle.problem_nodes.all()),
            "solutions": [dump_solution(s) for s in cycle.solution_list],
        },
        Stage.FEASIBILITY.value: dump_feasibility(cycle),
        Stage.GOALS.value: {
            "goal": _pick(cycle.goal, Goal.EDITABLE_FIELDS),
            "objectives": [dump_objective(o) for o in cycle.objectives.all()],
            "metrics": [dump_metric(m) for m in cycle.metrics.all()],
            "multi_objective": dump_goal(cycle)["multi_objective"],
        },
        Stage.CONSTRAINTS.value: {
            "items": [dump_constraint(c) for c in cycle.constraints.all()],
            "performance": dump_performance(cycle),
        },
        Stage.BASELINES.value: {
            "baselines": [dump_baseline(b) for b in cycle.baselines.all()],
            "references": [dump_reference(r) for r in cycle.references.all()],
            "prototype": dump_prototype(cycle),
        },
        Stage.EVALUATION.value: dump_evaluation_plan(cycle),
        Stage.DEPLOYMENT.value: dump_deployment_plan(cycle),
        Stage.FURTHER_ANALYSIS.value: dump_further_analysis(cycle),
    }


def project_snapshot(project: Project, *, cycle: ProjectCycle | None = None) -> dict:
    """The whole state of a project's cycle (default: the current one) as plain data."""
    cycle = cycle or cycle_get(project=project)
    return {
        "project": {
            "id": project.id,
            "name": project.name,
            "slug": project.slug,
            "summary": project.summary,
            "stage": project.stage,
            "cycle": project.cycle,
            "owner": project.owner.email if project.owner_id else None,
        },
        "cycle": {
            "number": cycle.number,
            "is_current": cycle.number == project.cycle,
            "started_at": cycle.created_at.isoformat(),
        },
        "steps": cycle_steps(cycle),
    }


# ---------------------------------------------------------------- the workspace page


@dataclass
class StepView:
    key: str
    label: str
    number: int
    status: str  # done / partial / todo
    checks: list


def workspace_steps(steps: dict, result: readiness.Readiness) -> list[StepView]:
    views = []
    for number, (key, label) in enumerate(Stage.choices, start=1):
        views.append(
            StepView(
                key=key,
                label=label.split(". ", 1)[1],
                number=number,
                status=result.step_status(key, readiness.has_content(key, steps[key])),
                checks=[c for c in result.checks if c.step == key],
            )
        )
    return views


def section_versions(*, project: Project, cycle: ProjectCycle, step: str) -> list[SectionVersion]:
    return list(
        SectionVersion.objects.filter(project=project, cycle=cycle, step=step)
        .select_related("author")
        .order_by("-number")
    )


@functools.cache
def snapshot_words() -> dict[str, str]:
    """Labels for the keys and coded values of a step's snapshot (section history, proposal
    diffs): every field's verbose name and every choice's label of the lifecycle models,
    with the feasibility criteria and red flags in the lecture's words."""
    words: dict[str, str] = {}
    for model in django_apps.get_app_config("mlprojects").get_models():
        for field in model._meta.concrete_fields:
            verbose = str(field.verbose_name)
            if verbose and verbose != field.name.replace("_", " "):
                words.setdefault(field.name, verbose[:1].upper() + verbose[1:])
            for value, label in field.choices or []:
                if isinstance(value, str) and not isinstance(label, list | tuple):
                    words.setdefault(value, str(label))
    # "objective" is also the key of an objective's id elsewhere; "Objective" fits both.
    words.update({k: v for k, v in feasibility.CRITERION_NAMES.items() if k != "objective"})
    words.update(feasibility.RED_FLAGS)
    words.update(
        {f"{key}_rationale": f"{label} — why" for key, label in feasibility.RED_FLAGS.items()}
    )
    words.update(feasibility.VERDICTS)
    return words
