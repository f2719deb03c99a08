"""Curve data for DVC plots and the review report, on fixed grids.

Fixed grids keep the files small and make two revisions' curves line up point by point,
which is what a base-against-change chart needs.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from gitops.metrics import Ranked

GRID = np.round(np.linspace(0.0, 1.0, 51), 4)
CALIBRATION_BINS = 10

#: File name, x column, y column: the contract between the evaluate stage and the report.
PLOTS: dict[str, tuple[str, str, str]] = {
    "roc": ("roc.csv", "false_positive_rate", "true_positive_rate"),
    "precision_recall": ("precision_recall.csv", "recall", "precision"),
    "gains": ("gains.csv", "share_contacted", "positives_caught"),
    "calibration": ("calibration.csv", "predicted_risk", "observed_rate"),
}


def _cumulative(y: NDArray, score: NDArray) -> tuple[NDArray, NDArray]:
    """True and false positives at each distinct threshold, highest threshold first."""
    ranked = Ranked.of(y, score)
    ones = np.ones((1, ranked.y.size))
    tp = np.cumsum(np.add.reduceat(ones * ranked.y, ranked.starts, axis=1)[0])
    fp = np.cumsum(np.add.reduceat(ones * (1 - ranked.y), ranked.starts, axis=1)[0])
    return np.r_[0.0, tp], np.r_[0.0, fp]


def roc(y: NDArray, score: NDArray) -> pd.DataFrame:
    tp, fp = _cumulative(y, score)
    tpr, fpr = tp / tp[-1], fp / fp[-1]
    return pd.DataFrame(
        {"false_positive_rate": GRID, "true_positive_rate": np.interp(GRID, fpr, tpr)}
    )


def precision_recall(y: NDArray, score: NDArray) -> pd.DataFrame:
    """Interpolated precision: the best precision reachable at this recall or more."""
    tp, fp = _cumulative(y, score)
    tp, fp = tp[1:], fp[1:]
    recall = tp / tp[-1]
    precision = tp / (tp + fp)
    best = np.maximum.accumulate(precision[::-1])[::-1]
    idx = np.minimum(np.searchsorted(recall, GRID, side="left"), recall.size - 1)
    return pd.DataFrame({"recall": GRID, "precision": best[idx]})


def gains(y: NDArray, score: NDArray) -> pd.DataFrame:
    """Share of positives caught when acting on the highest-scored share of records."""
    tp, fp = _cumulative(y, score)
    contacted = (tp + fp) / (tp[-1] + fp[-1])
    return pd.DataFrame(
        {"share_contacted": GRID, "positives_caught": np.interp(GRID, contacted, tp / tp[-1])}
    )


def calibration(y: NDArray, score: NDArray, bins: int = CALIBRATION_BINS) -> pd.DataFrame:
    """Mean predicted risk against the observed positive rate in equal-width risk bins."""
    y = np.asarray(y, dtype=float)
    score = np.asarray(score, dtype=float)
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(score, edges[1:-1]), 0, bins - 1)
    count = np.bincount(which, minlength=bins)
    pred = np.bincount(which, weights=score, minlength=bins)
    obs = np.bincount(which, weights=y, minlength=bins)
    keep = count > 0
    return pd.DataFrame(
        {
            "bin": [f"{lo:.1f}-{hi:.1f}" for lo, hi in itertools.pairwise(edges)],
            "predicted_risk": pred / np.maximum(count, 1),
            "observed_rate": obs / np.maximum(count, 1),
            "records": count,
        }
    )[keep].reset_index(drop=True)


def all_curves(y: NDArray, score: NDArray) -> dict[str, pd.DataFrame]:
    return {
        "roc": roc(y, score),
        "precision_recall": precision_recall(y, score),
        "gains": gains(y, score),
        "calibration": calibration(y, score),
    }
