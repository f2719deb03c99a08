"""What changed between two revisions besides the model's numbers: params and data.

Pure functions over parsed params.yaml and data/quality.json, so the report shows the
cause next to the effect.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from gitops import dvclock

#: Params whose change alters the merge policy rather than the model.
POLICY_PREFIXES = ("gates.",)


def flatten(tree: Any, prefix: str = "") -> dict[str, Any]:
    """`{'a': {'b': 1}}` -> `{'a.b': 1}`; lists stay whole values."""
    if isinstance(tree, Mapping):
        out: dict[str, Any] = {}
        for key, value in tree.items():
            out |= flatten(value, f"{prefix}{key}.")
        if not tree and prefix:
            out[prefix[:-1]] = {}
        return out
    return {prefix[:-1]: tree} if prefix else {}


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return json.dumps(value, default=str)


def params_changes(base: Mapping[str, Any] | None, change: Mapping[str, Any]) -> list[dict]:
    """Every flattened key whose value differs; `base`/`change` None when absent."""
    old, new = flatten(base or {}), flatten(change)
    rows = []
    for key in sorted(old.keys() | new.keys()):
        a, b = old.get(key), new.get(key)
        if key in old and key in new and _text(a) == _text(b):
            continue
        rows.append(
            {
                "key": key,
                "base": _text(a) if key in old else None,
                "change": _text(b) if key in new else None,
                "policy": key.startswith(POLICY_PREFIXES),
            }
        )
    return rows


def _dropped(quality: Mapping[str, Any] | None) -> dict[str, int]:
    out: dict[str, int] = {}
    for item in (quality or {}).get("dropped") or []:
        out[str(item.get("reason"))] = int(item.get("rows") or 0)
    return out


def data_changes(
    base: Mapping[str, Any] | None,
    change: Mapping[str, Any] | None,
    outside: Mapping[str, Mapping[str, int]] | None = None,
) -> dict[str, Any]:
    """Rows, label rate, validation drops and schema differences, base against change.

    `outside` counts, per field, the change's values below and above the base's observed
    range (`outside_counts`), when the change's validated data was at hand.
    """
    base_q, change_q = base or {}, change or {}
    fields = ("rows_in", "rows_out", "positives", "label_rate", "sha256")
    summary = {f: {"base": base_q.get(f), "change": change_q.get(f)} for f in fields}
    drops_a, drops_b = _dropped(base), _dropped(change)
    dropped = [
        {"reason": r, "base": drops_a.get(r), "change": drops_b.get(r)}
        for r in list(drops_b) + [r for r in drops_a if r not in drops_b]
    ]
    cols_a = dict(base_q.get("columns") or {})
    cols_b = dict(change_q.get("columns") or {})
    schema = [
        {"column": c, "base": cols_a.get(c), "change": cols_b.get(c)}
        for c in list(cols_b) + [c for c in cols_a if c not in cols_b]
        if cols_a.get(c) != cols_b.get(c)
    ]
    ranges = range_changes(base_q.get("ranges"), change_q.get("ranges"))
    for row in ranges:
        counts = (outside or {}).get(row["field"])
        if counts and any(counts.values()):
            row["outside"] = dict(counts)
    findings_a = list(base_q.get("findings") or [])
    findings_b = list(change_q.get("findings") or [])
    return {
        "available": {"base": base is not None, "change": change is not None},
        "summary": summary,
        "dropped": dropped,
        "schema": schema if base is not None else [],
        "findings_new": [f for f in findings_b if f not in findings_a],
        "findings_gone": [f for f in findings_a if f not in findings_b],
        "ranges": ranges,
        "changed": base is not None
        and (
            any(v["base"] != v["change"] for v in summary.values())
            or bool(schema)
            or drops_a != drops_b
        ),
    }


def range_changes(base: Any, change: Any) -> list[dict[str, Any]]:
    """Per field, the observed range at each revision, and whether the change goes beyond.

    quality.json's `ranges` (absent in older summaries: nothing to show) gives each field's
    observed `min` and `max`, its plausibility bounds and how many values it had. Values
    past the contract's bounds never get this far (validation refuses them); what is left to
    show is data that is valid but reaches outside what the base's model was trained on
    (`beyond`: "below", "above" or both), which the model scores by extrapolation. Any
    other number in an entry (a count a fork's summary adds) is carried as is.
    """
    base = base if isinstance(base, Mapping) else {}
    change = change if isinstance(change, Mapping) else {}
    shape = RANGE_SHAPE
    rows = []
    for field in list(change) + [f for f in base if f not in change]:
        a, b = base.get(field), change.get(field)
        a = a if isinstance(a, Mapping) else None
        b = b if isinstance(b, Mapping) else None

        def counts(entry: Mapping[str, Any] | None) -> dict[str, Any]:
            return {
                k: v
                for k, v in (entry or {}).items()
                if k not in shape and isinstance(v, int | float) and not isinstance(v, bool)
            }

        rows.append(
            {
                "field": str(field),
                "base": None if a is None else {k: a.get(k) for k in shape} | counts(a),
                "change": None if b is None else {k: b.get(k) for k in shape} | counts(b),
                "changed": a != b,
                "beyond": _beyond(a, b),
            }
        )
    return rows


def outside_counts(frame: Any, base_ranges: Any) -> dict[str, dict[str, int]]:
    """Per field, how many of the change's values lie below and above the base's range.

    `frame` is the change's validated data (a DataFrame), `base_ranges` the base's
    quality.json `ranges`. These values passed the contract's bounds, so they are
    plausible; they are what the base's model never saw, scored by extrapolation.
    """
    out: dict[str, dict[str, int]] = {}
    if not isinstance(base_ranges, Mapping):
        return out
    for field, entry in base_ranges.items():
        if field not in getattr(frame, "columns", ()) or not isinstance(entry, Mapping):
            continue
        lo, hi = entry.get("min"), entry.get("max")
        values = frame[field]
        if not isinstance(lo, int | float) or not isinstance(hi, int | float):
            continue
        out[str(field)] = {"below": int((values < lo).sum()), "above": int((values > hi).sum())}
    return out


#: What every `ranges` entry of quality.json holds; other numbers are extra counts.
RANGE_SHAPE = ("min", "max", "bound_min", "bound_max", "values")


def _beyond(base: Mapping[str, Any] | None, change: Mapping[str, Any] | None) -> list[str]:
    """Which side of the base's observed range the change's values reach past."""
    if not base or not change:
        return []

    def number(value: Any) -> bool:
        return isinstance(value, int | float) and not isinstance(value, bool)

    sides = []
    if number(base.get("min")) and number(change.get("min")) and change["min"] < base["min"]:
        sides.append("below")
    if number(base.get("max")) and number(change.get("max")) and change["max"] > base["max"]:
        sides.append("above")
    return sides


def dataset_differences(
    base_lock: Mapping[str, Any] | None,
    change_lock: Mapping[str, Any] | None,
    base_params: Mapping[str, Any] | None,
    change_params: Mapping[str, Any] | None,
    stage: str = "validate",
) -> list[str]:
    """How the data two revisions scored differs: the raw file or the contract, by md5.

    Read from the `validate` stage's dependencies in each revision's dvc.lock, for the
    paths each revision's own params.yaml names (`data.raw`, `data.contract`). Empty when
    both are the same, or when a revision has no lock to tell (then nothing is claimed).
    """
    if not base_lock or not change_lock:
        return []
    try:
        old = dvclock.from_mapping(base_lock).stages.get(stage)
        new = dvclock.from_mapping(change_lock).stages.get(stage)
    except dvclock.LockError:
        return []
    if old is None or new is None:
        return []
    out = []
    for key, what in (("raw", "raw data"), ("contract", "data contract")):
        path_a = ((base_params or {}).get("data") or {}).get(key)
        path_b = ((change_params or {}).get("data") or {}).get(key)
        md5_a = next((d.md5 for d in old.deps if d.path == path_a), None)
        md5_b = next((d.md5 for d in new.deps if d.path == path_b), None)
        if md5_a is None or md5_b is None or md5_a == md5_b:
            continue
        where = path_b if path_a == path_b else f"{path_a} → {path_b}"
        out.append(f"{what} `{where}` (md5 {md5_a[:8]} → {md5_b[:8]})")
    return out
