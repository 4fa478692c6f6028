"""A step's history reads in words: labels for keys and choices, numbers rounded."""

import pytest

from mlprojects.lifecycle.diffs import section_diff
from mlprojects.lifecycle.selectors import snapshot_words


def _texts(rows):
    return [r.get("text") or " ".join(p for _, p in r["parts"]) for r in rows]


def test_keys_and_coded_values_are_shown_by_their_labels():
    old = {"red_flags": {"poor_data": False}, "verdict": "rules_first"}
    new = {"red_flags": {"poor_data": True}, "verdict": "ml_fits"}
    texts = " ".join(_texts(section_diff(old, new, words=snapshot_words())))
    assert "Good data is hard to get" in texts and "ML fits" in texts
    assert "poor_data" not in texts and "ml_fits" not in texts


def test_without_words_keys_are_still_readable():
    rows = section_diff(None, {"time_to_value": "later", "current": 0.9111083268826564})
    assert _texts(rows) == ["Time to value: later", "Current: 0.9111"]


@pytest.mark.django_db
def test_the_words_come_from_the_lifecycle_models():
    words = snapshot_words()
    assert words["in_progress"] == "In progress"
    assert words["catastrophic_error"] == "A single wrong prediction is catastrophic"
