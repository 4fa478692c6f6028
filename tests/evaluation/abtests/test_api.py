"""The A/B test API contract: literal URLs, numbers equal to the statistics engine and to
SciPy/statsmodels, every bad input a 400 that saves nothing."""

import copy

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.power import NormalIndPower, TTestIndPower
from statsmodels.stats.proportion import proportion_effectsize

from evaluation.models import ABResult, ABTest, ABTestAnalysis
from evaluation.stats import analyze

from .conftest import METRICS_FOR_STATS, RESULTS, VARIANTS

CONTRACT_BODY = {
    "name": "Menu descriptions",
    "hypothesis": "Descriptions bring first-time guests back.",
    "variants": [
        {"key": "control", "allocation": 0.5},
        {"key": "treatment", "allocation": 0.5},
    ],
    "metrics": [
        {"key": "conversion", "type": "binomial", "role": "primary"},
        {"key": "revenue", "type": "continuous", "role": "secondary"},
    ],
}


@pytest.fixture
def api(member, client_for):
    return client_for(member)


def post(client, url, body=None):
    return client.post(url, body or {}, content_type="application/json")


# --- create --------------------------------------------------------------------------------


def test_it_creates_a_draft_test_with_the_contract_body(api, project):
    response = post(api, f"/api/v1/projects/{project.pk}/ab-tests/", CONTRACT_BODY)
    assert response.status_code == 201
    data = response.json()
    abtest = ABTest.objects.get(pk=data["id"])
    assert abtest.project == project
    assert data["status"] == "draft"
    assert data["control"] == "control"
    assert [m["direction"] for m in data["metrics"]] == ["increase", "increase"]
    assert [(v["key"], v["allocation"]) for v in data["variants"]] == [
        ("control", 0.5),
        ("treatment", 0.5),
    ]


def test_directions_keep_the_api_words_while_the_metric_stores_the_lifecycle_ones(api, project):
    body = copy.deepcopy(CONTRACT_BODY)
    body["metrics"][1]["direction"] = "decrease"
    response = post(api, f"/api/v1/projects/{project.pk}/ab-tests/", body)
    assert response.status_code == 201
    assert [m["direction"] for m in response.json()["metrics"]] == ["increase", "decrease"]
    abtest = ABTest.objects.get(pk=response.json()["id"])
    assert [m.direction for m in abtest.metrics.all()] == ["higher", "lower"]


def test_the_lifecycle_words_are_not_api_directions(api, project):
    body = copy.deepcopy(CONTRACT_BODY)
    body["metrics"][1]["direction"] = "lower"
    response = post(api, f"/api/v1/projects/{project.pk}/ab-tests/", body)
    assert response.status_code == 400
    assert not ABTest.objects.exists()


def test_an_explicit_control_names_the_control_variant(api, project):
    body = {
        **CONTRACT_BODY,
        "variants": [{"key": "old", "allocation": 0.5}, {"key": "new", "allocation": 0.5}],
        "control": "old",
    }
    response = post(api, f"/api/v1/projects/{project.pk}/ab-tests/", body)
    assert response.status_code == 201
    assert response.json()["control"] == "old"


def ARM(key: str, allocation: float) -> dict:  # noqa: N802
    return {"key": key, "allocation": allocation}


def BINOMIAL(key: str, role: str = "primary") -> dict:  # noqa: N802
    return {"key": key, "type": "binomial", "role": role}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"variants": [ARM("control", 0.5), ARM("b", 0.4)]}, "variants"),
        ({"variants": [ARM("a", 0.5), ARM("b", 0.5)], "control": "zzz"}, "control"),
        ({"variants": [{"key": "control", "allocation": 1.0}]}, "variants"),
        ({"metrics": [{"key": "conversion", "type": "median", "role": "primary"}]}, "metrics"),
        ({"metrics": [{"key": "conversion", "type": "binomial", "role": "boss"}]}, "metrics"),
        ({"metrics": [{"key": "conversion", "type": "binomial", "role": "secondary"}]}, "metrics"),
        ({"metrics": [BINOMIAL("a"), BINOMIAL("a", role="secondary")]}, "metrics"),
        ({"metrics": [{"key": "with space", "type": "binomial"}]}, "metrics"),
        ({"name": ""}, "name"),
    ],
    ids=[
        "allocations-not-summing-to-1",
        "missing-control",
        "one-variant",
        "unknown-metric-type",
        "unknown-role",
        "no-primary-metric",
        "duplicate-metric-key",
        "key-with-space",
        "empty-name",
    ],
)  # fmt: skip
def test_a_bad_design_is_a_400_with_field_errors_and_saves_nothing(api, project, change, field):
    response = post(api, f"/api/v1/projects/{project.pk}/ab-tests/", {**CONTRACT_BODY, **change})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert field in error["fields"]
    assert not ABTest.objects.exists()


def test_a_viewer_may_read_but_not_create(viewer, client_for, abtest, project):
    client = client_for(viewer)
    assert client.get(f"/api/v1/ab-tests/{abtest.pk}/").status_code == 200
    assert client.get(f"/api/v1/projects/{project.pk}/ab-tests/").status_code == 200
    response = post(client, f"/api/v1/projects/{project.pk}/ab-tests/", CONTRACT_BODY)
    assert response.status_code == 403
    assert ABTest.objects.count() == 1


def test_the_project_list_shows_only_that_projects_tests(api, project, abtest, other_abtest):
    response = api.get(f"/api/v1/projects/{project.pk}/ab-tests/")
    assert [t["id"] for t in response.json()["results"]] == [abtest.pk]


# --- results -------------------------------------------------------------------------------


def test_posting_results_stores_them_and_starts_the_draft(api, abtest):
    body = {"metric": "conversion", "variants": RESULTS["conversion"]}
    response = post(api, f"/api/v1/ab-tests/{abtest.pk}/results/", body)
    assert response.status_code == 201
    assert response.json()["variants"] == RESULTS["conversion"]
    assert response.json()["status"] == "running"
    detail = api.get(f"/api/v1/ab-tests/{abtest.pk}/").json()
    assert detail["results"] == {"conversion": RESULTS["conversion"]}


def test_posting_a_metric_again_replaces_its_results(api, running_abtest):
    body = {
        "metric": "conversion",
        "variants": {
            "control": {"users": 2000, "conversions": 210},
            "treatment": {"users": 2000, "conversions": 250},
        },
    }
    assert post(api, f"/api/v1/ab-tests/{running_abtest.pk}/results/", body).status_code == 201
    rows = ABResult.objects.filter(metric__abtest=running_abtest, metric__key="conversion")
    assert sorted(rows.values_list("users", "conversions")) == [(2000, 210), (2000, 250)]
    assert ABResult.objects.filter(metric__abtest=running_abtest).count() == 6


def test_continuous_results_take_users_sum_and_sum_of_squares(api, abtest):
    body = {"metric": "revenue", "variants": RESULTS["revenue"]}
    response = post(api, f"/api/v1/ab-tests/{abtest.pk}/results/", body)
    assert response.status_code == 201
    assert response.json()["variants"]["treatment"] == RESULTS["revenue"]["treatment"]


def test_continuous_results_may_be_a_mean_and_a_sample_sd(api, abtest):
    rng = np.random.default_rng(5)
    samples = {"control": rng.normal(24.8, 9.0, 1000), "treatment": rng.normal(26.0, 9.0, 1010)}
    variants = {
        key: {"users": len(v), "mean": float(v.mean()), "sd": float(v.std(ddof=1))}
        for key, v in samples.items()
    }
    response = post(
        api, f"/api/v1/ab-tests/{abtest.pk}/results/", {"metric": "revenue", "variants": variants}
    )
    assert response.status_code == 201, response.json()
    stored = response.json()["variants"]
    for key, values in samples.items():
        assert stored[key]["sum"] == pytest.approx(values.sum(), rel=1e-12)
        assert stored[key]["sum_squares"] == pytest.approx(np.square(values).sum(), rel=1e-12)


def test_a_mean_without_an_sd_is_a_400(api, abtest):
    variants = {"control": {"users": 10, "mean": 2.0}, "treatment": {"users": 10, "mean": 2.0}}
    body = {"metric": "revenue", "variants": variants}
    response = post(api, f"/api/v1/ab-tests/{abtest.pk}/results/", body)
    assert response.status_code == 400
    assert "go together" in str(response.json())


def _conversion(control: dict, treatment: dict | None = None) -> dict:
    variants = {"control": control}
    if treatment is not None:
        variants["treatment"] = treatment
    return {"metric": "conversion", "variants": variants}


GOOD = {"users": 1000, "conversions": 100}
BOTH = {"control": GOOD, "treatment": GOOD}
IMPOSSIBLE = {"users": 10, "sum": 100.0, "sum_squares": 5.0}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (_conversion({"users": -5, "conversions": 1}, GOOD), "cannot be negative"),
        (_conversion({"users": 100, "conversions": -1}, GOOD), "cannot be negative"),
        (_conversion({"users": 100, "conversions": 101}, GOOD), "cannot exceed"),
        (_conversion({"users": 0, "conversions": 0}, GOOD), "'users' is 0"),
        (_conversion({"users": 10.5, "conversions": 1}, GOOD), "whole number"),
        (_conversion({"users": "many", "conversions": 1}, GOOD), "must be a number"),
        ({"metric": "conversion", "variants": {"treatment": GOOD}}, "control"),
        (_conversion(GOOD), "missing"),
        ({"metric": "conversion", "variants": {**BOTH, "zzz": GOOD}}, "unknown variant"),
        ({"metric": "visits", "variants": {"control": GOOD, "treatment": GOOD}}, "Unknown metric"),
        (_conversion({"users": 100, "sum": 5.0, "sum_squares": 9.0}, GOOD), "unknown field"),
        ({"metric": "revenue", "variants": {"control": GOOD, "treatment": GOOD}}, "unknown field"),
        ({"metric": "revenue", "variants": {"control": IMPOSSIBLE, "treatment": IMPOSSIBLE}}, "variance"),  # noqa: E501
    ],
    ids=[
        "negative-users",
        "negative-conversions",
        "conversions-above-users",
        "zero-users",
        "fractional-users",
        "text-count",
        "missing-control",
        "missing-treatment",
        "unknown-variant",
        "unknown-metric",
        "continuous-fields-on-binomial",
        "binomial-fields-on-continuous",
        "impossible-sum-of-squares",
    ],
)  # fmt: skip
def test_bad_results_are_a_400_and_change_nothing(api, running_abtest, body, message):
    before = sorted(ABResult.objects.values_list("pk", "users", "conversions", "sum"))
    response = post(api, f"/api/v1/ab-tests/{running_abtest.pk}/results/", body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert message.lower() in str(error["fields"]).lower()
    assert sorted(ABResult.objects.values_list("pk", "users", "conversions", "sum")) == before


def test_results_of_a_decided_test_are_refused_with_409(api, analyzed_abtest, member):
    from evaluation.abtests.services import abtest_decide

    abtest_decide(abtest=analyzed_abtest, user=member, outcome="ship", rationale="Revenue up.")
    body = {"metric": "conversion", "variants": RESULTS["conversion"]}
    response = post(api, f"/api/v1/ab-tests/{analyzed_abtest.pk}/results/", body)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "invalid_state"


# --- analysis ------------------------------------------------------------------------------


def test_analysis_is_404_before_the_first_analysis(api, running_abtest):
    response = api.get(f"/api/v1/ab-tests/{running_abtest.pk}/analysis/")
    assert response.status_code == 404


def test_analyze_answers_202_and_the_analysis_equals_the_engine_to_1e_6(
    api, running_abtest, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = post(api, f"/api/v1/ab-tests/{running_abtest.pk}/analyze/")
    assert response.status_code == 202
    data = api.get(f"/api/v1/ab-tests/{running_abtest.pk}/analysis/").json()
    assert data["status"] == "succeeded"
    expected = analyze(
        variants=VARIANTS_FOR_STATS, control="control", metrics=METRICS_FOR_STATS, results=RESULTS
    )
    assert data["srm_p_value"] == pytest.approx(expected["srm_p_value"], abs=1e-6)
    for metric, per_treatment in expected["metrics"].items():
        got = data["metrics"][metric]["treatment"]
        for key, value in per_treatment["treatment"].items():
            if isinstance(value, float):
                assert got[key] == pytest.approx(value, rel=1e-6, abs=1e-9), (metric, key)
            else:
                assert got[key] == value, (metric, key)


VARIANTS_FOR_STATS = [{"key": v["key"], "allocation": v["allocation"]} for v in VARIANTS]


def test_the_absolute_difference_and_srm_match_scipy_on_per_user_data(
    api, abtest, django_capture_on_commit_callbacks
):
    rng = np.random.default_rng(7)
    revenue = {"control": rng.gamma(4.0, 6.2, 1000), "treatment": rng.gamma(4.0, 6.5, 1010)}
    results = copy.deepcopy(RESULTS)
    results["revenue"] = {
        key: {"users": len(y), "sum": float(y.sum()), "sum_squares": float((y * y).sum())}
        for key, y in revenue.items()
    }
    for metric, per_variant in results.items():
        body = {"metric": metric, "variants": per_variant}
        assert post(api, f"/api/v1/ab-tests/{abtest.pk}/results/", body).status_code == 201
    with django_capture_on_commit_callbacks(execute=True):
        post(api, f"/api/v1/ab-tests/{abtest.pk}/analyze/")
    data = api.get(f"/api/v1/ab-tests/{abtest.pk}/analysis/").json()
    # SRM: chi-square goodness of fit of the users against the planned 50/50 split.
    chi = stats.chisquare([1000, 1010], [1005, 1005])
    assert data["srm_p_value"] == pytest.approx(chi.pvalue, rel=1e-6)
    # Revenue: Welch's t-test of the absolute difference on the per-user values.
    welch = stats.ttest_ind(revenue["treatment"], revenue["control"], equal_var=False)
    low, high = welch.confidence_interval(0.95)
    got = data["metrics"]["revenue"]["treatment"]
    diff = revenue["treatment"].mean() - revenue["control"].mean()
    assert got["abs_diff"] == pytest.approx(diff, rel=1e-9)
    assert got["abs_ci_low"] == pytest.approx(low, rel=1e-6)
    assert got["abs_ci_high"] == pytest.approx(high, rel=1e-6)
    assert got["users_control"] == 1000
    assert got["users_treatment"] == 1010


def test_analysis_options_are_used_and_stored(
    api, running_abtest, django_capture_on_commit_callbacks
):
    options = {
        "alpha": 0.1,
        "correction": "holm",
        "cuped": False,
        "prior": {"mean": 0, "variance": 0.09},
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = post(api, f"/api/v1/ab-tests/{running_abtest.pk}/analyze/", options)
    assert response.status_code == 202
    data = api.get(f"/api/v1/ab-tests/{running_abtest.pk}/analysis/").json()
    assert data["options"] == {
        **options,
        "prior": {"mean": 0.0, "variance": 0.09},
        "sequential": False,
        "sequential_tuning_parameter": 5000.0,
    }
    expected = analyze(
        variants=VARIANTS_FOR_STATS,
        control="control",
        metrics=METRICS_FOR_STATS,
        results=RESULTS,
        alpha=0.1,
        correction="holm",
        prior={"mean": 0, "variance": 0.09},
    )
    for metric in ("conversion", "revenue", "order_time"):
        got, want = data["metrics"][metric]["treatment"], expected["metrics"][metric]["treatment"]
        assert got["adjusted_p_value"] == pytest.approx(want["adjusted_p_value"], rel=1e-6)
        assert got["chance_to_win"] == pytest.approx(want["chance_to_win"], rel=1e-6)


def test_each_analyze_creates_a_new_version(
    api, running_abtest, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        post(api, f"/api/v1/ab-tests/{running_abtest.pk}/analyze/")
        post(api, f"/api/v1/ab-tests/{running_abtest.pk}/analyze/", {"correction": "bh"})
    versions = ABTestAnalysis.objects.filter(abtest=running_abtest).values_list(
        "version", flat=True
    )
    assert sorted(versions) == [1, 2]
    latest = api.get(f"/api/v1/ab-tests/{running_abtest.pk}/analysis/").json()
    assert latest["version"] == 2
    assert latest["options"]["correction"] == "bh"


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"alpha": 1.5}, "alpha"),
        ({"correction": "bonferroni"}, "correction"),
        ({"prior": {"mean": 0, "variance": -1}}, "prior"),
        ({"cuped": "maybe"}, "cuped"),
    ],
)
def test_bad_analysis_options_are_a_400_and_queue_nothing(api, running_abtest, options, field):
    response = post(api, f"/api/v1/ab-tests/{running_abtest.pk}/analyze/", options)
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
    assert not ABTestAnalysis.objects.exists()


def test_analyzing_without_the_primary_metrics_results_is_a_400(api, abtest):
    body = {"metric": "revenue", "variants": RESULTS["revenue"]}
    post(api, f"/api/v1/ab-tests/{abtest.pk}/results/", body)
    response = post(api, f"/api/v1/ab-tests/{abtest.pk}/analyze/")
    assert response.status_code == 400
    assert "conversion" in str(response.json()["error"]["fields"])
    assert not ABTestAnalysis.objects.exists()


def test_analyzing_a_draft_is_refused_with_409(api, abtest):
    response = post(api, f"/api/v1/ab-tests/{abtest.pk}/analyze/")
    assert response.status_code == 409


def test_a_viewer_may_read_the_analysis_but_not_request_one(viewer, client_for, analyzed_abtest):
    client = client_for(viewer)
    assert client.get(f"/api/v1/ab-tests/{analyzed_abtest.pk}/analysis/").status_code == 200
    assert post(client, f"/api/v1/ab-tests/{analyzed_abtest.pk}/analyze/").status_code == 403
    assert (
        post(
            client,
            f"/api/v1/ab-tests/{analyzed_abtest.pk}/results/",
            {"metric": "conversion", "variants": RESULTS["conversion"]},
        ).status_code
        == 403
    )


def test_the_srm_warning_is_reported_when_the_split_is_broken(
    api, abtest, django_capture_on_commit_callbacks
):
    results = copy.deepcopy(RESULTS)
    results["conversion"]["treatment"] = {"users": 1200, "conversions": 130}
    for metric, per_variant in results.items():
        post(
            api,
            f"/api/v1/ab-tests/{abtest.pk}/results/",
            {"metric": metric, "variants": per_variant},
        )
    with django_capture_on_commit_callbacks(execute=True):
        post(api, f"/api/v1/ab-tests/{abtest.pk}/analyze/")
    data = api.get(f"/api/v1/ab-tests/{abtest.pk}/analysis/").json()
    assert data["srm_p_value"] < 0.001
    assert data["srm_warning"] is True
    assert data["srm_p_value"] == pytest.approx(
        stats.chisquare([1000, 1200], [1100, 1100]).pvalue, rel=1e-6
    )


# --- sample size ---------------------------------------------------------------------------


def test_sample_size_of_a_conversion_rate_matches_statsmodels(api):
    response = api.get(
        "/api/v1/sample-size/?baseline=0.1&mde=0.05&relative=true&alpha=0.05&power=0.8"
    )
    assert response.status_code == 200
    effect = proportion_effectsize(0.105, 0.1)
    exact = NormalIndPower().solve_power(effect_size=effect, alpha=0.05, power=0.8, ratio=1)
    data = response.json()
    assert data["per_variant_exact"] == pytest.approx(exact, rel=1e-6)
    assert data["per_variant"] == int(-(-exact // 1))
    assert data["total"] == 2 * data["per_variant"]


def test_sample_size_of_a_mean_matches_statsmodels_with_variants_and_days(api):
    response = api.get(
        "/api/v1/sample-size/?mean=25&sd=10&mde=1&relative=false&alpha=0.05&power=0.9"
        "&variants=3&daily_users=500"
    )
    assert response.status_code == 200
    exact = TTestIndPower().solve_power(effect_size=0.1, alpha=0.05, power=0.9, ratio=1)
    data = response.json()
    assert data["per_variant_exact"] == pytest.approx(exact, rel=1e-6)
    assert data["variants"] == 3
    assert data["days"] == -(-data["total"] // 500)


@pytest.mark.parametrize(
    "query",
    [
        "mde=0.05",
        "baseline=1.5&mde=0.05",
        "baseline=0.1&mde=0",
        "baseline=0.1&mde=0.05&alpha=2",
        "baseline=0.1&mde=abc",
        "sd=10&mde=0.05&relative=true",
    ],
)
def test_bad_sample_size_input_is_a_400(api, query):
    response = api.get(f"/api/v1/sample-size/?{query}")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"


# --- JSON types ----------------------------------------------------------------------------

CONTROL = {"key": "control", "allocation": 0.5}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"name": 5}, "name"),
        ({"variants": [{**CONTROL, "allocation": "0.5"}, ARM("b", 0.5)]}, "variants"),
        ({"metrics": [{**BINOMIAL("a"), "type": 1}]}, "metrics"),
        ({"metrics": [{**BINOMIAL("a"), "direction": True}]}, "metrics"),
        ({"metrics": [{**BINOMIAL("a"), "quantile_level": "0.5"}]}, "metrics"),
        ({"planned_days": "14"}, "planned_days"),
        ({"planned_days": 14.5}, "planned_days"),
        ({"planned_users_per_variant": True}, "planned_users_per_variant"),
        ({"objective": "1"}, "objective"),
        ({"objective": 2**70}, "objective"),
        ({"business_metric": 1.0}, "business_metric"),
        ({"sequential_testing": 1}, "sequential_testing"),
        ({"sequential_testing": "true"}, "sequential_testing"),
        ({"sequential_tuning_parameter": "5000"}, "sequential_tuning_parameter"),
    ],
)  # fmt: skip
def test_a_wrong_json_type_in_a_design_is_a_400_naming_the_field(api, project, change, field):
    response = post(api, f"/api/v1/projects/{project.pk}/ab-tests/", {**CONTRACT_BODY, **change})
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
    assert not ABTest.objects.exists()


def test_a_result_given_as_a_string_is_a_400_that_changes_nothing(api, running_abtest):
    before = sorted(ABResult.objects.values_list("pk", "users"))
    variants = {**RESULTS["conversion"], "control": {"users": "1000", "conversions": 100}}
    body = {"metric": "conversion", "variants": variants}
    response = post(api, f"/api/v1/ab-tests/{running_abtest.pk}/results/", body)
    assert response.status_code == 400
    assert "variants" in response.json()["error"]["fields"]
    assert sorted(ABResult.objects.values_list("pk", "users")) == before


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"alpha": "0.05"}, "alpha"),
        ({"correction": 0}, "correction"),
        ({"cuped": 1}, "cuped"),
        ({"sequential": "false"}, "sequential"),
        ({"sequential_tuning_parameter": True}, "sequential_tuning_parameter"),
        ({"prior": {"mean": "0", "variance": 1}}, "prior"),
    ],
)
def test_a_wrong_json_type_in_analysis_options_is_a_400(api, running_abtest, options, field):
    response = post(api, f"/api/v1/ab-tests/{running_abtest.pk}/analyze/", options)
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
    assert not ABTestAnalysis.objects.exists()
