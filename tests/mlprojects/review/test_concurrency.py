"""Concurrent submissions queue on the project row: each gets its own version number and
exactly one version stays open."""

import threading

import pytest
from django.db import connection

from mlprojects.models import Proposal
from mlprojects.review.services import proposal_submit


@pytest.mark.django_db(transaction=True)
def test_concurrent_submits_get_distinct_version_numbers(project, member, stakeholder):
    barrier = threading.Barrier(4)
    errors: list[Exception] = []

    def submit():
        barrier.wait()
        try:
            proposal_submit(project=project, user=member)
        except Exception as exc:  # collected and asserted below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=submit) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    versions = sorted(Proposal.objects.values_list("version", flat=True))
    assert versions == [1, 2, 3, 4]
    statuses = dict(Proposal.objects.values_list("version", "status"))
    assert statuses == {1: "superseded", 2: "superseded", 3: "superseded", 4: "in_review"}
