"""A batch of customers with a known, seeded shift: what a drift report looks like.

The scenario (params.yaml `monitor.demo`): customers drawn from the bundled sample, then
the month after a network outage. They use the network less (the usage columns fall by
`usage_factor`) and more of them complain (a `new_complaint_rate` share of those who had
not complained now have). A few rows are broken on purpose, one rule each, to show how
rows breaking the schema are reported instead of dropped. Labels are kept, so the report
also shows how the model's quality moved.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import numpy as np
import pandas as pd

from churn import io, schema, validation

#: How the broken rows break the schema, applied in turn: (column, value as written).
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
    usage_columns: list[str],
    usage_factor: float,
    new_complaint_rate: float,
) -> pd.DataFrame:
    """A seeded sample of typed customer records with the scenario's shift applied."""
    unknown = sorted(set(usage_columns) - set(schema.feature_names()))
    if unknown:
        raise ValueError(f"params.yaml: monitor.demo.usage_columns names unknown {unknown}")
    rng = np.random.default_rng(seed)
    batch = customers.sample(n=rows, replace=rows > len(customers), random_state=seed)
    batch = batch.reset_index(drop=True)
    for name in usage_columns:
        batch[name] = np.round(batch[name] * usage_factor).astype(batch[name].dtype)
    calm = batch["complained"].eq(0).to_numpy()
    batch.loc[calm & (rng.random(len(batch)) < new_complaint_rate), "complained"] = 1
    return batch


def break_rows(batch: pd.DataFrame, count: int, seed: int) -> pd.DataFrame:
    """The batch as text, with `count` seeded rows each breaking one rule of the schema."""
    out = batch.astype(object).astype(str)
    positions = np.random.default_rng(seed + 1).choice(len(out), size=count, replace=False)
    for k, pos in enumerate(sorted(positions)):
        column, value = BREAKS[k % len(BREAKS)]
        out.iloc[pos, out.columns.get_loc(column)] = value
    return out


def published(frame: pd.DataFrame) -> pd.DataFrame:
    """Headers as the operator's export names them, like a real batch would arrive."""
    names = {c.name: c.source for c in schema.COLUMNS}
    return frame.rename(columns=names)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--output", help="default: params monitor.demo.output")
    args = parser.parse_args(argv)
    demo: dict[str, Any] = io.section(io.section(io.load_params(args.params), "monitor"), "demo")
    source = str(demo["source"])
    try:
        customers = validation.check(validation.read_csv(source), source)
    except validation.DataValidationError as exc:
        print(f"demo-batch: {exc}", file=sys.stderr)
        return 2
    batch = drifted(
        customers,
        rows=int(demo["rows"]),
        seed=int(demo["seed"]),
        usage_columns=list(demo["usage_columns"]),
        usage_factor=float(demo["usage_factor"]),
        new_complaint_rate=float(demo["new_complaint_rate"]),
    )
    text = break_rows(batch, int(demo["broken_rows"]), int(demo["seed"]))
    output = args.output or str(demo["output"])
    io.write_csv(output, published(text))
    print(f"demo-batch: wrote {len(text)} rows to {output} ({demo['broken_rows']} broken)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
