"""The review story of the restaurant project: v1 approved by the stakeholder, a change
made since, a short discussion with a mention, and v2 waiting in review — so the
stakeholder logs in to a bell with notifications and a proposal in "My reviews".
Idempotent: nothing is written once the project has a proposal."""

from accounts.models import User
from mlprojects.lifecycle.demo import RESTAURANT
from mlprojects.lifecycle.services import section_update
from mlprojects.models import Project, Proposal
from mlprojects.review import services
from mlprojects.site.demo import DemoOrganizations


def load_review_story(orgs: DemoOrganizations) -> None:
    project = Project.objects.filter(organization=orgs.demo, slug=RESTAURANT).first()
    if project is not None:
        load_review_demo(project)


def load_review_demo(project: Project) -> None:
    if Proposal.objects.filter(project=project).exists():
        return
    org = project.organization
    member = User.objects.get(email="member@example.com")
    stakeholder = User.objects.get(email="stakeholder@example.com")

    v1 = services.proposal_submit(
        project=project,
        user=member,
        reviewers=[stakeholder],
        message="First complete pass through the nine steps: rule-based descriptions now, "
        "the recommender in parallel.",
    )
    services.proposal_decide(
        proposal=v1,
        user=stakeholder,
        decision="approve",
        comment="Good plan: the quick fix ships this month and we learn from the A/B test.",
    )
    section_update(
        project=project,
        user=member,
        section="problem",
        values={
            "ship_now": "Rule-based dish descriptions and a “new here?” menu card for "
            "first-time guests."
        },
    )
    thread = services.comment_create(
        org=org,
        user=stakeholder,
        project=project,
        section="goals",
        body="How do we measure **revisit rate** for first-time guests — by card, or by "
        "phone number? @member",
    )
    services.comment_create(
        org=org,
        user=member,
        parent=thread,
        body="By loyalty card for now; phone numbers need the privacy review first "
        "(see step 5). @stakeholder does that work for you?",
    )
    services.proposal_submit(
        project=project,
        user=member,
        reviewers=[stakeholder],
        message="v2 adds the “new here?” menu card to what ships now.",
    )
