"""The readiness checklist as a pure function over a snapshot's steps."""

import copy

from mlprojects.lifecycle.readiness import evaluate, has_content

CRITERIA = {k: "unknown" for k in ("pattern", "objective", "complexity", "data", "repetition")}
FLAGS = {
    k: False
    for k in (
        "unethical",
        "simple_solution",
        "poor_data",
        "catastrophic_error",
        "explainability_required",
        "not_cost_effective",
    )
}
EMPTY = {
    "phenomenon": {
        "what": "",
        "since": "",
        "evidence": "",
        "difficulties": "",
        "worth_solving": "",
        "hypotheses": [],
        "data_sources": [],
    },
    "problem_definition": {
        "statement": "",
        "what_to_know": "",
        "ship_now": "",
        "build_in_parallel": "",
        "tree": [],
        "solutions": [],
    },
    "feasibility": {
        "criteria": CRITERIA,
        "red_flags": FLAGS,
        "rationales": {},
        "verdict": "open_questions",
        "reasons": [],
    },
    "goals": {
        "goal": {"statement": ""},
        "objectives": [],
        "metrics": [],
        "multi_objective": {"strategy": "", "rationale": "", "weights": [], "formula": ""},
    },
    "constraints": {"items": [], "performance": {"baseline_to_beat": "", "threshold": None}},
    "baselines": {"baselines": [], "references": [], "prototype": {"url": "", "feedback": []}},
    "evaluation": {"text": "", "metrics": []},
    "deployment": {"watch": "", "where_wrong": "", "watched_metrics": []},
    "further_analysis": {"findings": "", "next_questions": ""},
}


def steps(**changes):
    data = copy.deepcopy(EMPTY)
    for path, value in changes.items():
        step, key = path.split("__")
        data[step][key] = value
    return data


def check(result, key):
    return next(c for c in result.checks if c.key == key)


def objective(id, title="Rank by quality", kind="rank", weight=None):
    return {"id": id, "title": title, "kind": kind, "weight": weight}


def metric(id, name, kind="model", objective=None, parent=None):
    return {"id": id, "name": name, "kind": kind, "objective": objective, "parent": parent}


def test_an_empty_project_scores_zero_and_lists_what_is_missing():
    result = evaluate(EMPTY)
    assert result.score == 0
    assert result.level == "bad"
    assert "Describe what is happening." in [c.message for c in result.missing]


def test_no_goal_is_missing_until_written():
    assert not check(evaluate(EMPTY), "goal").ok
    assert check(evaluate(steps(goals__goal={"statement": "Grow revisits"})), "goal").ok


def test_an_objective_without_a_metric_is_named():
    result = evaluate(steps(goals__objectives=[objective(7, "Filter NSFW", "filter")]))
    assert check(result, "objective_metric:7").message == "Objective “Filter NSFW” has no metric."
    assert not check(result, "objective_metric:7").ok
    measured = steps(
        goals__objectives=[objective(7, "Filter NSFW", "filter")],
        goals__metrics=[
            metric(1, "recall", objective=7, parent=2),
            metric(2, "reports", "business"),
        ],
    )
    assert check(evaluate(measured), "objective_metric:7").ok


def test_a_model_metric_not_linked_to_a_business_metric_is_named():
    result = evaluate(steps(goals__metrics=[metric(3, "RMSE")]))
    assert not check(result, "metric_link:3").ok
    assert "RMSE" in check(result, "metric_link:3").message
    linked = steps(goals__metrics=[metric(3, "RMSE", parent=4), metric(4, "revenue", "business")])
    assert check(evaluate(linked), "metric_link:3").ok
    assert not any(c.key == "metric_link:4" for c in evaluate(linked).checks)


def test_unanswered_feasibility_names_the_unknown_criteria():
    result = evaluate(EMPTY)
    assert check(result, "feasibility").message.startswith("Feasibility unanswered: pattern")
    answered = steps(feasibility__criteria={k: "yes" for k in CRITERIA})
    assert check(evaluate(answered), "feasibility").ok


def test_a_red_flag_needs_a_risk_with_a_mitigation_referencing_it():
    flagged = steps(feasibility__red_flags={**FLAGS, "poor_data": True})
    assert not check(evaluate(flagged), "red_flag:poor_data").ok
    risk = {"red_flag": "poor_data", "mitigation": ""}
    flagged["constraints"]["items"] = [risk]
    assert not check(evaluate(flagged), "red_flag:poor_data").ok
    risk["mitigation"] = "Collect labelled data for a month first"
    assert check(evaluate(flagged), "red_flag:poor_data").ok


def test_no_baseline_is_missing():
    assert not check(evaluate(EMPTY), "baseline").ok
    assert check(evaluate(steps(baselines__baselines=[{"id": 1}])), "baseline").ok


def test_every_leaf_cause_needs_a_solution():
    tree = [
        {
            "id": 1,
            "title": "Fewer guests",
            "children": [
                {"id": 2, "title": "Menu too large", "children": []},
                {"id": 3, "title": "Thin descriptions", "children": []},
            ],
        }
    ]
    result = evaluate(
        steps(problem_definition__tree=tree, problem_definition__solutions=[{"cause": 3}])
    )
    assert check(result, "causes").ok
    assert not check(result, "solution:2").ok
    assert check(result, "solution:3").ok
    assert not any(c.key == "solution:1" for c in result.checks)


def test_competing_objectives_need_a_weighted_multi_objective_plan():
    objectives = [objective(1, "Quality", weight=0.7), objective(2, "Engagement")]
    result = evaluate(steps(goals__objectives=objectives))
    assert not check(result, "multi_objective").ok
    plan = {"strategy": "separate_models", "rationale": "", "weights": [], "formula": ""}
    objectives[1]["weight"] = 0.3
    assert check(
        evaluate(steps(goals__objectives=objectives, goals__multi_objective=plan)),
        "multi_objective",
    ).ok


def test_a_single_ranking_objective_needs_no_plan():
    result = evaluate(steps(goals__objectives=[objective(1)]))
    assert not any(c.key == "multi_objective" for c in result.checks)


def test_evaluation_needs_text_and_metrics_and_deployment_watched_metrics():
    result = evaluate(steps(evaluation__text="A/B test on revisits"))
    assert not check(result, "evaluation").ok
    result = evaluate(
        steps(
            evaluation__text="A/B", evaluation__metrics=[1], deployment__watched_metrics=[{"id": 1}]
        )
    )
    assert check(result, "evaluation").ok
    assert check(result, "deployment").ok


def test_step_status_is_done_partial_or_todo():
    result = evaluate(steps(phenomenon__what="Revenue fell"))
    assert result.step_status("phenomenon") == "partial"
    assert result.step_status("goals") == "todo"
    assert result.step_status("further_analysis", has_content=True) == "done"
    done = evaluate(steps(phenomenon__what="x", phenomenon__hypotheses=[{"id": 1}]))
    assert done.step_status("phenomenon") == "done"


def test_has_content_ignores_defaults():
    assert not has_content("feasibility", EMPTY["feasibility"])
    assert has_content(
        "feasibility", {**EMPTY["feasibility"], "criteria": {**CRITERIA, "data": "no"}}
    )
    assert not has_content("goals", EMPTY["goals"])
    assert has_content("phenomenon", {**EMPTY["phenomenon"], "since": "March"})


def test_score_counts_passing_checks():
    result = evaluate(steps(phenomenon__what="x", phenomenon__hypotheses=[{"id": 1}]))
    assert result.score == round(100 * 2 / len(result.checks))
