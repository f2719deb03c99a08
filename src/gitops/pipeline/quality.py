"""Cleaning that keeps the test set honest, and the data-quality summary the report shows.

Exports often repeat records: exact duplicate rows, and identical records with opposite
labels. A random split would put copies of one record on both sides and reward memorising
them, so duplicates are removed before the split ever sees the data.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from gitops.contract.spec import Contract

ROW_ID = "row_id"
DUPLICATE = "exact duplicate of an earlier row (would leak between train and test)"
CONFLICT = "same record with both labels (label cannot be trusted)"
Findings = Callable[[pd.DataFrame], list[str]]


@dataclass(frozen=True)
class CleanResult:
    frame: pd.DataFrame
    dropped: list[dict[str, Any]]


def inputs(frame: pd.DataFrame, contract: Contract) -> list[str]:
    """The columns that identify a record: every field but the label, as present."""
    return [c for c in contract.input_names if c in frame.columns]


def row_ids(frame: pd.DataFrame, contract: Contract) -> pd.Series:
    """A stable id per record, from its input values (the label is not part of it).

    Stable across runs, machines and row order, and unchanged when other rows are added or
    removed, so two revisions' predictions can be paired row by row.
    """
    hashed = pd.util.hash_pandas_object(frame[inputs(frame, contract)], index=False)
    return hashed.map(lambda h: f"{h:016x}").rename(ROW_ID)


def clean(
    frame: pd.DataFrame,
    contract: Contract,
    *,
    drop_duplicates: bool = True,
    drop_conflicts: bool = True,
) -> CleanResult:
    """Remove repeated records; return the rows kept (with `row_id`) and what was dropped."""
    out = frame.copy()
    dropped: list[dict[str, Any]] = []
    if drop_duplicates:
        dup = out.duplicated(keep="first")
        if dup.any():
            dropped.append(_dropped(DUPLICATE, out.index[dup]))
            out = out[~dup]
    keys = inputs(out, contract)
    if drop_conflicts:
        labels = out.groupby(keys, sort=False, dropna=False)[contract.label].transform("nunique")
        conflict = labels > 1
        if conflict.any():
            dropped.append(_dropped(CONFLICT, out.index[conflict]))
            out = out[~conflict]
    repeated = out.duplicated(subset=keys, keep="first")
    if repeated.any():
        # Only reachable with cleaning switched off: ids must still be unique.
        dropped.append(_dropped("repeated record (kept the first)", out.index[repeated]))
        out = out[~repeated]
    out.insert(0, ROW_ID, row_ids(out, contract).to_numpy())
    return CleanResult(out.reset_index(drop=True), dropped)


def _dropped(reason: str, lines: pd.Index) -> dict[str, Any]:
    return {"reason": reason, "rows": len(lines), "example_lines": [int(i) for i in lines[:10]]}


def summary(
    raw: pd.DataFrame,
    result: CleanResult,
    contract: Contract,
    *,
    source: str,
    sha256: str,
    contract_sha256: str,
    findings: Findings | None = None,
) -> dict[str, Any]:
    """The data-quality summary: rows in and out, what was dropped and why, class balance."""
    kept, label = result.frame, contract.label
    positives = int(kept[label].sum())
    return {
        "source": source,
        "sha256": sha256,
        "contract": {"source": contract.source, "sha256": contract_sha256},
        "rows_in": len(raw),
        "rows_out": len(kept),
        "dropped": result.dropped,
        "label": label,
        "positive_class": contract.roles.positive,
        "positives": positives,
        "label_rate": round(positives / len(kept), 6) if len(kept) else None,
        "label_rate_in": round(float(raw[label].mean()), 6) if len(raw) else None,
        "columns": {f.name: column_summary(contract, f.name) for f in contract.fields},
        "findings": blank_findings(raw, contract) + (findings(raw) if findings else []),
    }


def column_summary(contract: Contract, name: str) -> str:
    """A field in one line (type, role, rule): the report shows a change of it."""
    field, roles = contract.field(name), contract.roles
    role = (
        "label" if name == roles.label
        else "id" if name == roles.id
        else "info" if name in roles.info
        else "feature"
    )  # fmt: skip
    return f"{field.type}, {role}, {field.rule()}" + ("" if field.required else ", may be blank")


def blank_findings(raw: pd.DataFrame, contract: Contract) -> list[str]:
    """Blanks where the contract allows them: worth knowing, never silently imputed."""
    notes = []
    for field in contract.fields:
        if field.name in raw and not field.required and field.name != contract.id:
            blank = int(raw[field.name].isna().sum())
            if blank:
                notes.append(f"{field.name}: {blank} blank value(s), allowed by the contract.")
    return notes
