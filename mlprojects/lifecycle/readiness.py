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
# Fields of a new cycle's single-row sections whose default is not empty: a value equal to
# its default was not written by the team (a new project's step 5 is "to do").
FIELD_DEFAULTS = {"error_preference": "balanced"}


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
        """`todo` until something of the step's own is written (a check that passes because
        it does not apply yet, or a field's default, does not count); then `done` when
        every check of the step passes, else `partial`."""
        if not has_content:
            return "todo"
        if all(c.ok for c in self.checks if c.step == step):
            return "done"
        return "partial"


def _text(value) -> bool:
    return bool(str(value or "").strip())


def _walk(nodes: list[dict], depth: int = 0):
    for node in nodes:
        yield node, depth
        yield from _walk(node.get("children", []), depth + 1)


def _names(items: list[dict], key: str) -> str:
    return ", ".join(f"“{item[key]}”" for item in items)


def evaluate(steps: dict) -> Readiness:
    """The same fixed set of checks for every project, empty or full, so the score is a
    share of one list: writing more never adds checks that lower it. A check about items
    (causes, objectives, metrics) fails until such items exist and names every item still
    missing something; a check that only applies in some cases (a raised red flag, a
    “Rules first” verdict, competing objectives, open findings) passes once the step it
    depends on is written and it does not apply, so an empty project scores 0."""
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
    unsolved = [node for node in causes if not node.get("children") and node["id"] not in solved]
    add(
        "solutions",
        "problem_definition",
        causes and not unsolved,
        f"No solution yet for {_names(unsolved, 'title')}."
        if unsolved
        else "Propose a solution for each cause.",
    )

    feasibility = steps["feasibility"]
    unknown = [k for k in CRITERIA if feasibility["criteria"].get(k, "unknown") == "unknown"]
    add(
        "feasibility",
        "feasibility",
        not unknown,
        f"Feasibility unanswered: {', '.join(unknown)}." if unknown else "Feasibility answered.",
    )
    add(
        "data_collection_plan",
        "feasibility",
        not unknown
        and (
            feasibility.get("verdict") != RULES_FIRST
            or _text(feasibility.get("data_collection_plan"))
        ),
        "If the verdict is “Rules first”: write the data-collection plan (what, how, by "
        "whom, from when)."
        if unknown
        else "“Rules first”: write the data-collection plan (what, how, by whom, from when).",
    )
    mitigated = {
        c["red_flag"]
        for c in steps["constraints"]["items"]
        if c["red_flag"] and _text(c["mitigation"])
    }
    open_flags = [
        label
        for flag, label in RED_FLAGS.items()
        if feasibility["red_flags"].get(flag) and flag not in mitigated
    ]
    add(
        "red_flags",
        "constraints",
        not unknown and not open_flags,
        "Red flag " + ", ".join(f"“{label}”" for label in open_flags) + " has no mitigation "
        "(add a risk that references it)."
        if open_flags
        else "Answer feasibility, then mitigate every red flag it raises.",
    )

    goals = steps["goals"]
    add("goal", "goals", _text(goals["goal"]["statement"]), "Set the goal of this cycle.")
    objectives = goals["objectives"]
    add("objectives", "goals", objectives, "Break the goal into at least one objective.")
    measured = {m["objective"] for m in goals["metrics"]}
    unmeasured = [o for o in objectives if o["id"] not in measured]
    add(
        "objective_metrics",
        "goals",
        objectives and not unmeasured,
        f"Objective {_names(unmeasured, 'title')} has no metric."
        if unmeasured
        else "Give each objective a metric.",
    )
    unlinked = [m for m in goals["metrics"] if m["kind"] == "model" and m["parent"] is None]
    add(
        "metric_links",
        "goals",
        goals["metrics"] and not unlinked,
        f"Model metric {_names(unlinked, 'name')} is not linked to a business metric."
        if unlinked
        else "Add the metrics, each model metric under the business metric it should move.",
    )
    competing = [o for o in objectives if o["kind"] in COMPETING_KINDS]
    plan = goals["multi_objective"]
    add(
        "multi_objective",
        "goals",
        objectives
        and (
            len(competing) < 2
            or (plan["strategy"] and all(o["weight"] is not None for o in competing))
        ),
        f"Objectives {_names(competing, 'title')} compete: choose a multi-objective plan "
        "with a weight for each.",
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
    further = steps["further_analysis"]
    items = further.get("finding_items", [])
    undecided = [f for f in items if f["status"] == "open"]
    # Step 9 belongs to its cycle (a new cycle starts it empty): the cycle is not done
    # until its own findings, next questions or decided findings are written.
    written = (
        _text(further["findings"])
        or _text(further["next_questions"])
        or len(undecided) < len(items)
    )
    add(
        "further_analysis",
        "further_analysis",
        written,
        "Write what this cycle found and the questions for the next one.",
    )
    # The loop back: a cycle is not done while monitoring's findings wait for a decision.
    add(
        "findings",
        "further_analysis",
        bool(written or items) and not undecided,
        "Finding "
        + ", ".join(f"“{f['what'][:60]}”" for f in undecided)
        + " has no decision: carry it into the next cycle, or say why it won't be fixed."
        if undecided
        else "Decide on each finding of this cycle (or write the further analysis).",
    )
    return Readiness(checks)


def has_content(step: str, data: dict) -> bool:
    """Whether a team has written anything in a step yet (for the rail's “partial”)."""

    def filled(value) -> bool:
        if isinstance(value, dict):
            return any(
                filled(v)
                for k, v in value.items()
                if k not in ("id", "verdict", "reasons") and FIELD_DEFAULTS.get(k, ...) != v
            )
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
