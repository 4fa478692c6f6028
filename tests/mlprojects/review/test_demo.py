"""The demo's review story: approved v1, v2 in review, a discussion with mentions, and
notifications waiting for the stakeholder."""

import io

import pytest
from django.core.management import call_command

from accounts.models import Notification
from mlprojects.models import Comment, Project, Proposal
from mlprojects.review.selectors import approval_summary

pytestmark = pytest.mark.django_db


@pytest.fixture
def restaurant():
    call_command("load_demo", stdout=io.StringIO())
    return Project.objects.get(slug="restaurant-revenue")


def test_the_restaurant_has_an_approved_v1_and_a_v2_in_review(restaurant):
    statuses = list(
        Proposal.objects.filter(project=restaurant)
        .order_by("version")
        .values_list("version", "status")
    )
    assert statuses == [(1, "approved"), (2, "in_review")]
    summary = approval_summary(project=restaurant)
    assert summary == {"status": "in_review", "version": 2, "stale": False, "approved_version": 1}


def test_the_discussion_has_a_thread_with_a_reply(restaurant):
    comments = Comment.objects.filter(project=restaurant).order_by("id")
    assert comments.count() == 2
    assert comments[1].parent == comments[0]


def test_the_stakeholder_has_notifications(restaurant):
    kinds = set(
        Notification.objects.filter(recipient__email="stakeholder@example.com").values_list(
            "kind", flat=True
        )
    )
    assert kinds == {"review_requested", "mention"}


def test_loading_the_demo_again_adds_no_review_rows(restaurant):
    counts = (Proposal.objects.count(), Comment.objects.count(), Notification.objects.count())
    call_command("load_demo", stdout=io.StringIO())
    assert (Proposal.objects.count(), Comment.objects.count(), Notification.objects.count()) == (
        counts
    )
