"""A field's constraints as vectorised checks: one definition for every path that validates.

Validation hands these to pandera (which reports each failing row), the fast path of batch
scoring evaluates the same functions directly, and the HTTP API runs them after the JSON
Schema: a rule is written once, here, from the contract.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from gitops.contract.spec import Contract, FieldSpec, _show


@dataclass(frozen=True)
class Check:
    """`test` is True where a typed value meets `rule`; blanks pass (`required` judges them)."""

    column: str
    rule: str  # "must be >= 0": how error messages state it
    test: Callable[[pd.Series], Any]

    def failing(self, values: pd.Series) -> pd.Series:
        ok = pd.Series(np.asarray(self.test(values), dtype=bool), index=values.index)
        return ~ok & values.notna()


def field_checks(field: FieldSpec) -> list[Check]:
    """Constraints of one typed field (types were checked when parsing)."""
    c, name = field.constraints, field.name
    checks: list[Check] = []
    allowed = field.allowed
    if allowed is not None and field.type != "boolean":
        values = list(allowed)
        checks.append(Check(name, "must be " + field.rule(), lambda s: s.isin(values)))
    bound = _date_bound if field.type == "date" else float
    for attr, text, op in (
        ("minimum", ">=", np.greater_equal),
        ("exclusive_minimum", ">", np.greater),
        ("maximum", "<=", np.less_equal),
        ("exclusive_maximum", "<", np.less),
    ):
        limit = getattr(c, attr)
        if limit is None or allowed is not None:
            continue
        value = bound(limit)
        checks.append(
            Check(name, f"must be {text} {_show(limit)}", lambda s, v=value, f=op: f(s, v))
        )
    if c.min_length is not None:
        n = c.min_length
        checks.append(
            Check(name, f"must be at least {n} characters long", lambda s: s.str.len() >= n)
        )
    if c.max_length is not None:
        m = c.max_length
        checks.append(
            Check(name, f"must be at most {m} characters long", lambda s: s.str.len() <= m)
        )
    if c.pattern is not None:
        pattern = re.compile(c.pattern)
        checks.append(
            Check(
                name,
                f"must match {c.pattern}",
                lambda s: s.map(lambda v: not isinstance(v, str) or bool(pattern.fullmatch(v))),
            )
        )
    return checks


def all_checks(contract: Contract) -> dict[str, list[Check]]:
    return {f.name: field_checks(f) for f in contract.fields}


def _date_bound(value: Any) -> pd.Timestamp:
    return pd.Timestamp(str(value))
