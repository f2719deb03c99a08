"""Drift statistics and verdicts on small, hand-checkable inputs."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gitops.monitoring import drift

LIMITS = {
    "psi_warn": 0.1,
    "psi_alert": 0.25,
    "p_value": 0.01,
    "max_invalid_share": 0.05,
    "max_risk_shift": 0.05,
    "max_metric_drop": 0.05,
    "min_labelled_rows": 50,
    "watch_metrics": ["roc_auc", "log_loss"],
    "bootstrap": 200,
    "seed": 0,
}


def limits(**changes: object) -> drift.Thresholds:
    return drift.Thresholds.from_params(LIMITS | changes)


def test_quantile_edges_are_observed_values_and_leave_no_bin_empty() -> None:
    values = np.array([0] * 50 + [1] * 20 + list(range(2, 32)))
    edges = drift.quantile_edges(values, 10)
    assert edges == sorted(set(edges))
    assert set(edges) <= set(values.tolist())
    counts = drift.numeric_counts(values, edges)
    assert counts.sum() == values.size
    assert (counts > 0).all()
    assert counts[0] == 50  # the heap of zeros is one bin, not five copies of one edge


def test_bins_are_right_closed_for_features_and_left_closed_for_risk_bands() -> None:
    assert drift.bin_index([1, 2, 3], [2]).tolist() == [0, 0, 1]
    assert drift.bin_index([0.4, 0.5, 0.6], [0.5], closed="left").tolist() == [0, 1, 1]
    assert drift.bin_labels([2, 5]) == ["≤ 2", "(2, 5]", "> 5"]
    assert drift.bin_labels([0.5], "left") == ["< 0.5", "≥ 0.5"]


def test_psi_matches_its_definition_and_survives_empty_bins() -> None:
    assert drift.psi([0.5, 0.5], [0.5, 0.5]) == 0.0
    expected = (0.7 - 0.5) * math.log(0.7 / 0.5) + (0.3 - 0.5) * math.log(0.3 / 0.5)
    assert drift.psi([0.5, 0.5], [0.7, 0.3]) == pytest.approx(expected)
    assert math.isfinite(drift.psi([0.5, 0.5], [1.0, 0.0]))


def test_chi_square_separates_noise_from_a_real_move() -> None:
    assert drift.chi_square_p([500, 500], [52, 48]) > 0.5
    assert drift.chi_square_p([500, 500], [90, 10]) < 1e-6
    assert drift.chi_square_p([500, 0], [100, 0]) == 1.0  # one populated bin: nothing to test


def test_status_needs_both_a_large_psi_and_a_small_p_value_to_alert() -> None:
    lim = limits()
    assert drift.status(0.3, 0.001, lim) == "alert"
    assert drift.status(0.3, 0.2, lim) == "warn"  # large but could be noise
    assert drift.status(0.12, 0.001, lim) == "warn"
    assert drift.status(0.05, 0.0, lim) == "ok"  # significant but small


def test_thresholds_name_what_is_missing_or_wrong() -> None:
    with pytest.raises(KeyError, match="lacks psi_alert"):
        drift.Thresholds.from_params({k: v for k, v in LIMITS.items() if k != "psi_alert"})
    with pytest.raises(ValueError, match="unknown metrics"):
        limits(watch_metrics=["accuracy"])
    with pytest.raises(ValueError, match="psi_warn <= psi_alert"):
        limits(psi_warn=0.5)


def test_compare_distribution_reports_the_largest_move() -> None:
    rng = np.random.default_rng(0)
    ref = drift.numeric_reference(rng.normal(size=5000), 10)
    same = drift.compare_distribution("x", ref, rng.normal(size=2000), limits())
    moved = drift.compare_distribution("x", ref, rng.normal(1.0, size=2000), limits())
    assert same["status"] == "ok"
    assert moved["status"] == "alert"
    assert moved["largest_move"]["bin"] == ref["labels"][-1]
    ranked = drift.rank([same, moved | {"name": "y"}])
    assert [f["name"] for f in ranked] == ["y", "x"]


def test_categorical_counts_follow_the_reference_categories() -> None:
    ref = drift.categorical_reference([1, 1, 2, 2], [1, 2], ["one", "two"])
    assert ref["shares"] == [0.5, 0.5]
    assert drift.counts_for(ref, np.array([2, 2, 2, 1])).tolist() == [1, 3]


def test_flagged_share_alerts_only_on_a_large_and_real_move() -> None:
    rng = np.random.default_rng(1)
    reference = {
        "threshold": 0.5,
        "flagged_share": 0.15,
        "bands": drift.banded_reference(rng.beta(0.3, 1.5, 3000), [0.1, 0.5]),
    }
    steady = drift.compare_risk(reference, np.r_[np.full(85, 0.1), np.full(15, 0.9)], limits())
    assert steady["flagged_status"] == "ok"
    assert steady["flagged_batch"] == 0.15
    tiny = drift.compare_risk(reference, np.r_[np.full(7, 0.1), np.full(3, 0.9)], limits())
    assert tiny["flagged_status"] == "ok"  # +15 points on ten customers is noise
    big = drift.compare_risk(reference, np.r_[np.full(700, 0.1), np.full(300, 0.9)], limits())
    assert big["flagged_status"] == "alert"
    assert big["flagged_shift"] == pytest.approx(0.15)


def test_metric_drops_respect_each_metrics_direction() -> None:
    release = {"roc_auc": 0.9, "log_loss": 0.2}
    rows = drift.compare_metrics(release, {"roc_auc": 0.8, "log_loss": 0.4}, limits())
    assert {r["name"]: r["status"] for r in rows} == {"roc_auc": "alert", "log_loss": "alert"}
    rows = drift.compare_metrics(release, {"roc_auc": 0.95, "log_loss": 0.1}, limits())
    assert {r["status"] for r in rows} == {"ok"}
    noisy = drift.compare_metrics(
        release, {"roc_auc": 0.8, "log_loss": 0.2}, limits(), {"roc_auc": 0.2, "log_loss": 1}
    )
    assert {r["status"] for r in noisy} == {"ok"}


def test_bootstrap_p_value_is_small_only_when_the_release_is_out_of_reach() -> None:
    rng = np.random.default_rng(2)
    y = rng.integers(0, 2, 400)
    score = np.clip(y * 0.3 + rng.random(400) * 0.7, 0, 1)
    samples = drift.bootstrap_metrics(
        y, score, None, threshold=0.5, top_fraction=0.1, resamples=300, seed=0
    )
    auc = float(np.median(samples["roc_auc"]))
    assert drift.drop_p_value(samples["roc_auc"], auc + 0.2, True) < 0.01
    assert drift.drop_p_value(samples["roc_auc"], auc, True) > 0.3


def _report(**over: object) -> dict:
    base = {
        "input": "batch.csv",
        "rows": {"total": 100, "valid": 90, "invalid": 10, "invalid_share": 0.1},
        "reference": {"rows": 1000, "model_sha256": "ab" * 32},
        "thresholds": limits().as_dict(),
        "features": [],
        "risk": None,
        "quality": None,
        "invalid": {"rows": 10, "failures": 0, "rules": [], "examples": []},
    }
    return base | over


def test_reasons_and_markdown_name_every_crossed_threshold() -> None:
    report = _report()
    report["reasons"] = drift.reasons(report, limits())
    report["crossed"] = bool(report["reasons"])
    assert report["reasons"] == ["invalid rows: 10 of 100 (10.0%) break the contract, more than 5%"]
    md = drift.render_markdown(report)
    assert "Drift: thresholds crossed" in md
    assert "- invalid rows: 10 of 100" in md
    assert drift.reasons(report, limits(max_invalid_share=0.2)) == []
