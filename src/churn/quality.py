"""Cleaning that keeps the test set honest, and the data-quality summary the report shows.

The published sample repeats customers: exact duplicate rows, and identical records with
opposite labels. A random split would put copies of one customer on both sides and
reward memorising them, so duplicates are removed before the split ever sees the data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from churn import schema

DUPLICATE = "exact duplicate of an earlier row (would leak between train and test)"
CONFLICT = "same customer record with both labels (label cannot be trusted)"


@dataclass(frozen=True)
class CleanResult:
    frame: pd.DataFrame
    dropped: list[dict[str, Any]]


def row_ids(frame: pd.DataFrame) -> pd.Series:
    """A stable id per customer record, from its input values (the label is not part of it).

    Stable across runs, machines and row order, and unchanged when other rows are added or
    removed, so two revisions' predictions can be paired row by row.
    """
    hashed = pd.util.hash_pandas_object(frame[schema.input_names()], index=False)
    return hashed.map(lambda h: f"{h:016x}").rename(schema.ROW_ID)


def clean(
    frame: pd.DataFrame, *, drop_duplicates: bool = True, drop_conflicts: bool = True
) -> CleanResult:
    """Remove repeated customers; return the rows kept (with `row_id`) and what was dropped."""
    out = frame.copy()
    dropped: list[dict[str, Any]] = []
    if drop_duplicates:
        dup = out.duplicated(keep="first")
        if dup.any():
            dropped.append(_dropped(DUPLICATE, out.index[dup]))
            out = out[~dup]
    inputs = schema.input_names()
    if drop_conflicts:
        labels = out.groupby(inputs, sort=False)[schema.TARGET].transform("nunique")
        conflict = labels > 1
        if conflict.any():
            dropped.append(_dropped(CONFLICT, out.index[conflict]))
            out = out[~conflict]
    repeated = out.duplicated(subset=inputs, keep="first")
    if repeated.any():
        # Only reachable with cleaning switched off: ids must still be unique.
        dropped.append(_dropped("repeated customer record (kept the first)", out.index[repeated]))
        out = out[~repeated]
    out.insert(0, schema.ROW_ID, row_ids(out).to_numpy())
    return CleanResult(out.reset_index(drop=True), dropped)


def _dropped(reason: str, lines: pd.Index) -> dict[str, Any]:
    return {"reason": reason, "rows": len(lines), "example_lines": [int(i) for i in lines[:10]]}


def summary(raw: pd.DataFrame, result: CleanResult, *, source: str, sha256: str) -> dict[str, Any]:
    """The data-quality summary: rows in and out, what was dropped and why, class balance."""
    kept = result.frame
    positives = int(kept[schema.TARGET].sum())
    return {
        "source": source,
        "sha256": sha256,
        "rows_in": len(raw),
        "rows_out": len(kept),
        "dropped": result.dropped,
        "label": schema.TARGET,
        "positives": positives,
        "label_rate": round(positives / len(kept), 6) if len(kept) else None,
        "label_rate_in": round(float(raw[schema.TARGET].mean()), 6) if len(raw) else None,
        "columns": {c.name: f"{c.dtype}, {c.role}, {c.rule()}" for c in schema.COLUMNS},
        "findings": findings(raw),
    }


def findings(raw: pd.DataFrame) -> list[str]:
    """Facts about the data worth knowing before trusting a model trained on it."""
    notes = []
    top = schema.by_name()["charge_amount"]
    over = int((raw["charge_amount"] > 9).sum())
    if over:
        notes.append(
            f"charge_amount: {over} row(s) hold 10 although the source documents 0..9; "
            f"accepted (range {top.rule()})."
        )
    idle = int(((raw["seconds_of_use"] == 0) & (raw["call_count"] == 0)).sum())
    if idle:
        notes.append(f"{idle} customer(s) made no calls at all in nine months; kept.")
    notes.append("age is a fixed mapping of age_group; validated, not used as a feature.")
    return notes
