"""Pure A/B-test statistics engine (no Django): frequentist, sequential and Bayesian tests
of means, proportions, ratios and quantiles, Fisher's exact test, SRM, multiple-comparison
correction, CUPED (on means and ratios), guardrails, sample-size planning and raw-row
aggregation. Every public function is keyword-only over plain numbers and returns
dataclasses or JSON-safe dictionaries (None, never NaN, for undefined values)."""

from evaluation.stats.aggregate import aggregate_file
from evaluation.stats.analysis import RESULT_KEYS, analyze
from evaluation.stats.bayesian import (
    BayesianResult,
    GaussianPrior,
    bayesian_test,
    normal_risk,
    posterior,
)
from evaluation.stats.cuped import CupedInput, CupedResult, cuped_adjust, cuped_theta
from evaluation.stats.exact import fisher_exact_p_value
from evaluation.stats.frequentist import (
    EffectEstimate,
    FrequentistResult,
    frequentist_test,
    relative_lift_variance,
    welch_dof,
)
from evaluation.stats.guardrails import guardrail_breach
from evaluation.stats.inputs import (
    BinomialAggregate,
    ContinuousAggregate,
    Covariate,
    Metric,
    StatsInputError,
    Variant,
    expand_mean_sd,
    parse_aggregate,
    parse_count,
    parse_metrics,
    parse_results,
    parse_variants,
    sums_from_mean_sd,
)
from evaluation.stats.multiple import adjust_p_values
from evaluation.stats.quantile import quantile_clustered_statistics, quantile_statistics
from evaluation.stats.ratio import (
    RatioCupedInput,
    RatioCupedResult,
    ratio_cuped_adjust,
    ratio_cuped_theta,
    ratio_statistics,
)
from evaluation.stats.sample_size import (
    SampleSizeResult,
    normal_power,
    sample_size_binomial,
    sample_size_continuous,
    t_power,
)
from evaluation.stats.sequential import (
    DEFAULT_SEQUENTIAL_TUNING_PARAMETER,
    SequentialResult,
    sequential_rho_squared,
    sequential_test,
)
from evaluation.stats.srm import SRM_THRESHOLD, SrmResult, srm_test
from evaluation.stats.statistics import (
    Note,
    VariantStatistics,
    binomial_statistics,
    continuous_statistics,
    statistics_from_aggregate,
)

__all__ = [
    "expand_mean_sd",
    "sums_from_mean_sd",
    "DEFAULT_SEQUENTIAL_TUNING_PARAMETER",
    "RESULT_KEYS",
    "SRM_THRESHOLD",
    "BayesianResult",
    "BinomialAggregate",
    "ContinuousAggregate",
    "Covariate",
    "CupedInput",
    "CupedResult",
    "EffectEstimate",
    "FrequentistResult",
    "GaussianPrior",
    "Metric",
    "Note",
    "RatioCupedInput",
    "RatioCupedResult",
    "SampleSizeResult",
    "SequentialResult",
    "SrmResult",
    "StatsInputError",
    "Variant",
    "VariantStatistics",
    "adjust_p_values",
    "aggregate_file",
    "analyze",
    "bayesian_test",
    "binomial_statistics",
    "continuous_statistics",
    "cuped_adjust",
    "cuped_theta",
    "fisher_exact_p_value",
    "frequentist_test",
    "guardrail_breach",
    "normal_power",
    "normal_risk",
    "parse_aggregate",
    "parse_count",
    "parse_metrics",
    "parse_results",
    "parse_variants",
    "posterior",
    "quantile_clustered_statistics",
    "quantile_statistics",
    "ratio_cuped_adjust",
    "ratio_cuped_theta",
    "ratio_statistics",
    "relative_lift_variance",
    "sample_size_binomial",
    "sample_size_continuous",
    "sequential_rho_squared",
    "sequential_test",
    "srm_test",
    "statistics_from_aggregate",
    "t_power",
    "welch_dof",
]
