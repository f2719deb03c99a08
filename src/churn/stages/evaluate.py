"""Stage `evaluate`: metrics, curve data and per-row predictions on the test set."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from churn import io, persist, schema
from gitops import curves, metrics


def predictions(model: object, test: pd.DataFrame) -> pd.DataFrame:
    """Per-row scores keyed by the stable row id, for paired comparisons between revisions."""
    score = model.predict_proba(test[schema.feature_names()])[:, 1]  # type: ignore[attr-defined]
    return pd.DataFrame(
        {
            "row_id": test[schema.ROW_ID].to_numpy(),
            "label": test[schema.TARGET].to_numpy(),
            "score": score,
            "value": test[schema.VALUE].to_numpy(),
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
    params = io.section(io.load_params(args.params), "metrics", args.params)
    preds = predictions(persist.load(args.model), pd.read_parquet(args.test))
    y, score = preds["label"].to_numpy(), preds["score"].to_numpy()
    values = metrics.point(
        y,
        score,
        preds["value"].to_numpy(),
        threshold=float(params["threshold"]),
        top_fraction=float(params["top_fraction"]),
    )
    for name, frame in curves.all_curves(y, score).items():
        io.write_csv(Path(args.plots) / curves.PLOTS[name][0], frame, float_format="%.6g")
    io.write_csv(args.predictions, preds)
    io.write_json(args.metrics, {k: round(v, 10) for k, v in values.items()})
    print("evaluate: " + ", ".join(f"{k} {v:.4f}" for k, v in values.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
