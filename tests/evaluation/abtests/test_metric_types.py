"""Ratio and quantile metrics, CUPED on ratios, sequential testing and zero-variance arms,
end to end through the services (design → results or raw upload → analysis → page), with
the numbers checked against GrowthBook's gbstats 0.8.0 computed from the same raw rows, or
against the statistics engine where gbstats 0.8.0 has no such test (CUPED on ratios)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from scipy import stats

from evaluation.abtests import jobs, services, state
from evaluation.models import ABResult, ABTestAnalysis
from evaluation.stats import (
    RatioCupedInput,
    fisher_exact_p_value,
    frequentist_test,
    ratio_cuped_adjust,
)
from tests.evaluation.stats._helpers import load_gbstats

gbstats = load_gbstats()
needs_gbstats = pytest.mark.skipif(gbstats is None, reason="gbstats 0.8.0 is not importable")
if gbstats is not None:
    from gbstats.frequentist.tests import (
        FrequentistConfig,
        SequentialConfig,
        SequentialTwoSidedTTest,
        TwoSidedTTest,
    )
    from gbstats.models.statistics import QuantileStatistic, RatioStatistic, SampleMeanStatistic

REL = 1e-6
VARIANTS = [{"key": "control", "allocation": 0.5}, {"key": "treatment", "allocation": 0.5}]
METRICS = [
    {"key": "conversion", "type": "binomial", "role": "primary"},
    {"key": "aov", "type": "ratio", "role": "secondary", "description": "Revenue per order"},
    {"key": "latency", "type": "quantile", "quantile_level": 0.9, "role": "guardrail"},
]
N_STAR_GRID = (100, 200, 500, 1_000, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000)


def raw_rows(seed: int = 11, n: int = 6_000) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    variant = np.where(rng.random(n) < 0.5, "control", "treatment")
    treated = variant == "treatment"
    orders = rng.poisson(1.4, n).astype(float)
    revenue = orders * rng.gamma(3.0, 10.0 * np.where(treated, 1.06, 1.0), n)
    return pd.DataFrame(
        {
            "variant": variant,
            "conversion": (rng.random(n) < np.where(treated, 0.13, 0.11)).astype(int),
            "aov_numerator": revenue,
            "aov_denominator": orders,
            "latency": rng.lognormal(np.where(treated, 5.0, 5.05), 0.5, n),
        }
    )


def gb_ratio(part: pd.DataFrame):
    m, d = part["aov_numerator"].to_numpy(), part["aov_denominator"].to_numpy()
    n = m.size
    return RatioStatistic(
        n=n,
        m_statistic=SampleMeanStatistic(n=n, sum=m.sum(), sum_squares=(m * m).sum()),
        d_statistic=SampleMeanStatistic(n=n, sum=d.sum(), sum_squares=(d * d).sum()),
        m_d_sum_of_products=(m * d).sum(),
    )


def gb_quantile(values: np.ndarray, nu: float):
    """GrowthBook's quantile inputs computed here from the raw values, independently of
    the product's own aggregation."""
    n = values.size
    n_star = max([g for g in N_STAR_GRID if g < n] or [N_STAR_GRID[0]])
    spread = stats.norm.ppf(0.975) * np.sqrt(nu * (1 - nu) / n_star)
    lower, upper = np.quantile(values, [nu - spread, nu + spread])
    return QuantileStatistic(
        n=n,
        n_star=n_star,
        nu=nu,
        quantile_hat=float(np.quantile(values, nu)),
        quantile_lower=float(lower),
        quantile_upper=float(upper),
    )


def run_analysis(abtest, member, **options) -> dict:
    analysis = services.abtest_analysis_request(
        abtest=abtest, user=member, options=options or None, enqueue=False
    )
    jobs.abtest_analysis_run(analysis_id=analysis.pk)
    analysis.refresh_from_db()
    assert analysis.status == "succeeded", analysis.error
    return analysis.result


def assert_matches(entry: dict, relative, absolute) -> None:
    assert entry["lift"] == pytest.approx(relative.expected, rel=REL)
    assert entry["ci_low"] == pytest.approx(relative.ci[0], rel=REL)
    assert entry["ci_high"] == pytest.approx(relative.ci[1], rel=REL)
    assert entry["p_value"] == pytest.approx(relative.p_value, rel=REL)
    assert entry["abs_diff"] == pytest.approx(absolute.expected, rel=REL)
    assert entry["abs_ci_low"] == pytest.approx(absolute.ci[0], rel=REL)
    assert entry["abs_ci_high"] == pytest.approx(absolute.ci[1], rel=REL)


@pytest.fixture
def typed_abtest(project, member):
    return services.abtest_create(
        project=project,
        user=member,
        name="Faster checkout",
        hypothesis="A one-page checkout raises order value without slowing pages.",
        variants=VARIANTS,
        metrics=METRICS,
    )


def upload_rows(abtest, member, frame: pd.DataFrame, capture) -> None:
    content = frame.to_csv(index=False).encode()
    file = SimpleUploadedFile("rows.csv", content, content_type="text/csv")
    with capture(execute=True):
        upload = services.abtest_raw_upload_create(abtest=abtest, user=member, file=file)
    upload.refresh_from_db()
    assert upload.status == "succeeded", upload.error


# --- design ----------------------------------------------------------------------------------


def test_a_quantile_metric_keeps_its_level_and_a_ratio_its_type(typed_abtest):
    metrics = {m.key: m for m in typed_abtest.metrics.all()}
    assert metrics["aov"].type == "ratio" and metrics["aov"].quantile_level is None
    assert metrics["latency"].quantile_level == 0.9


@pytest.mark.parametrize(
    ("metric", "message"),
    [
        ({"key": "p90", "type": "quantile"}, "needs 'quantile_level'"),
        ({"key": "p90", "type": "quantile", "quantile_level": 1.5}, "strictly between 0 and 1"),
        ({"key": "aov", "type": "ratio", "quantile_level": 0.5}, "only for quantile metrics"),
    ],
)
def test_a_bad_quantile_level_is_refused_with_the_engines_message(project, member, metric, message):
    with pytest.raises(state.ValidationError, match=message):
        services.abtest_create(
            project=project,
            user=member,
            name="t",
            hypothesis="h",
            variants=VARIANTS,
            metrics=[{**metric, "role": "primary"}],
        )


def test_a_non_positive_tuning_parameter_is_refused(project, member):
    with pytest.raises(state.ValidationError, match="positive number of users"):
        services.abtest_create(
            project=project,
            user=member,
            name="t",
            hypothesis="h",
            variants=VARIANTS,
            metrics=METRICS[:1],
            sequential_testing=True,
            sequential_tuning_parameter=0,
        )


# --- raw rows → aggregates → analysis, against gbstats ---------------------------------------


@needs_gbstats
def test_ratio_and_quantile_from_raw_rows_match_gbstats(
    typed_abtest, member, django_capture_on_commit_callbacks
):
    frame = raw_rows()
    upload_rows(typed_abtest, member, frame, django_capture_on_commit_callbacks)
    saved = {
        (r.metric.key, r.variant.key): r
        for r in ABResult.objects.select_related("metric", "variant")
    }
    assert saved[("aov", "control")].aggregates["numerator_sum"] == pytest.approx(
        frame.loc[frame.variant == "control", "aov_numerator"].sum(), rel=1e-12
    )
    result = run_analysis(typed_abtest, member)
    assert result["mode"] == {"sequential": False, "sequential_tuning_parameter": None}
    control, treatment = (frame[frame.variant == k] for k in ("control", "treatment"))
    relative = TwoSidedTTest(gb_ratio(control), gb_ratio(treatment)).compute_result()
    absolute = TwoSidedTTest(
        gb_ratio(control), gb_ratio(treatment), FrequentistConfig(difference_type="absolute")
    ).compute_result()
    assert_matches(result["metrics"]["aov"]["treatment"], relative, absolute)
    qc = gb_quantile(control["latency"].to_numpy(), 0.9)
    qt = gb_quantile(treatment["latency"].to_numpy(), 0.9)
    relative = TwoSidedTTest(qc, qt).compute_result()
    absolute = TwoSidedTTest(qc, qt, FrequentistConfig(difference_type="absolute")).compute_result()
    assert_matches(result["metrics"]["latency"]["treatment"], relative, absolute)


@needs_gbstats
def test_sequential_testing_set_on_the_test_gives_gbstats_always_valid_intervals(
    project, member, django_capture_on_commit_callbacks
):
    abtest = services.abtest_create(
        project=project,
        user=member,
        name="Peeked daily",
        hypothesis="h",
        variants=VARIANTS,
        metrics=METRICS,
        sequential_testing=True,
        sequential_tuning_parameter=2_000,
    )
    frame = raw_rows(seed=5)
    upload_rows(abtest, member, frame, django_capture_on_commit_callbacks)
    result = run_analysis(abtest, member, alpha=0.1)
    assert result["mode"] == {"sequential": True, "sequential_tuning_parameter": 2000.0}
    control, treatment = (frame[frame.variant == k] for k in ("control", "treatment"))
    for key, pair in {
        "aov": (gb_ratio(control), gb_ratio(treatment)),
        "latency": (
            gb_quantile(control["latency"].to_numpy(), 0.9),
            gb_quantile(treatment["latency"].to_numpy(), 0.9),
        ),
    }.items():
        config = {"alpha": 0.1, "sequential_tuning_parameter": 2_000}
        relative = SequentialTwoSidedTTest(*pair, SequentialConfig(**config)).compute_result()
        absolute = SequentialTwoSidedTTest(
            *pair, SequentialConfig(**config, difference_type="absolute")
        ).compute_result()
        assert_matches(result["metrics"][key]["treatment"], relative, absolute)
    # The fixed-horizon interval of the same data is narrower: that is the price.
    fixed = run_analysis(abtest, member, alpha=0.1, sequential=False)
    seq_entry, fixed_entry = (
        result["metrics"]["aov"]["treatment"],
        fixed["metrics"]["aov"]["treatment"],
    )
    assert (
        seq_entry["ci_high"] - seq_entry["ci_low"] > fixed_entry["ci_high"] - fixed_entry["ci_low"]
    )


# --- CUPED on ratios: the service equals the engine ------------------------------------------


def ratio_cuped_sums(seed: int, lift: float) -> dict:
    rng = np.random.default_rng(seed)
    n = 3_000
    rate, basket = rng.gamma(2.0, 1.0, n), rng.gamma(4.0, 5.0, n)
    dp, d = rng.poisson(rate).astype(float), rng.poisson(rate).astype(float)
    mp = dp * basket * rng.gamma(20.0, 0.05, n)
    m = d * basket * (1 + lift) * rng.gamma(20.0, 0.05, n)

    def total(*arrays):
        return float(np.prod(arrays, axis=0).sum())

    return {
        "users": n,
        "numerator_sum": total(m),
        "numerator_sum_squares": total(m, m),
        "denominator_sum": total(d),
        "denominator_sum_squares": total(d, d),
        "sum_products": total(m, d),
        "pre_numerator_sum": total(mp),
        "pre_numerator_sum_squares": total(mp, mp),
        "pre_denominator_sum": total(dp),
        "pre_denominator_sum_squares": total(dp, dp),
        "numerator_pre_numerator_sum_products": total(m, mp),
        "numerator_pre_denominator_sum_products": total(m, dp),
        "denominator_pre_numerator_sum_products": total(d, mp),
        "denominator_pre_denominator_sum_products": total(d, dp),
        "pre_numerator_pre_denominator_sum_products": total(mp, dp),
    }


def test_cuped_on_a_ratio_through_the_service_equals_the_engine(project, member):
    abtest = services.abtest_create(
        project=project,
        user=member,
        name="Basket",
        hypothesis="h",
        variants=VARIANTS,
        metrics=[{"key": "aov", "type": "ratio", "role": "primary"}],
    )
    arms = {"control": ratio_cuped_sums(1, 0.0), "treatment": ratio_cuped_sums(2, 0.04)}
    state.abtest_results_set(abtest=abtest, user=member, results={"aov": arms}, source="api")
    services.abtest_stop(abtest=abtest, user=member, analyse=False)
    entry = run_analysis(abtest, member, cuped=True)["metrics"]["aov"]["treatment"]

    def engine_input(sums: dict) -> RatioCupedInput:
        data = dict(sums)
        data["numerator_denominator_sum_products"] = data.pop("sum_products")
        return RatioCupedInput(**data)

    adjusted = ratio_cuped_adjust(
        control=engine_input(arms["control"]), treatment=engine_input(arms["treatment"])
    )
    assert adjusted.theta != 0
    expected = frequentist_test(
        control=adjusted.control,
        treatment=adjusted.treatment,
        relative_variance=adjusted.relative_variance,
    )
    assert entry["lift"] == pytest.approx(expected.relative.estimate, rel=REL)
    assert entry["ci_low"] == pytest.approx(expected.relative.ci_low, rel=REL)
    assert entry["p_value"] == pytest.approx(expected.relative.p_value, rel=REL)
    plain = run_analysis(abtest, member, cuped=False)["metrics"]["aov"]["treatment"]
    # CUPED removes the users' persistent basket size: a narrower interval.
    assert entry["ci_high"] - entry["ci_low"] < plain["ci_high"] - plain["ci_low"]


# --- zero variance: declined, or Fisher's exact test, and said so on the page -----------------


def test_a_100_percent_arm_gets_fishers_exact_p_and_the_page_says_so(
    org, project, member, client_for
):
    abtest = services.abtest_create(
        project=project,
        user=member,
        name="Always converts",
        hypothesis="h",
        variants=VARIANTS,
        metrics=[
            {"key": "conversion", "type": "binomial", "role": "primary"},
            {"key": "spend", "type": "continuous", "role": "secondary"},
        ],
    )
    results = {
        "conversion": {
            "control": {"users": 400, "conversions": 400},
            "treatment": {"users": 400, "conversions": 396},
        },
        "spend": {
            "control": {"users": 400, "sum": 4000.0, "sum_squares": 40000.0},
            "treatment": {"users": 400, "sum": 4100.0, "sum_squares": 43000.0},
        },
    }
    state.abtest_results_set(abtest=abtest, user=member, results=results, source="api")
    services.abtest_stop(abtest=abtest, user=member, analyse=False)
    result = run_analysis(abtest, member)
    entry = result["metrics"]["conversion"]["treatment"]
    expected = fisher_exact_p_value(
        control_users=400, control_conversions=400, treatment_users=400, treatment_conversions=396
    )
    assert entry["p_value"] == pytest.approx(expected, rel=1e-12)
    assert entry["p_value"] == pytest.approx(0.124, abs=5e-4)
    assert entry["significant"] is False
    assert result["metrics"]["spend"]["treatment"]["ci_low"] is None
    page = client_for(member).get(f"/o/{org.slug}/projects/{project.slug}/ab-tests/{abtest.pk}/")
    html = page.content.decode()
    assert 'id="fisher-conversion-treatment"' in html
    assert 'id="declined-spend-treatment"' in html
    assert "Not tested:" in html and "zero variance" in html
    assert "Fixed-horizon test" in html


def test_the_page_says_when_sequential_testing_is_on(org, project, member, client_for):
    abtest = services.abtest_create(
        project=project,
        user=member,
        name="Daily look",
        hypothesis="h",
        variants=VARIANTS,
        metrics=[{"key": "conversion", "type": "binomial", "role": "primary"}],
        sequential_testing=True,
    )
    state.abtest_results_set(
        abtest=abtest,
        user=member,
        results={
            "conversion": {
                "control": {"users": 5000, "conversions": 500},
                "treatment": {"users": 5000, "conversions": 560},
            }
        },
        source="api",
    )
    run_analysis(abtest, member)
    html = (
        client_for(member)
        .get(f"/o/{org.slug}/projects/{project.slug}/ab-tests/{abtest.pk}/")
        .content.decode()
    )
    assert "Sequential testing is on" in html and "tuning parameter 5,000" in html
    assert ABTestAnalysis.objects.get(abtest=abtest).options["sequential"] is True


def test_the_design_form_takes_a_ratio_a_quantile_and_sequential_settings(
    org, project, member, client_for
):
    from .test_views import base, design_post

    data = design_post(
        **{
            "metrics-1-key": "p90_latency",
            "metrics-1-type": "quantile",
            "metrics-1-quantile_level": "0.9",
            "sequential_testing": "on",
            "sequential_tuning_parameter": "20000",
        }
    )
    response = client_for(member).post(base(org, project) + "new/", data)
    assert response.status_code == 302
    abtest = project.abtests.get()
    assert abtest.sequential_testing and abtest.sequential_tuning_parameter == 20_000
    assert abtest.metrics.get(key="p90_latency").quantile_level == 0.9


def test_a_ratio_results_form_asks_for_the_sums_and_cross_products(
    org, project, member, client_for, typed_abtest
):
    html = (
        client_for(member)
        .get(f"/o/{org.slug}/projects/{project.slug}/ab-tests/{typed_abtest.pk}/")
        .content.decode()
    )
    assert "Σ numerator × denominator" in html
    assert "Lower bound" in html
