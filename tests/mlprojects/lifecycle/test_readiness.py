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
    assert check(result, "objective_metrics").message == "Objective “Filter NSFW” has no metric."
    assert not check(result, "objective_metrics").ok
    measured = steps(
        goals__objectives=[objective(7, "Filter NSFW", "filter")],
        goals__metrics=[
            metric(1, "recall", objective=7, parent=2),
            metric(2, "reports", "business"),
        ],
    )
    assert check(evaluate(measured), "objective_metrics").ok


def test_a_model_metric_not_linked_to_a_business_metric_is_named():
    result = evaluate(steps(goals__metrics=[metric(3, "RMSE")]))
    assert not check(result, "metric_links").ok
    assert "RMSE" in check(result, "metric_links").message
    linked = steps(goals__metrics=[metric(3, "RMSE", parent=4), metric(4, "revenue", "business")])
    assert check(evaluate(linked), "metric_links").ok


def test_unanswered_feasibility_names_the_unknown_criteria():
    result = evaluate(EMPTY)
    assert check(result, "feasibility").message.startswith("Feasibility unanswered: pattern")
    answered = steps(feasibility__criteria={k: "yes" for k in CRITERIA})
    assert check(evaluate(answered), "feasibility").ok


def test_a_red_flag_needs_a_risk_with_a_mitigation_referencing_it():
    answered = {k: "yes" for k in CRITERIA}
    flagged = steps(
        feasibility__criteria=answered, feasibility__red_flags={**FLAGS, "poor_data": True}
    )
    assert not check(evaluate(flagged), "red_flags").ok
    assert "Good data is hard to get" in check(evaluate(flagged), "red_flags").message
    risk = {"red_flag": "poor_data", "mitigation": ""}
    flagged["constraints"]["items"] = [risk]
    assert not check(evaluate(flagged), "red_flags").ok
    risk["mitigation"] = "Collect labelled data for a month first"
    assert check(evaluate(flagged), "red_flags").ok
    # Not before feasibility is answered; then no raised flag means nothing to mitigate.
    assert not check(evaluate(EMPTY), "red_flags").ok
    assert check(evaluate(steps(feasibility__criteria=answered)), "red_flags").ok


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
    assert not check(result, "solutions").ok
    assert check(result, "solutions").message == "No solution yet for “Menu too large”."
    both = [{"cause": 2}, {"cause": 3}]
    result = evaluate(steps(problem_definition__tree=tree, problem_definition__solutions=both))
    assert check(result, "solutions").ok


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
    assert check(result, "multi_objective").ok


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
    assert result.step_status("phenomenon", has_content=True) == "partial"
    assert result.step_status("goals") == "todo"
    done = evaluate(steps(phenomenon__what="x", phenomenon__hypotheses=[{"id": 1}]))
    assert done.step_status("phenomenon", has_content=True) == "done"


def test_a_step_is_to_do_until_something_of_its_own_is_written():
    data = steps(feasibility__criteria={k: "yes" for k in CRITERIA})
    result = evaluate(data)
    # Step 5's red-flag check passes (no flag raised) but step 5 has nothing of its own.
    assert check(result, "red_flags").ok
    status = result.step_status("constraints", has_content("constraints", data["constraints"]))
    assert status == "todo"
    result = evaluate(EMPTY)
    statuses = {s: result.step_status(s, has_content(s, EMPTY[s])) for s in EMPTY}
    assert set(statuses.values()) == {"todo"}


def test_a_field_left_at_its_default_is_not_content():
    constraints = copy.deepcopy(EMPTY["constraints"])
    constraints["performance"]["error_preference"] = "balanced"
    assert not has_content("constraints", constraints)
    constraints["performance"]["error_preference"] = "avoid_false_negatives"
    assert has_content("constraints", constraints)


def test_an_empty_and_a_full_project_count_the_same_checks():
    tree = [{"id": 1, "title": "Fewer guests", "children": [{"id": 2, "title": "Menu"}]}]
    full = steps(
        phenomenon__what="Revenue fell",
        phenomenon__hypotheses=[{"id": 1}],
        problem_definition__statement="Guests don't come back",
        problem_definition__tree=tree,
        problem_definition__solutions=[{"cause": 2}],
        feasibility__criteria={k: "yes" for k in CRITERIA},
        feasibility__red_flags={**FLAGS, "poor_data": True},
        goals__goal={"statement": "Grow revisits"},
        goals__objectives=[objective(1, weight=0.5), objective(2, "Engagement", weight=0.5)],
        goals__metrics=[metric(1, "ndcg", objective=1, parent=3), metric(2, "ctr", objective=2)],
        constraints__items=[{"red_flag": "poor_data", "mitigation": "Collect labels"}],
        baselines__baselines=[{"id": 1}],
        evaluation__text="Offline then A/B",
        evaluation__metrics=[1],
        deployment__watched_metrics=[{"id": 1}],
        further_analysis__findings="Ranking helped",
    )
    full["further_analysis"]["finding_items"] = [{"id": 1, "what": "Drift", "status": "open"}]
    assert [c.key for c in evaluate(EMPTY).checks] == [c.key for c in evaluate(full).checks]


def test_filling_the_steps_in_order_never_lowers_the_score():
    data = copy.deepcopy(EMPTY)
    tree = [{"id": 1, "title": "Fewer guests", "children": [{"id": 2, "title": "Menu"}]}]
    edits = [
        ("phenomenon", "what", "Revenue fell"),
        ("phenomenon", "hypotheses", [{"id": 1}]),
        ("problem_definition", "statement", "Guests don't come back"),
        ("problem_definition", "tree", tree),
        ("problem_definition", "solutions", [{"cause": 2}]),
        ("feasibility", "criteria", {k: "yes" for k in CRITERIA}),
        ("goals", "goal", {"statement": "Grow revisits"}),
        ("goals", "objectives", [objective(1)]),
        (
            "goals",
            "metrics",
            [metric(1, "ndcg", objective=1, parent=2), metric(2, "visits", "business")],
        ),
        ("constraints", "items", [{"red_flag": "", "mitigation": ""}]),
        ("constraints", "performance", {"baseline_to_beat": "Most popular", "threshold": None}),
        ("baselines", "baselines", [{"id": 1}]),
        ("evaluation", "text", "Offline then A/B"),
        ("evaluation", "metrics", [1]),
        ("deployment", "watched_metrics", [{"id": 1}]),
        ("further_analysis", "findings", "Ranking helped"),
    ]
    scores = [evaluate(data).score]
    for step, key, value in edits:
        data[step][key] = value
        scores.append(evaluate(data).score)
    assert scores == sorted(scores), [c.message for c in evaluate(data).missing]
    assert scores[0] == 0
    assert scores[-1] == 100, [c.message for c in evaluate(data).missing]


def test_a_new_cycle_is_not_ready_before_its_further_analysis_is_written():
    data = steps(further_analysis__findings="", further_analysis__next_questions="")
    assert not check(evaluate(data), "further_analysis").ok
    data["further_analysis"]["next_questions"] = "Does the ranking hold in winter?"
    assert check(evaluate(data), "further_analysis").ok


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
