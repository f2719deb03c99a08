"""What validation measures beyond the rules: features that give the label away, and ranges.

A feature that alone separates the label (almost) perfectly is rarely a discovery: it is
usually written after the outcome (a cancellation date, a "reason for leaving" code) or is
the label under another name. The model would score brilliantly on the test split and fail
in production, so such a feature is reported as a suspect for a person to judge. It does not
fail validation by itself: the review report's gates decide what a suspect costs.

The measure is the ROC AUC of the feature alone, folded so that either direction counts
(max(auc, 1 - auc)): numbers by their rank, fields with listed values by the label rate of
their value (category purity: a value only churners have scores 1). 0.5 is no signal, 1.0 a
perfect separation. Text without categories and dates are not measured.

Ranges are the observed minimum and maximum of each numeric feature next to the contract's
bounds, so a reviewer sees how much headroom a plausibility bound leaves.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from gitops.contract.spec import Contract, FieldSpec

MEASURE = (
    "single-feature ROC AUC, max(auc, 1 - auc): numbers by rank, listed values by their label "
    "rate (category purity)"
)


def auc(scores: pd.Series, label: pd.Series) -> float | None:
    """ROC AUC of `scores` for a 1/0 `label` (ties count half); None without both classes."""
    known = scores.notna() & label.notna()
    scores, label = scores[known], label[known].astype(bool)
    positives, negatives = int(label.sum()), int((~label).sum())
    if not positives or not negatives:
        return None
    ranks = scores.rank(method="average")
    return float((ranks[label].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def feature_auc(values: pd.Series, label: pd.Series, field: FieldSpec) -> float | None:
    """The folded single-feature AUC of one field, or None when it is not measured."""
    if field.allowed is not None or field.type == "boolean":
        key = values.astype(object).where(values.notna(), "\0blank")
        scores = label.groupby(key, sort=False).transform("mean")
    elif field.type in ("integer", "number"):
        scores = values
    else:
        return None
    found = auc(scores.astype("float64"), label)
    return None if found is None else max(found, 1.0 - found)


def leakage(frame: pd.DataFrame, contract: Contract, threshold: float) -> dict[str, Any]:
    """Every feature's folded AUC, and the suspects: those at or above `threshold`."""
    label = frame[contract.label]
    scores: dict[str, float] = {}
    suspects = []
    for field in contract.features:
        if field.name not in frame:
            continue
        found = feature_auc(frame[field.name], label, field)
        if found is None:
            continue
        scores[field.name] = round(found, 6)
        if found >= threshold:
            how = "by its values' label rates" if field.allowed is not None else "by rank"
            suspects.append(
                {
                    "field": field.name,
                    "value": round(found, 6),
                    "detail": (
                        f"alone separates '{contract.label}' with ROC AUC {found:.4f} ({how}), "
                        f">= {threshold}: check it is known before the outcome"
                    ),
                }
            )
    return {"measure": MEASURE, "threshold": threshold, "suspects": suspects, "scores": scores}


def ranges(frame: pd.DataFrame, contract: Contract) -> dict[str, dict[str, Any]]:
    """Observed min and max of numeric features, with the contract's bounds (None: unbounded)."""
    out: dict[str, dict[str, Any]] = {}
    for field in contract.features:
        if field.name not in frame or field.allowed is not None:
            continue
        if field.type not in ("integer", "number"):
            continue
        values = frame[field.name].dropna()
        c = field.constraints
        out[field.name] = {
            "min": _number(values.min()) if len(values) else None,
            "max": _number(values.max()) if len(values) else None,
            "bound_min": _number(_first(c.minimum, c.exclusive_minimum)),
            "bound_max": _number(_first(c.maximum, c.exclusive_maximum)),
            "values": len(values),
        }
    return out


def _first(*values: Any) -> Any:
    return next((v for v in values if v is not None), None)


def _number(value: Any) -> int | float | None:
    if value is None or pd.isna(value):
        return None
    value = float(value)
    return int(value) if value.is_integer() else round(value, 6)
