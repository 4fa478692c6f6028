"""Readiness: what is still missing before a project's design holds together, computed as a
pure function over the plain data of `selectors.project_snapshot(...)["steps"]`.

Each check belongs to one lifecycle step and names the thing that is missing (“Objective
“Rank by quality” has no metric”), so the checklist tells a team what to do next.
"""

from dataclasses import dataclass

from mlprojects.lifecycle.feasibility import CRITERIA, RED_FLAGS, RULES_FIRST

STEPS = (
    "phenomenon",
    "problem_definition",
    "feasibility",
    "goals",
    "constraints",
    "baselines",
    "evaluation",
    "deployment",
    "further_analysis",
)
# Objectives of these kinds compete for the same ranking/prediction; two or more of them
# need a multi-objective plan (seed §1.4.2).
COMPETING_KINDS = ("rank", "predict")


@dataclass(frozen=True)
class Check:
    key: str
    step: str
    ok: bool
    message: str


@dataclass(frozen=True)
class Readiness:
    checks: list[Check]

    @property
    def score(self) -> int:
        if not self.checks:
            return 0
        return round(100 * sum(c.ok for c in self.checks) / len(self.checks))

    @property
    def missing(self) -> list[Check]:
        return [c for c in self.checks if not c.ok]

    @property
    def level(self) -> str:
        """`ok` / `warn` / `bad`, the badge colour of the score."""
        return "ok" if self.score >= 80 else "warn" if self.score >= 50 else "bad"

    def step_status(self, step: str, has_content: bool = False) -> str:
        """`done` when every check of the step passes, `partial` when some do or the step
        has content, else `todo`. A step without checks is done once it has content."""
        checks = [c for c in self.checks if c.step == step]
        if not checks:
            return "done" if has_content else "todo"
        if all(c.ok for c in checks):
            return "done"
        return "partial" if has_content or any(c.ok for c in checks) else "todo"


def _text(value) -> bool:
    return bool(str(value or "").strip())


def _walk(nodes: list[dict], depth: int = 0):
    for node in nodes:
        yield node, depth
        yield from _walk(node.get("children", []), depth + 1)


def evaluate(steps: dict) -> Readiness:
    checks: list[Check] = []

    def add(key: str, step: str, ok: bool, message: str) -> None:
        checks.append(Check(key, step, bool(ok), message))

    phenomenon = steps["phenomenon"]
    add("phenomenon", "phenomenon", _text(phenomenon["what"]), "Describe what is happening.")
    add("hypothesis", "phenomenon", phenomenon["hypotheses"], "Write at least one hypothesis.")

    problem = steps["problem_definition"]
    add(
        "problem", "problem_definition", _text(problem["statement"]), "State the problem precisely."
    )
    nodes = list(_walk(problem["tree"]))
    causes = [node for node, depth in nodes if depth > 0]
    add("causes", "problem_definition", causes, "Split the problem into at least one cause.")
    solved = {s["cause"] for s in problem["solutions"]}
    for node in causes:
        if not node.get("children"):
            add(
                f"solution:{node['id']}",
                "problem_definition",
                node["id"] in solved,
                f"Cause “{node['title']}” has no solution.",
            )

    feasibility = steps["feasibility"]
    unknown = [k for k in CRITERIA if feasibility["criteria"].get(k, "unknown") == "unknown"]
    add(
        "feasibility",
        "feasibility",
        not unknown,
        f"Feasibility unanswered: {', '.join(unknown)}." if unknown else "Feasibility answered.",
    )
    if feasibility.get("verdict") == RULES_FIRST:
        add(
            "data_collection_plan",
            "feasibility",
            _text(feasibility.get("data_collection_plan")),
            "“Rules first”: write the data-collection plan (what, how, by whom, from when).",
        )
    mitigated = {
        c["red_flag"]
        for c in steps["constraints"]["items"]
        if c["red_flag"] and _text(c["mitigation"])
    }
    for flag in RED_FLAGS:
        if feasibility["red_flags"].get(flag):
            add(
                f"red_flag:{flag}",
                "constraints",
                flag in mitigated,
                f"Red flag “{RED_FLAGS[flag]}” has no mitigation (add a risk that references it).",
            )

    goals = steps["goals"]
    add("goal", "goals", _text(goals["goal"]["statement"]), "Set the goal of this cycle.")
    objectives = goals["objectives"]
    add("objectives", "goals", objectives, "Break the goal into at least one objective.")
    measured = {m["objective"] for m in goals["metrics"]}
    for obj in objectives:
        add(
            f"objective_metric:{obj['id']}",
            "goals",
            obj["id"] in measured,
            f"Objective “{obj['title']}” has no metric.",
        )
    for metric in goals["metrics"]:
        if metric["kind"] == "model":
            add(
                f"metric_link:{metric['id']}",
                "goals",
                metric["parent"] is not None,
                f"Model metric “{metric['name']}” is not linked to a business metric.",
            )
    competing = [o for o in objectives if o["kind"] in COMPETING_KINDS]
    if len(competing) >= 2:
        plan = goals["multi_objective"]
        weighted = all(o["weight"] is not None for o in competing)
        add(
            "multi_objective",
            "goals",
            plan["strategy"] and weighted,
            "Objectives "
            + ", ".join(f"“{o['title']}”" for o in competing)
            + " compete: choose a multi-objective plan with a weight for each.",
        )

    cons = steps["constraints"]
    add("constraints", "constraints", cons["items"], "Record the constraints and risks.")
    add(
        "performance",
        "constraints",
        _text(cons["performance"]["baseline_to_beat"]),
        "Say which baseline a model must beat.",
    )

    add("baseline", "baselines", steps["baselines"]["baselines"], "Add at least one baseline.")

    ev = steps["evaluation"]
    add(
        "evaluation",
        "evaluation",
        _text(ev["text"]) and ev["metrics"],
        "Plan the evaluation and link the metrics that decide success.",
    )
    dep = steps["deployment"]
    add(
        "deployment",
        "deployment",
        dep["watched_metrics"],
        "Choose the metrics to watch after deployment, with alert thresholds.",
    )
    # The loop back: a cycle is not done while monitoring's findings wait for a decision.
    for finding in steps["further_analysis"].get("finding_items", []):
        add(
            f"finding:{finding['id']}",
            "further_analysis",
            finding["status"] != "open",
            f"Finding “{finding['what'][:60]}” has no decision: carry it into the next "
            "cycle, or say why it won't be fixed.",
        )
    return Readiness(checks)


def has_content(step: str, data: dict) -> bool:
    """Whether a team has written anything in a step yet (for the rail's “partial”)."""

    def filled(value) -> bool:
        if isinstance(value, dict):
            return any(filled(v) for k, v in value.items() if k not in ("id", "verdict", "reasons"))
        if isinstance(value, list):
            return bool(value)
        if isinstance(value, bool):
            return value
        if isinstance(value, str):
            return bool(value.strip()) and value != "unknown"
        return value is not None

    if step == "feasibility":
        return (
            any(v != "unknown" for v in data["criteria"].values())
            or any(data["red_flags"].values())
            or filled(data.get("business_case", {}))
            or filled(data.get("data_collection_plan", ""))
        )
    return filled(data)
