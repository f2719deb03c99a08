"""The bootstrap and DeLong on synthetic data whose truth is known."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from gitops.metrics import resample_weights
from gitops.review.significance import (
    Scored,
    Settings,
    align,
    compare,
    delong,
    midranks,
    percentile_interval,
)


def scored(y: np.ndarray, score: np.ndarray, ids: np.ndarray | None = None) -> Scored:
    n = len(y)
    ids = np.array([f"r{i:05d}" for i in range(n)]) if ids is None else ids
    return Scored(ids, np.asarray(y, float), np.asarray(score, float), np.ones(n), 0.5, 0.1)


def population(n: int, signal: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.2).astype(float)
    return y, 1 / (1 + np.exp(-(signal * (y - 0.5) + rng.normal(0, 1, n))))


FAST = Settings(resamples=400, seed=3)


def test_a_rank_preserving_change_moves_nothing() -> None:
    y, score = population(600, 2.0, 0)
    # The same ranking (squared scores): AUC, AP and the top segment cannot move at all.
    result = compare(scored(y, score), scored(y, score**2), FAST)
    assert result.mode == "paired"
    for name in ("roc_auc", "average_precision", "top_positives_caught"):
        assert result.intervals[name].low == pytest.approx(0.0, abs=1e-12)
        assert result.intervals[name].high == pytest.approx(0.0, abs=1e-12)
        assert not result.intervals[name].significant
    assert result.delong_p == pytest.approx(1.0)


def test_a_clearly_better_model_is_significant_and_a_noisy_twin_is_not() -> None:
    y, strong = population(800, 3.0, 1)
    rng = np.random.default_rng(2)
    weak = strong + rng.normal(0, 0.6, y.size)  # same signal drowned in noise
    better = compare(scored(y, weak), scored(y, strong), FAST)
    assert better.intervals["roc_auc"].low > 0
    assert better.delong_p < 0.001
    # Two equally good models (independent noise around the same signal): no verdict.
    twin = strong + rng.normal(0, 0.01, y.size)
    same = compare(scored(y, strong), scored(y, twin), FAST)
    assert not same.intervals["roc_auc"].significant
    assert same.delong_p > 0.05


def test_interval_covers_the_true_difference_about_as_often_as_promised() -> None:
    """Two equally good scorers: the true AUC difference is 0; a 90% interval should cover it."""
    covered = 0
    trials = 40
    for seed in range(trials):
        rng = np.random.default_rng(100 + seed)
        y = (rng.random(300) < 0.3).astype(float)
        a = y + rng.normal(0, 1, y.size)
        b = y + rng.normal(0, 1, y.size)
        iv = compare(scored(y, a), scored(y, b), Settings(resamples=200, seed=seed, confidence=0.9))
        covered += not iv.intervals["roc_auc"].significant
    assert 0.75 * trials <= covered <= trials


def test_pairing_narrows_the_interval_of_correlated_models() -> None:
    y, a = population(1000, 2.0, 5)
    b = a + np.random.default_rng(6).normal(0, 0.05, y.size)
    paired = compare(scored(y, a), scored(y, b), FAST).intervals["roc_auc"]
    ids = np.array([f"x{i:05d}" for i in range(y.size)])  # other rows: cannot pair
    unpaired = compare(scored(y, a, ids), scored(y, b), FAST)
    assert unpaired.mode == "unpaired"
    width = unpaired.intervals["roc_auc"].high - unpaired.intervals["roc_auc"].low
    assert paired.high - paired.low < width / 3


def test_rows_are_paired_by_id_whatever_their_order() -> None:
    y, s = population(200, 2.0, 7)
    base = scored(y, s)
    perm = np.random.default_rng(8).permutation(y.size)
    aligned, reason = align(base.take(perm), base)
    assert aligned is not None, reason
    assert np.array_equal(aligned.row_id, base.row_id)
    assert np.array_equal(aligned.score, base.score)


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda s: s.take(np.arange(s.y.size - 1)), "rows at the base"),
        (lambda s: Scored(s.row_id, 1 - s.y, s.score, s.value, 0.5, 0.1), "different labels"),
        (
            lambda s: Scored(np.r_[s.row_id[:-1], ["new"]], s.y, s.score, s.value, 0.5, 0.1),
            "not in the base",
        ),
    ],
)
def test_rows_that_cannot_be_matched_are_detected(
    mutate: Callable[[Scored], Scored], reason: str
) -> None:
    y, s = population(100, 2.0, 9)
    base = scored(y, s)
    aligned, why = align(base, mutate(base))
    assert aligned is None
    assert reason in why


def test_resample_weights_are_a_bootstrap_and_reproducible() -> None:
    w = resample_weights(np.random.default_rng(1), 50, 300)
    assert w.shape == (50, 300)
    assert (w.sum(axis=1) == 300).all()
    assert np.array_equal(w, resample_weights(np.random.default_rng(1), 50, 300))


def test_resamples_shrink_with_the_test_set_but_not_below_the_floor() -> None:
    s = Settings(resamples=1000, max_resample_rows=20_000_000, min_resamples=100)
    assert s.resamples_for(565) == 1000
    assert s.resamples_for(200_000) == 100
    assert s.resamples_for(10_000_000) == 100


def test_percentile_interval_ignores_undefined_resamples() -> None:
    iv = percentile_interval(np.r_[np.linspace(-1, 1, 101), np.nan], 0.9)
    assert iv is not None
    assert iv.low == pytest.approx(-0.9)
    assert iv.high == pytest.approx(0.9)
    assert percentile_interval(np.array([np.nan]), 0.9) is None


def test_delong_matches_scikit_learn_and_its_variance_matches_the_bootstrap() -> None:
    y, s = population(2000, 1.5, 11)
    s = np.round(s, 2)  # ties on purpose
    single = delong(y, s)
    assert single.auc_a == pytest.approx(roc_auc_score(y, s), abs=1e-12)
    assert midranks(np.array([3.0, 1.0, 3.0, 2.0])).tolist() == [3.5, 1.0, 3.5, 2.0]
    rng = np.random.default_rng(0)
    boot = [
        roc_auc_score(y[i], s[i]) for i in (rng.integers(0, y.size, y.size) for _ in range(300))
    ]
    assert single.variance == pytest.approx(np.var(boot), rel=0.3)


def test_delong_needs_both_classes() -> None:
    with pytest.raises(ValueError, match="both positive and negative"):
        delong(np.ones(5), np.arange(5.0))
