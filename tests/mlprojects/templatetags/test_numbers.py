"""The one number formatter of the pages: significant digits, no exponent for ordinary
values, ties without a sign."""

import math

import pytest

from mlprojects.templatetags.numbers import metric, number, signed, tie


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0.9111083268826564, "0.9111"),
        (0.2214342001576044, "0.2214"),
        (12345.6, "12,346"),
        (1234.5678, "1,235"),
        (12.5, "12.5"),
        (0.5, "0.5"),
        (100.0, "100"),
        (1200, "1,200"),
        (0.000123456, "0.0001235"),
        (0.0000123, "1.230e-05"),
        (-3.14159, "-3.142"),
        (0.0, "0"),
        (None, "—"),
        (math.inf, "∞"),
    ],
)
def test_number_keeps_four_significant_digits(value, text):
    assert number(value) == text


def test_number_takes_more_digits_when_asked():
    assert number(24812.3456, 6) == "24,812.3"


@pytest.mark.parametrize("value", [0.0, 0.00001, -0.00004])
def test_a_difference_that_rounds_to_zero_is_a_tie_without_a_sign(value):
    assert tie(value)
    assert signed(value) == "0.0000"


def test_a_real_difference_keeps_its_sign():
    assert (signed(0.0123), signed(-0.0001), tie(0.0001)) == ("+0.0123", "-0.0001", False)


def test_metric_values_keep_four_decimals():
    assert (metric(0.91110832), metric(0.0001234), metric(1234.56)) == (
        "0.9111",
        "1.23e-04",
        "1,234.6",
    )
