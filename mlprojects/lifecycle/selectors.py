"""Reads of the lifecycle domain, always narrowed to one organization.

`project_snapshot` is the whole state of a project's cycle as plain, JSON-ready data; the
API answers with its parts, the history stores them per step, the readiness checklist is
computed from them, and proposals will freeze them for review. Keys and order are stable:
lists are ordered by id, trees by id within each parent.
"""

from dataclasses import dataclass

from django.db.models import Prefetch, QuerySet
from django.shortcuts import get_object_or_404

from accounts.models import Organization
from mlprojects.lifecycle import feasibility as feas
from mlprojects.lifecycle import readiness
from mlprojects.models import (
    LABEL_NEXT_STEPS,
    Metric,
    MultiObjectiveStrategy,
    PerformanceRequirements,
    Project,
    ProjectCycle,
    SectionVersion,
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


def _pick(obj, fields: list[str]) -> dict:
    return {name: getattr(obj, name) for name in fields}


HYPOTHESIS_FIELDS = ["id", "statement", "status", "evidence"]
SOLUTION_FIELDS = [
    "id",
    "title",
    "description",
    "kind",
    "owner",
    "effort",
    "expected_impact",
    "time_to_value",
    "status",
]
OBJECTIVE_FIELDS = [
    "id",
    "title",
    "kind",
    "loss_function",
    "label_scenario",
    "label_source",
    "update_cadence",
    "owner",
    "weight",
]
METRIC_FIELDS = ["id", "name", "kind", "direction", "unit", "target", "current", "description"]
CONSTRAINT_FIELDS = [
    "id",
    "kind",
    "description",
    "likelihood",
    "impact",
    "mitigation",
    "owner",
    "status",
    "red_flag",
]
PERFORMANCE_FIELDS = list(PerformanceRequirements.EDITABLE_FIELDS)
BASELINE_FIELDS = ["id", "name", "kind", "strategy", "description", "rules", "result"]
REFERENCE_FIELDS = ["id", "title", "url", "notes"]
FEEDBACK_FIELDS = ["id", "who", "given_on", "text", "sentiment"]
PHENOMENON_FIELDS = ["what", "since", "evidence", "difficulties", "worth_solving"]
PROBLEM_FIELDS = ["statement", "what_to_know", "ship_now", "build_in_parallel"]


def dump_hypothesis(h) -> dict:
    return _pick(h, HYPOTHESIS_FIELDS)


def dump_solution(s) -> dict:
    return {**_pick(s, SOLUTION_FIELDS), "cause": s.cause_id}


def dump_objective(o) -> dict:
    return {**_pick(o, OBJECTIVE_FIELDS), "label_next_step": LABEL_NEXT_STEPS[o.label_scenario]}


def dump_metric(m) -> dict:
    return {**_pick(m, METRIC_FIELDS), "objective": m.objective_id, "parent": m.parent_id}


def dump_constraint(c) -> dict:
    return _pick(c, CONSTRAINT_FIELDS)


def dump_baseline(b) -> dict:
    return _pick(b, BASELINE_FIELDS)


def dump_reference(r) -> dict:
    return _pick(r, REFERENCE_FIELDS)


def dump_feedback(f) -> dict:
    data = _pick(f, FEEDBACK_FIELDS)
    data["given_on"] = f.given_on.isoformat() if f.given_on else None
    return data


def dump_watched_metric(w) -> dict:
    return {
        "id": w.id,
        "metric": w.metric_id,
        "metric_name": w.metric.name,
        "alert_when": w.alert_when,
        "threshold": w.threshold,
        "notes": w.notes,
    }


def dump_node(node) -> dict:
    return {"id": node.id, "title": node.title, "notes": node.notes, "parent": node.parent_id}


def problem_tree(nodes) -> list[dict]:
    """Nested nodes: [{id, title, notes, parent, children: [...]}], roots first, by id."""
    by_parent: dict[int | None, list] = {}
    for node in sorted(nodes, key=lambda n: n.id):
        by_parent.setdefault(node.parent_id, []).append(node)

    def build(parent_id):
        return [{**dump_node(n), "children": build(n.id)} for n in by_parent.get(parent_id, [])]

    return build(None)


def dump_phenomenon(cycle) -> dict:
    phen = cycle.phenomenon
    return {
        **_pick(phen, PHENOMENON_FIELDS),
        "hypotheses": [dump_hypothesis(h) for h in cycle.hypotheses.all()],
        "data_sources": [
            {"id": d.id, "name": d.name}
            for d in sorted(phen.data_sources.all(), key=lambda d: d.id)
        ],
    }


def dump_problem(cycle) -> dict:
    return _pick(cycle.problem, PROBLEM_FIELDS)


def dump_feasibility(cycle) -> dict:
    f = cycle.feasibility
    return {
        "criteria": f.criteria(),
        "red_flags": f.red_flags(),
        "rationales": f.rationales(),
        "verdict": f.verdict,
        "reasons": list(f.reasons),
    }


def dump_goal(cycle) -> dict:
    goal = cycle.goal
    weighted = [o for o in cycle.objectives.all() if o.weight is not None]
    return {
        "statement": goal.statement,
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


def dump_performance(cycle) -> dict:
    return _pick(cycle.performance, PERFORMANCE_FIELDS)


def dump_prototype(cycle) -> dict:
    p = cycle.prototype
    return {
        "url": p.url,
        "tool": p.tool,
        "description": p.description,
        "feedback": [dump_feedback(f) for f in cycle.feedback.all()],
    }


def dump_evaluation_plan(cycle) -> dict:
    plan = cycle.evaluation_plan
    return {"text": plan.text, "metrics": [m.id for m in plan.metrics.all()]}


def dump_deployment_plan(cycle) -> dict:
    plan = cycle.deployment_plan
    return {
        "watch": plan.watch,
        "where_wrong": plan.where_wrong,
        "watched_metrics": [dump_watched_metric(w) for w in cycle.watched_metrics.all()],
    }


def dump_further_analysis(cycle) -> dict:
    return _pick(cycle.further_analysis, ["findings", "next_questions"])


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
            "goal": {"statement": cycle.goal.statement},
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


def feasibility_questions() -> tuple[dict, dict]:
    return feas.CRITERIA, feas.RED_FLAGS
