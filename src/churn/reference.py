"""What the training data and the release looked like: the baseline monitoring compares with.

Computed once by the `reference` stage and shipped with the release, so that checking a
batch later needs the release's files, not its training data.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from churn import schema
from gitops.monitoring import drift

#: Bumped when the layout of reference.json changes; the monitor refuses other formats.
FORMAT = 1


def feature_reference(train: pd.DataFrame, bins: int) -> dict[str, dict[str, Any]]:
    """Bins per feature: the allowed values of coded columns, training quantiles of others."""
    out: dict[str, dict[str, Any]] = {}
    for col in schema.feature_columns():
        if col.allowed is not None:
            labels = [f"{v} ({col.labels[v]})" if v in col.labels else str(v) for v in col.allowed]
            out[col.name] = drift.categorical_reference(train[col.name], col.allowed, labels)
        else:
            out[col.name] = drift.numeric_reference(train[col.name], bins)
    return out


def build_reference(
    train: pd.DataFrame,
    held_out_scores: NDArray,
    release_metrics: dict[str, float],
    *,
    model_sha256: str,
    bins: int,
    risk_bands: list[float],
    threshold: float,
    top_fraction: float,
) -> dict[str, Any]:
    """What a batch is compared with. Risk comes from held-out scores: in-sample scores of
    a boosted model are overconfident and would make every new batch look shifted."""
    scores = np.asarray(held_out_scores, dtype=np.float64)
    return {
        "format": FORMAT,
        "model_sha256": model_sha256,
        "rows": len(train),
        "features": feature_reference(train, bins),
        "risk": {
            "source": "held-out test predictions",
            "rows": int(scores.size),
            "threshold": threshold,
            "top_fraction": top_fraction,
            "flagged_share": round(float(np.mean(scores >= threshold)), 6),
            "bands": drift.banded_reference(scores, risk_bands),
        },
        "metrics": release_metrics,
    }
