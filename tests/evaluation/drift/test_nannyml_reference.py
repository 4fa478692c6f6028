"""CBPE against NannyML 0.13.1's CBPE for binary classification.

Cases: a well-calibrated model (NannyML decides no calibration is needed), over- and
under-confident models (calibration needed), scores with heavy ties, a near-perfect model
(ROC AUC > 0.999, never calibrated), and analysis windows with and without covariate shift.
NannyML runs once for all cases with one analysis chunk each (see `_reference`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from evaluation.drift import cbpe_estimate, cbpe_fit, needs_calibration

from ._reference import reference_python, run_reference

REFERENCE, WHY_NOT = reference_python()
pytestmark = pytest.mark.skipif(REFERENCE is None, reason=f"NannyML reference: {WHY_NOT}")

RTOL = 1e-9
KINDS = ["calibrated", "overconfident", "underconfident", "ties", "near_perfect"]
CASES = [
    (kind, seed, ref_rows, cur_rows, shift)
    for i, kind in enumerate(KINDS)
    for seed, ref_rows, cur_rows, shift in [
        (10 * i, 3000, 1500, 0.0),
        (10 * i + 1, 5000, 2000, 0.7),
        (10 * i + 2, 1200, 800, -0.5),
    ]
]
NAMES = {
    "true_positive": "tp",
    "false_positive": "fp",
    "false_negative": "fn",
    "true_negative": "tn",
}


def make_rows(kind: str, seed: int, rows: int, shift: float) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    latent = rng.normal(loc=shift, size=rows)
    truth = 1 / (1 + np.exp(-(1.5 * latent - 0.4)))
    if kind == "near_perfect":
        truth = 1 / (1 + np.exp(-(40 * latent)))
    y = (rng.random(rows) < truth).astype(np.int64)
    score = {
        "calibrated": truth,
        "overconfident": 1 / (1 + np.exp(-(3.0 * (1.5 * latent - 0.4)))),
        "underconfident": 0.25 + 0.5 * truth,
        "ties": np.round(truth, 2),
        "near_perfect": truth,
    }[kind]
    return pd.DataFrame({"score": score, "pred": (score >= 0.5).astype(np.int64), "y": y})


def frames(kind: str, seed: int, ref_rows: int, cur_rows: int, shift: float):
    reference = make_rows(kind, seed, ref_rows, 0.0)
    analysis = make_rows(kind, seed + 1000, cur_rows, shift).drop(columns="y")
    return reference, analysis


@pytest.fixture(scope="module")
def nannyml(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    cases = []
    for kind, seed, ref_rows, cur_rows, shift in CASES:
        reference, analysis = frames(kind, seed, ref_rows, cur_rows, shift)
        cases.append({"id": f"{kind}-{seed}", "reference": reference, "analysis": analysis})
    return run_reference("cbpe", cases, tmp_path_factory.mktemp("nannyml"))


def ours(kind: str, seed: int, ref_rows: int, cur_rows: int, shift: float):
    reference, analysis = frames(kind, seed, ref_rows, cur_rows, shift)
    model = cbpe_fit(scores=reference["score"], targets=reference["y"])
    return (
        model,
        analysis,
        cbpe_estimate(model, scores=analysis["score"], predictions=analysis["pred"]),
    )


PARAMS = pytest.mark.parametrize(("kind", "seed", "ref_rows", "cur_rows", "shift"), CASES)


@PARAMS
def test_calibration_is_needed_exactly_when_nannyml_decides_it_is(
    nannyml, kind, seed, ref_rows, cur_rows, shift
):
    model, _, _ = ours(kind, seed, ref_rows, cur_rows, shift)
    assert model.calibrated == nannyml[f"{kind}-{seed}"]["needs_calibration"]


@PARAMS
def test_isotonic_calibration_gives_nannyml_probabilities(
    nannyml, kind, seed, ref_rows, cur_rows, shift
):
    theirs = nannyml[f"{kind}-{seed}"]
    if not theirs["needs_calibration"]:
        pytest.skip("NannyML does not calibrate this model")
    model, analysis, _ = ours(kind, seed, ref_rows, cur_rows, shift)
    np.testing.assert_allclose(
        model.probabilities(analysis["score"].to_numpy()),
        theirs["calibrated"],
        rtol=1e-12,
        atol=1e-15,
    )


@PARAMS
def test_estimated_metrics_and_confusion_matrix_equal_nannyml(
    nannyml, kind, seed, ref_rows, cur_rows, shift
):
    theirs = nannyml[f"{kind}-{seed}"]["estimates"]
    estimate = ours(kind, seed, ref_rows, cur_rows, shift)[2].as_dict()
    for name, expected in theirs.items():
        value = estimate[NAMES.get(name, name)]
        assert value == pytest.approx(expected, rel=RTOL, abs=1e-12), name


def test_cases_include_models_that_need_calibration_and_models_that_do_not(nannyml):
    decisions = {case["needs_calibration"] for case in nannyml.values()}
    assert decisions == {True, False}


# Models close to calibrated, where the held-out ECE comparison goes either way: the
# decision hinges on reproducing NannyML's splits and its ECE bins exactly.
BORDERLINE = [(seed, rows) for seed in range(24) for rows in ([400, 1000, 2500][seed % 3],)]


def borderline_reference(seed: int, rows: int) -> pd.DataFrame:
    rng = np.random.default_rng(500 + seed)
    score = rng.beta(2, 3, size=rows)
    wobble = 1 + (seed % 4 - 1.5) * 0.04  # from slightly under- to slightly over-confident
    truth = np.clip(0.5 + (score - 0.5) * wobble, 0, 1)
    return pd.DataFrame({"score": score, "y": (rng.random(rows) < truth).astype(np.int64)})


@pytest.fixture(scope="module")
def nannyml_decisions(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    cases = [
        {"id": f"b{seed}", "reference": borderline_reference(seed, rows)}
        for seed, rows in BORDERLINE
    ]
    return run_reference("calibration", cases, tmp_path_factory.mktemp("calibration"))


def test_the_calibration_decision_on_nearly_calibrated_models_equals_nannymls(nannyml_decisions):
    ours_decisions, theirs = [], []
    for seed, rows in BORDERLINE:
        reference = borderline_reference(seed, rows)
        ours_decisions.append(needs_calibration(scores=reference["score"], targets=reference["y"]))
        theirs.append(nannyml_decisions[f"b{seed}"]["needs_calibration"])
    assert ours_decisions == theirs
    assert set(theirs) == {True, False}  # the cases really are borderline
