"""Synthetic record sets of any size that follow a sample's joint distribution.

Benchmarks and failure tests need hundreds of thousands of records that look like the real
ones to validation, training and scoring. Each synthetic record is a real one drawn with
replacement, its label kept, with multiplicative noise on the contract's skewed fields
(counts and amounts, so rows are not copies) and every other field kept, so the relations
between fields and the label survive. Noise stays inside each field's range and type; a row
the noise made break a rule hook is put back to its unjittered source row, so every row
validates. Ids are not copied: they would no longer be unique.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from gitops.contract.spec import Contract, FieldSpec
from gitops.contract.validate import as_source

#: Decimals kept for number fields.
FLOAT_DECIMALS = 3


def synthesize(
    sample: pd.DataFrame, contract: Contract, rows: int, *, seed: int, noise: float = 0.05
) -> pd.DataFrame:
    """`rows` typed records drawn from `sample` (typed by validation), deterministic in seed.

    `noise` is the standard deviation of the log-scale factor applied to skewed fields:
    0.05 moves a value by about 5 %, zero stays zero (an idle customer stays idle).
    """
    if rows < 1:
        raise ValueError(f"rows must be at least 1, got {rows}")
    if noise < 0:
        raise ValueError(f"noise must not be negative, got {noise}")
    needed = contract.required_columns(with_label=True)
    missing = [c for c in needed if c not in sample.columns]
    if missing or sample.empty:
        raise ValueError(f"sample must hold validated records; missing columns {missing}")
    rng = np.random.default_rng(seed)
    picked = rng.integers(0, len(sample), size=rows)
    out: dict[str, np.ndarray] = {}
    kept: dict[str, np.ndarray] = {}
    features = set(contract.feature_names)
    for name in needed:
        values = sample[name].to_numpy()[picked]
        kept[name] = values
        field = contract.field(name)
        if field.skewed and name in features:
            values = _jitter(values.astype(np.float64), field, rng, noise)
        out[name] = values
    frame = pd.DataFrame(out)
    for rule in contract.rules:
        bad = rule.offending(frame).to_numpy()
        if bad.any():
            for name in needed:
                frame.loc[bad, name] = kept[name][bad]
    return frame


def _jitter(values: np.ndarray, field: FieldSpec, rng: np.random.Generator, noise: float):
    scaled = values * np.exp(rng.normal(0.0, noise, size=values.size))
    c = field.constraints
    lo = -np.inf if c.minimum is None else float(c.minimum)
    hi = np.inf if c.maximum is None else float(c.maximum)
    scaled = np.clip(scaled, lo, hi)
    if field.type == "integer":
        whole = np.rint(scaled)
        return whole.astype(np.int64) if not np.isnan(whole).any() else whole
    return np.round(scaled, FLOAT_DECIMALS)


def published(frame: pd.DataFrame, contract: Contract) -> pd.DataFrame:
    """Typed records as a raw export carries them: published headers, the label as written."""
    names = {f.name: f.header for f in contract.fields}
    return as_source(frame, contract).rename(columns=names)
