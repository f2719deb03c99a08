"""Stage `reference`: what the training data and the release looked like, for monitoring."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pandas as pd

from churn import io, reference
from churn.persist import sha256_file


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--train", required=True, help="training rows (parquet)")
    parser.add_argument("--model", required=True)
    parser.add_argument("--predictions", required=True, help="held-out predictions (CSV)")
    parser.add_argument("--metrics", required=True, help="metrics recorded at evaluation")
    parser.add_argument("--output", required=True)
    parser.add_argument("--params", default="params.yaml")
    args = parser.parse_args(argv)
    params = io.load_params(args.params)
    ref = io.section(params, "reference", args.params)
    cut = io.section(params, "metrics", args.params)
    built = reference.build_reference(
        pd.read_parquet(args.train),
        pd.read_csv(args.predictions)["score"].to_numpy(),
        json.loads(Path(args.metrics).read_text(encoding="utf-8")),
        model_sha256=sha256_file(args.model),
        bins=int(ref["bins"]),
        risk_bands=[float(e) for e in ref["risk_bands"]],
        threshold=float(cut["threshold"]),
        top_fraction=float(cut["top_fraction"]),
    )
    io.write_json(args.output, built)
    flagged = built["risk"]["flagged_share"]
    print(
        f"reference: {len(built['features'])} features over {built['rows']} training "
        f"rows; {flagged:.1%} of held-out customers flagged high-risk"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
