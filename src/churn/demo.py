"""Fork: the demo batch's shift, a batch with a known cause to show what drift looks like.

The scenario (params.yaml `monitor.demo`): customers drawn from the bundled sample, then
the month after a network outage. They use the network less (the usage columns fall by
`usage_factor`) and more of them complain (a `new_complaint_rate` share of those who had
not complained now have). A few rows are broken on purpose, one rule each, to show how rows
breaking the contract are reported instead of dropped. Labels are kept, so the report also
shows how the model's quality moved. `make demo-batch` runs it through
`gitops.monitoring.demo`, which reads, validates and writes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: How the broken rows break the contract, applied in turn: (column, value as written).
BREAKS: tuple[tuple[str, str], ...] = (
    ("call_count", "-3"),
    ("charge_amount", "12"),
    ("complained", "yes"),
    ("customer_value", ""),
    ("subscription_months", "130"),
    ("age", "55"),
)


def drifted(
    customers: pd.DataFrame,
    *,
    rows: int,
    seed: int,
    broken_rows: int,
    usage_columns: list[str],
    usage_factor: float,
    new_complaint_rate: float,
) -> pd.DataFrame:
    """A seeded sample of typed customer records with the shift applied, as text."""
    unknown = sorted(set(usage_columns) - set(customers.columns))
    if unknown:
        raise ValueError(
            f"params.yaml: monitor.demo.settings.usage_columns names unknown {unknown}"
        )
    rng = np.random.default_rng(seed)
    batch = customers.sample(n=rows, replace=rows > len(customers), random_state=seed)
    batch = batch.reset_index(drop=True)
    for name in usage_columns:
        batch[name] = np.round(batch[name] * usage_factor).astype(batch[name].dtype)
    calm = batch["complained"].eq(0).to_numpy()
    batch.loc[calm & (rng.random(len(batch)) < new_complaint_rate), "complained"] = 1
    return break_rows(batch, broken_rows, seed)


def break_rows(batch: pd.DataFrame, count: int, seed: int) -> pd.DataFrame:
    """The batch as text, with `count` seeded rows each breaking one rule of the contract."""
    out = batch.astype(object).astype(str)
    positions = np.random.default_rng(seed + 1).choice(len(out), size=count, replace=False)
    for k, pos in enumerate(sorted(positions)):
        column, value = BREAKS[k % len(BREAKS)]
        out.iloc[pos, out.columns.get_loc(column)] = value
    return out
