"""A/B test lines of the activity feed, described by evaluation through
`mlprojects.review.activity`: linked, scoped to their project, one query per batch."""

from evaluation.abtests import services as abtests
from mlprojects.lifecycle.services import project_create
from mlprojects.review.selectors import activity


def _abtest(project, user, name: str):
    return abtests.abtest_create(
        project=project,
        user=user,
        name=name,
        hypothesis="A shorter menu converts better.",
        variants=[{"key": "control", "allocation": 0.5}, {"key": "b", "allocation": 0.5}],
        metrics=[{"key": "conversion", "type": "binomial", "role": "primary"}],
    )


def _lines(feed) -> dict[str, str]:
    return {line.text: line.url for line in feed if line.action.startswith("abtest.")}


def test_a_projects_feed_has_its_own_ab_tests_only(org, member):
    menu = project_create(org=org, user=member, name="Menu")
    feed = project_create(org=org, user=member, name="Feed")
    test = _abtest(menu, member, "Short menu")
    abtests.abtest_start(abtest=test, user=member)
    _abtest(feed, member, "Ranking")
    lines = _lines(activity(org=org, project=menu))
    assert lines == {
        "A/B test “Short menu”: created": f"/o/acme/projects/menu/ab-tests/{test.pk}/",
        "A/B test “Short menu”: running": f"/o/acme/projects/menu/ab-tests/{test.pk}/",
    }


def test_a_deleted_tests_lines_stay_without_a_link(org, member):
    menu = project_create(org=org, user=member, name="Menu")
    test = _abtest(menu, member, "Short menu")
    test.delete()
    assert _lines(activity(org=org)) == {"A/B test “Short menu”: created": ""}


def test_the_feed_describes_ab_tests_of_many_projects_in_one_query(
    org, member, django_assert_num_queries
):
    for i in range(2):
        _abtest(project_create(org=org, user=member, name=f"P{i}"), member, f"T{i}")
    with django_assert_num_queries(3) as few:  # events, their projects, their A/B tests
        assert len(_lines(activity(org=org))) == 2
    for i in range(2, 6):
        _abtest(project_create(org=org, user=member, name=f"P{i}"), member, f"T{i}")
    with django_assert_num_queries(len(few.captured_queries)):
        assert len(_lines(activity(org=org))) == 6
