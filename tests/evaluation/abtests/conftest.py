"""A/B test fixtures: a draft test with the three kinds of metrics, and result sets."""

import pytest

from evaluation.abtests import jobs, services, state

VARIANTS = [
    {"key": "control", "allocation": 0.5, "description": "Old menu"},
    {"key": "treatment", "allocation": 0.5, "description": "Menu with descriptions"},
]
METRICS = [
    {"key": "conversion", "type": "binomial", "role": "primary"},
    {"key": "revenue", "type": "continuous", "role": "secondary"},
    {"key": "order_time", "type": "continuous", "role": "guardrail", "direction": "lower"},
]
# The same metrics in the words of the statistics engine (and of the API).
METRICS_FOR_STATS = [*METRICS[:2], {**METRICS[2], "direction": "decrease"}]
RESULTS = {
    "conversion": {
        "control": {"users": 1000, "conversions": 100},
        "treatment": {"users": 1010, "conversions": 131},
    },
    "revenue": {
        "control": {"users": 1000, "sum": 24800.0, "sum_squares": 705300.0},
        "treatment": {"users": 1010, "sum": 26260.0, "sum_squares": 782000.0},
    },
    "order_time": {
        "control": {"users": 1000, "sum": 7900.0, "sum_squares": 72000.0},
        "treatment": {"users": 1010, "sum": 8080.0, "sum_squares": 75000.0},
    },
}


@pytest.fixture
def abtest(project, member):
    """A draft test of `project` (in `org`)."""
    return services.abtest_create(
        project=project,
        user=member,
        name="Menu descriptions",
        hypothesis="Descriptions bring first-time guests back.",
        variants=VARIANTS,
        metrics=METRICS,
    )


@pytest.fixture
def running_abtest(abtest, member):
    """The test, started, with results for every metric."""
    state.abtest_results_set(abtest=abtest, user=member, results=RESULTS, source="api")
    abtest.refresh_from_db()
    return abtest


@pytest.fixture
def stopped_abtest(running_abtest, member):
    """Stopped before any analysis (`analyse=False`: the analysis is each test's step)."""
    return services.abtest_stop(abtest=running_abtest, user=member, analyse=False)


@pytest.fixture
def analyzed_abtest(stopped_abtest, member):
    analysis = services.abtest_analysis_request(abtest=stopped_abtest, user=member, enqueue=False)
    jobs.abtest_analysis_run(analysis_id=analysis.pk)
    stopped_abtest.refresh_from_db()
    return stopped_abtest
