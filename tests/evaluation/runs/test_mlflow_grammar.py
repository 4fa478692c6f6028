"""The search grammar on its own, against the database: LIKE's wildcards and escapes, keys
that look like numbers or contain dots, and the parser's errors. (The behaviours MLflow's
tests specify are checked end to end, with the client, in test_mlflow_search.py.)"""

import math
import re

import pytest

from evaluation.models import Run
from evaluation.runs.mlflow.search import (
    SearchSyntaxError,
    filter_runs,
    order_runs,
    parse_filter,
)
from evaluation.runs.services import MetricPoint, run_log_batch
from tests.factories import RunFactory


def found(project, text: str) -> list[str]:
    return sorted(
        filter_runs(Run.objects.filter(project=project), text).values_list("name", flat=True)
    )


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("50%", ["50%", "500", "50_x", "50\\n"]),
        ("50\\%", ["50%"]),  # a backslash escapes a wildcard
        ("50\\_x", ["50_x"]),
        ("50_", ["50%", "500"]),
        ("50\\\\n", ["50\\n"]),  # and itself
        ("%.%", ["a.b"]),  # regular-expression characters are plain characters
        ("a(b", ["a(b"]),
        ("[x]", ["[x]"]),
        ("%\n%", ["two\nlines"]),
        ("%", ["50%", "500", "50_x", "50\\n", "A", "a(b", "a.b", "two\nlines", "[x]", "é"]),
        ("É", []),
    ],
)
def test_like_has_sql_wildcards_and_backslash_escapes(project, pattern, expected):
    for value in ["50%", "500", "50_x", "50\\n", "A", "a(b", "a.b", "two\nlines", "[x]", "é"]:
        RunFactory(project=project, name=value, params={"p": value})
    quoted = pattern.replace("'", "''")
    assert found(project, f"params.p LIKE '{quoted}'") == sorted(expected)


def test_ilike_ignores_case_also_beyond_ascii(project):
    RunFactory(project=project, name="upper", params={"p": "ÉCOLE"})
    RunFactory(project=project, name="lower", params={"p": "école"})
    assert found(project, "params.p ILIKE 'éc%'") == ["lower", "upper"]
    assert found(project, "params.p LIKE 'éc%'") == ["lower"]


def test_keys_that_look_like_numbers_or_paths_are_keys(project):
    run = RunFactory(project=project, name="r", params={"1": "one", "a.b": "x", "0": "z"})
    run_log_batch(run=run, metrics=[MetricPoint("2", 5.0), MetricPoint("val/loss", 0.5)])
    assert found(project, "params.`1` = 'one'") == ["r"]
    assert found(project, "params.\"a.b\" = 'x' and params.a.b = 'x'") == ["r"]
    assert found(project, "metrics.`2` > 4 and metrics.val/loss < 1") == ["r"]
    assert found(project, "params.`0` IS NOT NULL") == ["r"]


def test_quotes_are_doubled_inside_a_value(project):
    RunFactory(project=project, name="r", params={"p": "it's"})
    assert found(project, "params.p = 'it''s'") == ["r"]
    assert found(project, 'params.p = "it\'s"') == ["r"]


def test_keywords_and_spaces_are_free(project):
    RunFactory(project=project, name="r", params={"p": "a"}, tags={"t": "b"})
    assert found(project, "  params.p='a'   and   tags.t != 'x'  ") == ["r"]
    assert found(project, "params.p = 'a' AnD tags.t is not null") == ["r"]


def test_metric_nan_sorts_after_numbers_before_missing_both_ways(project):
    for name, value in [("nan", math.nan), ("two", 2.0), ("inf", math.inf), ("missing", None)]:
        run = RunFactory(project=project, name=name)
        if value is not None:
            run_log_batch(run=run, metrics=[MetricPoint("x", value)])
    runs = Run.objects.filter(project=project)
    assert [r.name for r in order_runs(runs, ["metrics.x"])] == ["two", "inf", "nan", "missing"]
    assert [r.name for r in order_runs(runs, ["metrics.x DESC"])] == [
        "inf",
        "two",
        "nan",
        "missing",
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("params.p", "ends too early"),
        ("params.p =", "ends too early"),
        ("params.p = 'a' AND", "ends too early"),
        ("= 'a'", "Expected an identifier"),
        ("params.p == 'a'", "Expected a value"),
        ("params.p IN 'a'", "list of quoted strings"),
        ("params.p IN ('a' 'b')", "Expected ',' or ')'"),
        ("params.p IN (1, 2)", "list of quoted strings"),
        ("params. = 'a'", "Could not parse"),
        ("params.p = 'a' OR params.p = 'b'", "OR is not supported"),
        ("params.p = 'a'; DROP TABLE x", "Could not parse"),
        (" AND ".join(["params.p = 'a'"] * 51), "At most 50"),
    ],
)
def test_a_filter_that_cannot_be_read_says_why(text, message):
    with pytest.raises(SearchSyntaxError, match=re.escape(message)):
        parse_filter(text)
