"""Synthetic customer bases of any size that follow the sample's joint distribution.

Benchmarks and failure tests need hundreds of thousands of customers that look like the
real ones to validation, training and scoring. Each synthetic customer is a real record
drawn with replacement, its label kept, with multiplicative noise on counts and amounts
(so rows are not copies) and every other column kept, so the relations between columns
and the label survive. Ranges and types come from `churn.schema`; age is re-derived from
age_group, so every row passes validation.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from churn import schema

#: Column kinds that carry continuous-looking magnitudes and get noise.
NOISY_KINDS = ("count", "amount")
#: Decimals kept for float columns (the published export uses three).
FLOAT_DECIMALS = 3


def synthesize(sample: pd.DataFrame, rows: int, *, seed: int, noise: float = 0.05) -> pd.DataFrame:
    """`rows` customers drawn from `sample` (validated, code-named columns), deterministic in seed.

    `noise` is the standard deviation of the log-scale factor applied to counts and
    amounts: 0.05 moves a value by about 5 %, zero stays zero (an idle customer stays idle).
    """
    if rows < 1:
        raise ValueError(f"rows must be at least 1, got {rows}")
    if noise < 0:
        raise ValueError(f"noise must not be negative, got {noise}")
    missing = [c for c in schema.all_names() if c not in sample.columns]
    if missing or sample.empty:
        raise ValueError(f"sample must hold validated records; missing columns {missing}")
    rng = np.random.default_rng(seed)
    picked = rng.integers(0, len(sample), size=rows)
    out: dict[str, np.ndarray] = {}
    for col in schema.COLUMNS:
        values = sample[col.name].to_numpy()[picked]
        if col.kind in NOISY_KINDS and col.role == "feature":
            values = _jitter(values.astype(np.float64), col, rng, noise)
        out[col.name] = values
    frame = pd.DataFrame(out)
    if "age" in frame and "age_group" in frame:
        frame["age"] = frame["age_group"].map(schema.AGE_OF_GROUP).astype("int64")
    return frame


def _jitter(values: np.ndarray, col: schema.Column, rng: np.random.Generator, noise: float):
    scaled = values * np.exp(rng.normal(0.0, noise, size=values.size))
    lo = -np.inf if col.minimum is None else col.minimum
    hi = np.inf if col.maximum is None else col.maximum
    scaled = np.clip(scaled, lo, hi)
    if col.dtype == "int":
        return np.rint(scaled).astype(np.int64)
    return np.round(scaled, FLOAT_DECIMALS)


def published(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame under the published column headers, as a raw export would carry them."""
    names = {c.name: c.source for c in schema.COLUMNS}
    return frame.rename(columns=names)
