"""The review pages: proposals, the stakeholder's review page, diffs, exports, the inbox
and activity feeds."""

import pytest

from mlprojects.lifecycle.services import section_update
from mlprojects.review.services import comment_create, proposal_decide, proposal_submit

pytestmark = pytest.mark.django_db
BASE = "/o/acme/projects/menu-recommender"


def test_the_proposals_page_offers_submission_with_the_reviewers(
    written, member, stakeholder, client_for
):
    html = client_for(member).get(BASE + "/proposals/").content.decode()
    assert "Submit for review" in html
    assert stakeholder.email in html


def test_submitting_from_the_page_opens_the_new_version(written, member, stakeholder, client_for):
    response = client_for(member).post(
        BASE + "/proposals/submit/", {"reviewers": [stakeholder.pk], "message": "First look"}
    )
    assert response.status_code == 302
    assert response["Location"] == BASE + "/proposals/1/"


def test_the_review_page_shows_the_document_and_the_decision_form(
    submitted, stakeholder, client_for
):
    html = client_for(stakeholder).get(BASE + "/proposals/1/").content.decode()
    assert "Menu recommender — proposal v1" in html
    assert "Revenue fell." in html
    assert "1. Phenomenon" in html
    assert "Record decision" in html
    assert f"{BASE}/comments/phenomenon/?proposal=1" in html


def test_the_author_sees_no_decision_form_but_may_withdraw(submitted, member, client_for):
    html = client_for(member).get(BASE + "/proposals/1/").content.decode()
    assert "Record decision" not in html
    assert "Withdraw" in html


def test_deciding_from_the_page(submitted, stakeholder, client_for):
    response = client_for(stakeholder).post(
        BASE + "/proposals/1/decide/", {"decision": "request_changes", "comment": "Baseline?"}
    )
    assert response.status_code == 302
    submitted.refresh_from_db()
    assert submitted.status == "changes_requested"


def test_requesting_changes_without_a_comment_shows_the_error(submitted, stakeholder, client_for):
    response = client_for(stakeholder).post(
        BASE + "/proposals/1/decide/", {"decision": "request_changes"}
    )
    assert response.status_code == 200
    assert "a comment is required" in response.content.decode()
    submitted.refresh_from_db()
    assert submitted.status == "in_review"


def test_the_review_page_lists_the_audit_trail(submitted, stakeholder, client_for):
    proposal_decide(proposal=submitted, user=stakeholder, decision="approve")
    html = client_for(stakeholder).get(BASE + "/proposals/1/").content.decode()
    assert "submitted v1 of “Menu recommender” for review" in html
    assert "in review → approved" in html


def test_the_review_page_warns_when_an_approval_is_stale(
    submitted, member, stakeholder, client_for
):
    proposal_decide(proposal=submitted, user=stakeholder, decision="approve")
    section_update(
        project=submitted.project,
        user=member,
        section="phenomenon",
        values={"what": "Guests dropped."},
    )
    html = client_for(stakeholder).get(BASE + "/proposals/1/").content.decode()
    assert "edited since" in html


def test_the_diff_shows_word_changes_between_versions(submitted, member, client_for):
    section_update(
        project=submitted.project,
        user=member,
        section="phenomenon",
        values={"what": "Revenue fell sharply."},
    )
    proposal_submit(project=submitted.project, user=member)
    html = client_for(member).get(BASE + "/proposals/2/diff/").content.decode()
    assert "v1 → v2" in html
    assert "<del>fell.</del>" in html
    assert "<ins>fell sharply.</ins>" in html
    assert "unchanged" in html


def test_the_first_version_has_nothing_to_compare(submitted, member, client_for):
    html = client_for(member).get(BASE + "/proposals/1/diff/").content.decode()
    assert "Nothing to compare" in html


def test_the_markdown_export(submitted, member, client_for):
    response = client_for(member).get(BASE + "/proposals/1/export.md")
    assert response["Content-Type"] == "text/markdown; charset=utf-8"
    assert 'filename="menu-recommender-v1.md"' in response["Content-Disposition"]
    text = response.content.decode()
    assert text.startswith("# Menu recommender — proposal v1\n")
    assert "## 1. Phenomenon" in text
    assert "- **What is happening:** Revenue fell." in text


def test_the_print_export_is_a_standalone_page_with_print_css(submitted, member, client_for):
    html = client_for(member).get(BASE + "/proposals/1/export.html").content.decode()
    assert "css/print.css" in html
    assert "topbar" not in html
    assert "Revenue fell." in html


def test_the_inbox_lists_what_awaits_me_and_my_proposals(
    submitted, member, stakeholder, client_for
):
    awaiting = client_for(stakeholder).get("/o/acme/reviews/").content.decode()
    assert "Menu recommender v1" in awaiting
    assert "Nothing is waiting for you." not in awaiting
    proposal_decide(
        proposal=submitted, user=stakeholder, decision="request_changes", comment="Baseline?"
    )
    after = client_for(stakeholder).get("/o/acme/reviews/").content.decode()
    assert "Nothing is waiting for you." in after
    assert "Decided, still open" in after
    mine = client_for(member).get("/o/acme/reviews/").content.decode()
    assert "Changes requested" in mine


def test_the_project_activity_has_edits_comments_submissions_and_decisions(
    submitted, member, stakeholder, client_for
):
    comment_create(
        org=submitted.project.organization,
        user=stakeholder,
        project=submitted.project,
        section="goals",
        body="Which metric?",
    )
    proposal_decide(proposal=submitted, user=stakeholder, decision="approve")
    html = client_for(member).get(BASE + "/activity/").content.decode()
    assert "edited Phenomenon of “Menu recommender” (v1)" in html
    assert f'href="{BASE}/#step-phenomenon"' in html
    assert "commented on Goal, objectives, metrics of “Menu recommender”" in html
    assert "submitted v1 of “Menu recommender” for review" in html
    assert "decided “approve” on v1" in html


def test_the_project_activity_includes_ab_test_decisions(proj, member, client_for):
    from evaluation.abtests import jobs, state
    from evaluation.abtests import services as abtests

    abtest = abtests.abtest_create(
        project=proj,
        user=member,
        name="Short menu",
        hypothesis="A shorter menu converts better.",
        variants=[{"key": "control", "allocation": 0.5}, {"key": "b", "allocation": 0.5}],
        metrics=[{"key": "conversion", "type": "binomial", "role": "primary"}],
    )
    results = {
        "conversion": {
            "control": {"users": 1000, "conversions": 100},
            "b": {"users": 1000, "conversions": 140},
        }
    }
    state.abtest_results_set(abtest=abtest, user=member, results=results, source="api")
    abtests.abtest_stop(abtest=abtest, user=member, analyse=False)
    analysis = abtests.abtest_analysis_request(abtest=abtest, user=member, enqueue=False)
    jobs.abtest_analysis_run(analysis_id=analysis.pk)
    abtests.abtest_decide(abtest=abtest, user=member, outcome="ship", rationale="Clear win")
    html = client_for(member).get(BASE + "/activity/").content.decode()
    assert "decided the A/B test “Short menu”: ship" in html
    assert f'href="{BASE}/ab-tests/{abtest.pk}/"' in html


def test_the_org_activity_never_shows_another_orgs_events(
    submitted, other_project, outsider, member, client_for
):
    section_update(
        project=other_project, user=outsider, section="phenomenon", values={"what": "Globex secret"}
    )
    html = client_for(member).get("/o/acme/activity/").content.decode()
    assert "Menu recommender" in html
    assert "Secret" not in html


def test_org_settings_list_proposal_events_readably(submitted, owner, client_for):
    html = client_for(owner).get("/o/acme/settings/").content.decode()
    assert "submitted v1 of “Menu recommender” for review" in html
    assert f'href="{BASE}/proposals/1/"' in html


def test_the_review_page_marks_the_steps_changed_since_the_previous_version(
    submitted, member, stakeholder, client_for
):
    section_update(
        project=submitted.project, user=member, section="goal", values={"statement": "Revisits"}
    )
    proposal_submit(project=submitted.project, user=member)
    html = client_for(stakeholder).get(BASE + "/proposals/2/").content.decode()
    assert html.count("changed since v1") == 1
    assert f'href="{BASE}/proposals/2/diff/#diff-goals"' in html


def test_the_document_names_the_metrics_of_the_evaluation_plan():
    from mlprojects.review.selectors import proposal_document

    snapshot = {
        "steps": {
            "goals": {"metrics": [{"id": 7, "name": "Second-visit rate"}]},
            "evaluation": {"text": "A/B test", "metrics": [7]},
        }
    }
    evaluation = next(s for s in proposal_document(snapshot) if s.key == "evaluation")
    assert [(r.label, r.value) for r in evaluation.rows] == [
        ("Plan", "A/B test"),
        ("Decided by", "Second-visit rate"),
    ]


def _many_proposals(org, member, stakeholder, n: int) -> None:
    from mlprojects.lifecycle.services import project_create

    for i in range(n):
        project = project_create(org=org, user=member, name=f"Project {i}")
        proposal_submit(project=project, user=member, reviewers=[stakeholder])
        comment_create(
            org=org, user=stakeholder, project=project, section="goals", body=f"Hi @member {i}"
        )


def test_the_inbox_runs_a_bounded_number_of_queries(
    org, member, stakeholder, client_for, django_assert_max_num_queries
):
    _many_proposals(org, member, stakeholder, 6)
    client = client_for(stakeholder)
    with django_assert_max_num_queries(15):
        html = client.get("/o/acme/reviews/").content.decode()
    assert html.count("v1</a>") == 6


def test_the_activity_feed_runs_a_bounded_number_of_queries(
    org, member, stakeholder, client_for, django_assert_max_num_queries
):
    _many_proposals(org, member, stakeholder, 6)
    client = client_for(member)
    with django_assert_max_num_queries(15):
        html = client.get("/o/acme/activity/").content.decode()
    assert html.count("for review") == 6
