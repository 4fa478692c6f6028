"""The metric-evaluation engine: pure numpy/pyarrow, no Django.

Typical use (e.g. from the Celery task)::

    from evaluation.metrics import EvaluationInputError, evaluate, read_predictions

    try:
        read = read_predictions(path, mapping=mapping, progress=report_progress)
        result = evaluate(task="binary", columns=read.columns, options=options)
    except EvaluationInputError as exc:
        fail_with(str(exc))   # the message is written for the uploader

Modules: `io` (reading, column auto-detection), `validation`, `binary`, `multiclass`,
`regression`, `ranking`, `baselines`, `rules`, `slices`, `tradeoff`, `engine`.
"""

from ._common import HIGHER_IS_BETTER, TASKS
from .baselines import lift
from .binary import binary_metrics, binary_report
from .engine import PRIMARY_METRIC, EvaluationOptions, compare, evaluate
from .errors import EvaluationInputError, InputLimitError
from .io import ReadResult, detect_format, read_header, read_predictions, suggest_mapping
from .multiclass import multiclass_report
from .ranking import ranking_metrics, ranking_per_group
from .regression import regression_metrics, residual_distribution
from .rules import RuleSet, apply_rules, parse_rules
from .tradeoff import tradeoff_curve
from .validation import PreparedData, prepare_columns

__all__ = [
    "HIGHER_IS_BETTER",
    "PRIMARY_METRIC",
    "TASKS",
    "EvaluationInputError",
    "EvaluationOptions",
    "InputLimitError",
    "PreparedData",
    "ReadResult",
    "RuleSet",
    "apply_rules",
    "binary_metrics",
    "binary_report",
    "compare",
    "detect_format",
    "evaluate",
    "lift",
    "multiclass_report",
    "parse_rules",
    "prepare_columns",
    "ranking_metrics",
    "ranking_per_group",
    "read_header",
    "read_predictions",
    "regression_metrics",
    "residual_distribution",
    "suggest_mapping",
    "tradeoff_curve",
]
