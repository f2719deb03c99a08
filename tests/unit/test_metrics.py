"""The shared metrics agree with scikit-learn, point estimates and resamples alike."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as sk

from gitops import curves
from gitops.metrics import METRICS, compute, point


@pytest.fixture
def scored() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    y = rng.integers(0, 2, 2000)
    # Rounded scores create many ties, the case where hand-written AUCs usually go wrong.
    score = np.round(np.clip(rng.normal(0.35 + 0.3 * y, 0.2), 0, 1), 2)
    return y, score, rng.gamma(2.0, 100.0, 2000)


def test_point_metrics_match_scikit_learn(scored: tuple[np.ndarray, ...]) -> None:
    y, score, value = scored
    got = point(y, score, value, threshold=0.5, top_fraction=0.1)
    flagged = score >= 0.5
    assert set(got) == set(METRICS)
    assert got["roc_auc"] == pytest.approx(sk.roc_auc_score(y, score), abs=1e-12)
    assert got["average_precision"] == pytest.approx(
        sk.average_precision_score(y, score), abs=1e-12
    )
    assert got["log_loss"] == pytest.approx(sk.log_loss(y, np.clip(score, 1e-15, 1 - 1e-15)))
    assert got["brier"] == pytest.approx(sk.brier_score_loss(y, score))
    assert got["precision"] == pytest.approx(sk.precision_score(y, flagged))
    assert got["recall"] == pytest.approx(sk.recall_score(y, flagged))
    assert got["f1"] == pytest.approx(sk.f1_score(y, flagged))


def test_resample_weights_equal_repeating_rows(scored: tuple[np.ndarray, ...]) -> None:
    y, score, value = scored
    rng = np.random.default_rng(1)
    weights = rng.poisson(1.0, (3, y.size)).astype(float)
    many = compute(y, score, value, threshold=0.5, top_fraction=0.1, weights=weights)
    for row in range(3):
        idx = np.repeat(np.arange(y.size), weights[row].astype(int))
        once = point(y[idx], score[idx], value[idx], threshold=0.5, top_fraction=0.1)
        for name, val in once.items():
            assert many[name][row] == pytest.approx(val, rel=1e-9, abs=1e-12), name


def test_top_segment_capture_counts_exact_top_k_without_ties() -> None:
    y = np.array([1, 0, 1, 0, 0, 0, 0, 0, 0, 1])
    score = np.linspace(1.0, 0.1, 10)  # distinct, already ranked
    value = np.array([10.0, 0, 30, 0, 0, 0, 0, 0, 0, 60])
    got = point(y, score, value, threshold=0.5, top_fraction=0.2)
    assert got["top_positives_caught"] == pytest.approx(1 / 3)
    assert got["top_value_caught"] == pytest.approx(10 / 100)


def test_tied_scores_at_the_cut_count_pro_rata_not_by_row_order() -> None:
    y = np.array([1, 0, 0, 0])
    score = np.full(4, 0.5)
    a = point(y, score, threshold=0.5, top_fraction=0.5)
    b = point(y[::-1], score, threshold=0.5, top_fraction=0.5)
    assert a["top_positives_caught"] == pytest.approx(0.5)
    assert b["top_positives_caught"] == pytest.approx(0.5)


def test_curves_are_on_the_fixed_grid_and_sensible(scored: tuple[np.ndarray, ...]) -> None:
    y, score, _ = scored
    got = curves.all_curves(y, score)
    roc = got["roc"]
    assert roc["false_positive_rate"].tolist() == curves.GRID.tolist()
    assert roc["true_positive_rate"].is_monotonic_increasing
    assert roc["true_positive_rate"].iloc[-1] == pytest.approx(1.0)
    gains = got["gains"]
    assert gains["positives_caught"].is_monotonic_increasing
    # A useful model catches more than its share of churners in the top of the list.
    assert gains.set_index("share_contacted").loc[0.2, "positives_caught"] > 0.2
    pr = got["precision_recall"]
    assert pr["precision"].is_monotonic_decreasing
    cal = got["calibration"]
    assert cal["records"].sum() == y.size
    assert cal["predicted_risk"].between(0, 1).all()


def test_no_rows_is_an_error() -> None:
    with pytest.raises(ValueError, match="no rows"):
        point(np.array([]), np.array([]), threshold=0.5, top_fraction=0.1)
