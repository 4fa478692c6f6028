"""The restaurant's demo A/B test: analysed through the services, decided, idempotent."""

from accounts.permissions import Role
from evaluation.abtests.demo import MENU_TEST, load_abtest_demo
from evaluation.models import ABResult, ABTest, ABTestAnalysis, ABTestDecision
from tests.factories import MembershipFactory, ProjectFactory, UserFactory


def test_the_demo_test_is_analysed_and_decided_once(org):
    MembershipFactory(
        organization=org, role=Role.MEMBER, user=UserFactory(email="member@example.com")
    )
    project = ProjectFactory(organization=org, slug="restaurant-revenue")
    load_abtest_demo(org)
    load_abtest_demo(org)
    abtest = ABTest.objects.get(project=project, name=MENU_TEST)
    assert abtest.status == "decided"
    assert ABTestAnalysis.objects.count() == 1
    assert ABResult.objects.count() == 6
    decision = ABTestDecision.objects.get()
    assert decision.outcome == "ship"
    assert "revisit rate" in decision.rationale
    entry = abtest.analyses.get().result["metrics"]["first_visit_return"]["descriptions"]
    assert entry["significant"] is True
    guardrail = abtest.analyses.get().result["metrics"]["order_time_minutes"]["descriptions"]
    assert guardrail["guardrail_breach"] is False


def test_without_the_restaurant_project_the_loader_does_nothing(org):
    assert load_abtest_demo(org) is None
    assert not ABTest.objects.exists()
