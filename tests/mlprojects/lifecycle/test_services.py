"""Lifecycle services: versions, summaries, tree moves, cycles."""

import pytest
from django.core.exceptions import ValidationError

from accounts.models import AuditEvent
from mlprojects.lifecycle import selectors, services
from mlprojects.models import (
    Baseline,
    DataSource,
    Feedback,
    Metric,
    Objective,
    ProblemNode,
    SectionVersion,
    Solution,
)


@pytest.fixture
def proj(org, member):
    return services.project_create(org=org, user=member, name="Restaurant revenue")


def add(proj, user, model, **values):
    return services.item_create(project=proj, user=user, model=model, values=values)


def test_a_new_project_starts_cycle_one_with_every_section(proj):
    cycle = selectors.cycle_get(project=proj)
    assert cycle.number == 1
    assert cycle.phenomenon.what == ""
    assert cycle.feasibility.verdict == "open_questions"


def test_a_section_save_records_a_version_with_its_author_and_an_audit_row(proj, member):
    services.section_update(
        project=proj,
        user=member,
        section="phenomenon",
        values={"what": "Revenue fell three months running"},
    )
    version = SectionVersion.objects.get(project=proj, step="phenomenon")
    assert version.number == 1
    assert version.author == member
    assert version.data["what"] == "Revenue fell three months running"
    assert AuditEvent.objects.filter(action="section.updated", data__step="phenomenon").exists()


def test_a_save_that_changes_nothing_records_no_version(proj, member):
    for _ in range(2):
        services.section_update(
            project=proj,
            user=member,
            section="problem",
            values={"statement": "First-time guests dropped"},
        )
    assert SectionVersion.objects.filter(step="problem_definition").count() == 1


def test_feasibility_update_recomputes_the_verdict_and_the_project_summary(proj, member):
    services.feasibility_update(
        project=proj,
        user=member,
        criteria={k: "yes" for k in ("pattern", "objective", "complexity", "repetition")}
        | {"data": "no"},
        rationales={"data": "No orders are logged yet"},
    )
    proj.refresh_from_db()
    assert proj.verdict == "rules_first"
    f = selectors.cycle_get(project=proj).feasibility
    assert f.data_rationale == "No orders are logged yet"
    assert f.reasons[0].startswith("Data answered no")


def test_feasibility_refuses_an_unknown_criterion_and_saves_nothing(proj, member):
    with pytest.raises(ValidationError):
        services.feasibility_update(project=proj, user=member, criteria={"magic": "yes"})
    assert not SectionVersion.objects.filter(step="feasibility").exists()


def test_moving_a_node_under_its_own_subtree_is_refused(proj, member):
    root = add(proj, member, ProblemNode, title="Fewer guests")
    cause = add(proj, member, ProblemNode, title="Menu too large", parent=root)
    sub = add(proj, member, ProblemNode, title="Sixty dishes", parent=cause)
    with pytest.raises(ValidationError, match="under itself"):
        services.item_update(project=proj, user=member, item=root, values={"parent": sub})
    root.refresh_from_db()
    assert root.parent is None


def test_moving_a_node_to_another_projects_tree_is_refused(proj, org, member):
    other = services.project_create(org=org, user=member, name="Other")
    foreign = add(other, member, ProblemNode, title="Their problem")
    node = add(proj, member, ProblemNode, title="Ours")
    with pytest.raises(ValidationError, match="same project"):
        services.item_update(project=proj, user=member, item=node, values={"parent": foreign})


def test_a_node_moves_with_its_subtree(proj, member):
    a = add(proj, member, ProblemNode, title="A")
    b = add(proj, member, ProblemNode, title="B")
    child = add(proj, member, ProblemNode, title="A1", parent=a)
    services.item_update(project=proj, user=member, item=a, values={"parent": b})
    tree = selectors.project_snapshot(proj)["steps"]["problem_definition"]["tree"]
    assert [n["title"] for n in tree] == ["B"]
    assert tree[0]["children"][0]["children"][0]["id"] == child.id


def test_deleting_a_cause_deletes_its_subtree_and_solutions(proj, member):
    root = add(proj, member, ProblemNode, title="Root")
    cause = add(proj, member, ProblemNode, title="Cause", parent=root)
    add(proj, member, Solution, title="Describe dishes", cause=cause)
    services.item_delete(project=proj, user=member, item=root)
    assert not ProblemNode.objects.exists()
    assert not Solution.objects.exists()


def test_a_metric_can_only_move_a_business_metric(proj, member):
    model = add(proj, member, Metric, name="RMSE")
    with pytest.raises(ValidationError, match="business metric"):
        add(proj, member, Metric, name="F1", parent=model)


def test_a_rules_baseline_is_validated_strictly_on_save(proj, member):
    with pytest.raises(ValidationError) as err:
        add(
            proj,
            member,
            Baseline,
            name="Rules",
            kind="rules",
            rules={"rules": [{"when": [{"feature": "x", "op": "like", "value": 1}], "then": 1}]},
        )
    assert "rules" in err.value.message_dict
    assert not Baseline.objects.exists()


def test_starting_the_next_cycle_copies_the_definition_and_keeps_the_old_one(proj, org, member):
    source = DataSource.objects.create(organization=org, name="POS receipts")
    services.section_update(
        project=proj,
        user=member,
        section="phenomenon",
        values={"what": "Revenue fell", "data_sources": [source]},
    )
    root = add(proj, member, ProblemNode, title="Root")
    cause = add(proj, member, ProblemNode, title="Cause", parent=root)
    add(proj, member, Solution, title="Describe dishes", cause=cause)
    objective = add(proj, member, Objective, title="Recommend dishes", kind="rank")
    business = add(proj, member, Metric, name="Revisit rate", kind="business")
    model = add(proj, member, Metric, name="NDCG", objective=objective, parent=business)
    services.section_update(
        project=proj,
        user=member,
        section="evaluation_plan",
        values={"text": "A/B", "metrics": [model]},
    )
    add(proj, member, Feedback, who="Chef", text="Nice")
    services.section_update(
        project=proj,
        user=member,
        section="further_analysis",
        values={"findings": "Lunch guests ignore it"},
    )
    before = selectors.project_snapshot(proj)["steps"]

    new = services.cycle_start_next(project=proj, user=member)

    assert proj.cycle == 2 and new.number == 2
    after = selectors.project_snapshot(proj)["steps"]
    assert after["phenomenon"]["data_sources"] == before["phenomenon"]["data_sources"]
    new_tree = after["problem_definition"]["tree"]
    assert new_tree[0]["children"][0]["title"] == "Cause"
    assert new_tree[0]["id"] != root.id
    assert after["problem_definition"]["solutions"][0]["cause"] == new_tree[0]["children"][0]["id"]
    metrics = {m["name"]: m for m in after["goals"]["metrics"]}
    assert metrics["NDCG"]["parent"] == metrics["Revisit rate"]["id"] != business.id
    assert metrics["NDCG"]["objective"] == after["goals"]["objectives"][0]["id"]
    assert after["evaluation"]["metrics"] == [metrics["NDCG"]["id"]]
    assert after["baselines"]["prototype"]["feedback"] == []
    assert after["further_analysis"]["findings"] == ""
    old = selectors.project_snapshot(proj, cycle=selectors.cycle_get(project=proj, number=1))
    assert old["steps"] == before
    assert old["cycle"]["is_current"] is False


def test_earlier_cycles_are_read_only(proj, member):
    hypothesis = add(proj, member, ProblemNode, title="Old node")
    services.cycle_start_next(project=proj, user=member)
    with pytest.raises(ValidationError, match="read-only"):
        services.item_update(project=proj, user=member, item=hypothesis, values={"title": "x"})


def test_the_snapshot_names_every_step(proj):
    snapshot = selectors.project_snapshot(proj)
    assert list(snapshot["steps"]) == [
        "phenomenon",
        "problem_definition",
        "feasibility",
        "goals",
        "constraints",
        "baselines",
        "evaluation",
        "deployment",
        "further_analysis",
    ]
    assert snapshot["project"]["name"] == "Restaurant revenue"


# ---------------------------------------------------------------- one problem, written once


def roots(proj):
    return list(
        ProblemNode.objects.filter(cycle__project=proj, parent=None).values_list("title", flat=True)
    )


def test_the_problem_statement_is_the_root_of_the_tree(proj, member):
    statement = "First-time guests are dropping.\nThe menu is too large."
    services.section_update(
        project=proj, user=member, section="problem", values={"statement": statement}
    )
    assert roots(proj) == ["First-time guests are dropping."]
    services.section_update(
        project=proj, user=member, section="problem", values={"statement": "Guests leave."}
    )
    assert roots(proj) == ["Guests leave."]  # renamed, not a second root


def test_a_root_typed_in_the_tree_fills_an_empty_statement(proj, member):
    add(proj, member, ProblemNode, title="Guests leave")
    cycle = selectors.cycle_get(project=proj)
    assert cycle.problem.statement == "Guests leave"
    assert roots(proj) == ["Guests leave"]


def test_a_tree_with_several_top_level_problems_is_left_as_drawn(proj, member):
    add(proj, member, ProblemNode, title="Guests leave")
    add(proj, member, ProblemNode, title="Staff leave")
    services.section_update(
        project=proj, user=member, section="problem", values={"statement": "Both leave."}
    )
    assert sorted(roots(proj)) == ["Guests leave", "Staff leave"]
