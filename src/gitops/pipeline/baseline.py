"""What the training data and the release looked like: the baseline monitoring compares with.

Computed once by the `reference` stage and shipped with the release, so that checking a
batch later needs the release's files, not its training data. Bins follow the contract:
fields with listed values (categories, enums, booleans) count per value, numbers over
quantile bins of the training rows.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from gitops.contract.spec import Contract, FieldSpec
from gitops.monitoring import drift

#: Bumped when the layout of reference.json changes; the monitor refuses other formats.
FORMAT = 1


def _labels(field: FieldSpec) -> list[str]:
    if field.type == "boolean":
        return [f"0 ({field.false_values[0]})", f"1 ({field.true_values[0]})"]
    names = field.labels
    return [f"{v} ({names[v]})" if v in names else str(v) for v in field.allowed or ()]


def feature_reference(
    train: pd.DataFrame, contract: Contract, bins: int
) -> dict[str, dict[str, Any]]:
    """Bins per feature: the listed values of coded fields, training quantiles of numbers."""
    out: dict[str, dict[str, Any]] = {}
    for field in contract.features:
        if field.allowed is not None:
            out[field.name] = drift.categorical_reference(
                train[field.name], list(field.allowed), _labels(field)
            )
        elif field.type in ("integer", "number"):
            out[field.name] = drift.numeric_reference(train[field.name], bins)
    return out


def training_ranges(train: pd.DataFrame, contract: Contract) -> dict[str, dict[str, float]]:
    """Min and max of each numeric feature over the training rows.

    A valid value outside them is scored by extrapolation: the model never saw one like it.
    Monitoring counts such values per field; the contract's plausibility bounds refuse the
    impossible ones before that.
    """
    out: dict[str, dict[str, float]] = {}
    for field in contract.features:
        if field.allowed is None and field.type in ("integer", "number"):
            values = train[field.name].dropna()
            if len(values):
                out[field.name] = {"min": float(values.min()), "max": float(values.max())}
    return out


def build_reference(
    train: pd.DataFrame,
    contract: Contract,
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
        "features": feature_reference(train, contract, bins),
        "ranges": training_ranges(train, contract),
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
