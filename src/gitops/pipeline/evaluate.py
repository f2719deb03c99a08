"""Stage `evaluate`: metrics, curve data and per-row predictions on the test set."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import pandas as pd

from gitops import curves, metrics
from gitops.contract import load
from gitops.contract.spec import Contract
from gitops.files import write_csv, write_json
from gitops.pipeline.quality import ROW_ID
from gitops.scoring import persist
from gitops.scoring.bundle import positive_proba
from gitops.settings import Settings


def predictions(model: Any, test: pd.DataFrame, contract: Contract) -> pd.DataFrame:
    """Per-row scores keyed by the stable row id, for paired comparisons between revisions.

    `value` is the business weight of a record (roles.value), 1 when the contract has none.
    """
    score = positive_proba(model, test[contract.feature_names])
    value = test[contract.value].to_numpy() if contract.value else 1.0
    return pd.DataFrame(
        {
            "row_id": test[ROW_ID].to_numpy(),
            "label": test[contract.label].to_numpy(),
            "score": score,
            "value": value,
        }
    ).sort_values("row_id", kind="stable", ignore_index=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", required=True)
    parser.add_argument("--test", required=True)
    parser.add_argument("--metrics", required=True)
    parser.add_argument("--predictions", required=True)
    parser.add_argument("--plots", required=True, help="folder for the curve CSVs")
    parser.add_argument("--params", default="params.yaml")
    args = parser.parse_args(argv)
    settings = Settings.load(args.params)
    contract = load.load(settings.data.contract)
    model = persist.load(args.model, trusted=settings.serving.trusted_types)
    preds = predictions(model, pd.read_parquet(args.test), contract)
    y, score = preds["label"].to_numpy(), preds["score"].to_numpy()
    values = metrics.point(
        y,
        score,
        preds["value"].to_numpy(),
        threshold=settings.metrics.threshold,
        top_fraction=settings.metrics.top_fraction,
    )
    for name, frame in curves.all_curves(y, score).items():
        write_csv(Path(args.plots) / curves.PLOTS[name][0], frame, float_format="%.6g")
    write_csv(args.predictions, preds)
    write_json(args.metrics, {k: round(v, 10) for k, v in values.items()})
    print("evaluate: " + ", ".join(f"{k} {v:.4f}" for k, v in values.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
