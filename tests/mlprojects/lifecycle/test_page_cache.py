"""The project page's workspace is kept in the cache (mlprojects.lifecycle.page_cache):
every write shows on the next view, and what depends on the viewer stays the viewer's."""

import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from mlprojects.lifecycle import page_cache, selectors, services
from mlprojects.models import (
    Baseline,
    Feedback,
    Finding,
    Hypothesis,
    Metric,
    Objective,
    ProblemNode,
    ProjectConstraint,
    Reference,
    Solution,
    WatchedMetric,
)
from mlprojects.review import services as review
from tests.factories import EvaluationFactory

HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def proj(org, member):
    return services.project_create(org=org, user=member, name="Restaurant revenue")


@pytest.fixture
def page(proj):
    """The project page as `client` sees it; the first call fills the cache."""

    def get(client: Client, query: str = "") -> str:
        response = client.get(f"/o/acme/projects/{proj.slug}/{query}")
        assert response.status_code == 200
        return response.text

    return get


def _queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        client.get(url)
    return len(queries)


def test_the_second_view_is_served_from_the_cache(proj, member, client_for):
    client = client_for(member)
    url = f"/o/acme/projects/{proj.slug}/"
    first = _queries(client, url)
    assert _queries(client, url) < first - 10


def test_with_the_cache_off_every_view_renders_the_workspace(proj, member, client_for, settings):
    settings.PROJECT_PAGE_CACHE_SECONDS = 0
    client = client_for(member)
    url = f"/o/acme/projects/{proj.slug}/"
    client.get(url)  # the first request remembers the organization in the session
    assert _queries(client, url) == _queries(client, url)


def test_a_cached_page_is_the_page_rendered_afresh(proj, member, client_for, page, settings):
    client = client_for(member)
    services.item_create(project=proj, user=member, model=Hypothesis, values={"statement": "x"})
    token = re.compile(r'(csrfmiddlewaretoken" value="|X-CSRFToken": ")\w+')
    page(client)
    cached = token.sub(r"\1…", page(client))
    settings.PROJECT_PAGE_CACHE_SECONDS = 0
    assert token.sub(r"\1…", page(client)) == cached


SECTION_WRITES = [
    ("phenomenon", {"what": "Revenue fell by a fifth"}, "Revenue fell by a fifth"),
    ("problem", {"ship_now": "A printed menu guide"}, "A printed menu guide"),
    ("goal", {"statement": "Guests find a dish they like"}, "Guests find a dish they like"),
    (
        "goal",
        {"multi_objective_strategy": "separate_models", "multi_objective_rationale": "Both"},
        "Separate models ranked by",
    ),
    ("performance", {"baseline_to_beat": "The waiter's pick"}, "The waiter&#x27;s pick"),
    ("prototype", {"url": "https://proto.example.com/menu"}, "https://proto.example.com/menu"),
    ("evaluation_plan", {"text": "Offline top-3 accuracy"}, "Offline top-3 accuracy"),
    ("deployment_plan", {"watch": "Orders per table"}, "Orders per table"),
    ("further_analysis", {"findings": "Regulars skip it"}, "Regulars skip it"),
]


@pytest.mark.parametrize(("section", "values", "shown"), SECTION_WRITES)
def test_a_section_update_shows_on_the_next_view(
    proj, member, client_for, page, section, values, shown
):
    client = client_for(member)
    assert shown not in page(client)
    services.section_update(project=proj, user=member, section=section, values=values)
    assert shown in page(client)


def test_a_feasibility_answer_shows_on_the_next_view(proj, member, client_for, page):
    client = client_for(member)
    page(client)
    services.feasibility_update(
        project=proj,
        user=member,
        red_flags={"unethical": True},
        rationales={"unethical": "Targets minors"},
    )
    assert "Targets minors" in page(client)


def _items(proj, member) -> list[tuple[type, dict, str]]:
    cycle = selectors.cycle_get(project=proj)
    metric = Metric.objects.create(cycle=cycle, name="Orders per table", kind="business")
    node = ProblemNode.objects.create(cycle=cycle, title="Fewer first-time guests")
    return [
        (Hypothesis, {"statement": "The menu is too long"}, "The menu is too long"),
        (ProblemNode, {"title": "Menu too large", "parent": node}, "Menu too large"),
        (Solution, {"cause": node, "title": "A shorter menu"}, "A shorter menu"),
        (Objective, {"title": "Dish suggestions"}, "Dish suggestions"),
        (Metric, {"name": "Top-3 accuracy", "kind": "model"}, "Top-3 accuracy"),
        (ProjectConstraint, {"kind": "schedule", "description": "By June"}, "By June"),
        (Baseline, {"name": "Waiter pairing", "kind": "human_process"}, "Waiter pairing"),
        (Reference, {"title": "Menu engineering survey"}, "Menu engineering survey"),
        (Feedback, {"who": "Ana", "text": "Guests liked it"}, "Guests liked it"),
        (WatchedMetric, {"metric": metric, "threshold": 0.25, "notes": "Weekly"}, "Weekly"),
    ]


def test_each_kind_of_item_shows_when_added_changed_and_removed(proj, member, client_for, page):
    client = client_for(member)
    for model, values, shown in _items(proj, member):
        assert shown not in page(client), model
        item = services.item_create(project=proj, user=member, model=model, values=values)
        assert shown in page(client), model
        field = next(k for k, v in values.items() if isinstance(v, str) and shown in v)
        services.item_update(
            project=proj, user=member, item=item, values={field: f"{values[field]} (v2)"}
        )
        assert f"{shown} (v2)" in page(client), model
        services.item_delete(project=proj, user=member, item=item)
        assert shown not in page(client), model


def test_a_problem_statement_renaming_the_tree_root_shows(proj, member, client_for, page):
    client = client_for(member)
    services.section_update(
        project=proj, user=member, section="problem", values={"statement": "Fewer guests"}
    )
    page(client)
    services.section_update(
        project=proj, user=member, section="problem", values={"statement": "Fewer regulars"}
    )
    assert ProblemNode.objects.get().title == "Fewer regulars"
    assert page(client).count("Fewer regulars") >= 2  # the statement and the tree's root


def test_a_new_comment_thread_shows_in_the_step_count(proj, org, member, client_for, page):
    client = client_for(member)
    assert "Comments (1)" not in page(client)
    review.comment_create(
        org=org, user=member, project=proj, section="phenomenon", body="Since when?"
    )
    assert "Comments (1)" in page(client)


def test_submitting_and_approving_a_proposal_shows_in_the_badge(
    proj, member, owner, client_for, page
):
    client = client_for(member)
    assert "draft — not submitted" in page(client)
    proposal = review.proposal_submit(project=proj, user=member, reviewers=[owner])
    assert "v1 in review" in page(client)
    review.proposal_decide(proposal=proposal, user=owner, decision="approve")
    assert "v1 approved" in page(client)


def test_a_renamed_project_and_owner_show(proj, member, client_for, page):
    client = client_for(member)
    page(client)
    services.project_update(project=proj, user=member, values={"summary": "Guide new guests"})
    assert "Guide new guests" in page(client)
    member.full_name = "Mina Member"
    member.save()
    assert "Owner Mina Member" in page(client)


def test_a_finding_from_monitoring_shows_in_step_9(proj, member, client_for, page):
    client = client_for(member)
    page(client)
    Finding.objects.create(cycle=selectors.cycle_get(project=proj), what="Recall fell")
    assert "Recall fell" in page(client)


def test_the_next_cycle_shows_and_the_old_one_stays_readable(proj, member, client_for, page):
    client = client_for(member)
    page(client)
    services.cycle_start_next(project=proj, user=member)
    assert "Start cycle 3" in page(client)
    assert "which is closed and read-only" in page(client, "?cycle=1")


def test_the_panels_of_other_apps_are_live(proj, member, client_for, page):
    client = client_for(member)
    page(client)
    EvaluationFactory(project=proj, name="Menu model v2")
    assert "Menu model v2" in page(client)


def test_a_viewer_and_an_editor_each_see_their_own_links(
    proj, member, viewer, admin, client_for, page
):
    edit = f"/o/acme/projects/{proj.slug}/sections/phenomenon/"
    rename = f"/o/acme/projects/{proj.slug}/edit/"
    delete = f"/o/acme/projects/{proj.slug}/delete/"
    first = page(client_for(member))
    assert edit in first and rename in first and delete not in first
    as_viewer = page(client_for(viewer))
    assert edit not in as_viewer and rename not in as_viewer
    as_admin = page(client_for(admin))  # the member's stored page, with its own buttons
    assert edit in as_admin and rename in as_admin and delete in as_admin


def test_the_forms_of_a_stored_page_carry_the_viewers_own_csrf_token(
    proj, member, owner, client_for, page
):
    page(client_for(owner))  # stored with no one's token
    client = Client(enforce_csrf_checks=True)
    client.force_login(member)
    html = page(client)
    form = html[html.index('class="next-cycle"') :]
    token = re.search(r'name="csrfmiddlewaretoken" value="(\w+)"', form).group(1)
    url = reverse("mlprojects:next_cycle", args=["acme", proj.slug])
    response = client.post(url, {"csrfmiddlewaretoken": token})
    assert response.status_code == 302
    proj.refresh_from_db()
    assert proj.cycle == 2


def test_a_write_is_forgotten_again_when_its_transaction_commits(
    proj, member, rf, django_capture_on_commit_callbacks
):
    """A page another request renders between the write and its commit still shows the
    old content; the bump at commit makes sure it is not served afterwards."""
    request = rf.get("/")
    request.membership = member.memberships.get()
    before = page_cache.workspace_key(request, proj, None)
    with django_capture_on_commit_callbacks(execute=True):
        page_cache.project_changed(proj.pk)
        during = page_cache.workspace_key(request, proj, None)
    after = page_cache.workspace_key(request, proj, None)
    assert len({before, during, after}) == 3


def test_a_live_part_outside_the_workspace_is_a_template_error():
    from django.template import Template, TemplateSyntaxError

    with pytest.raises(TemplateSyntaxError):
        Template("{% load lifecycle %}{% live %}x{% endlive %}")


def test_signing_in_keeps_the_stored_pages(proj, member, rf):
    request = rf.get("/")
    request.membership = member.memberships.get()
    before = page_cache.workspace_key(request, proj, None)
    member.save(update_fields=["last_login"])
    member.save(update_fields=["password"])  # a hash upgraded at sign-in
    assert page_cache.workspace_key(request, proj, None) == before
