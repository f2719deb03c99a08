"""Stage `reference`: what the training data and the release looked like, for monitoring."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pandas as pd

from gitops.contract import load
from gitops.files import digest, write_json
from gitops.pipeline import baseline
from gitops.settings import Settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--train", required=True, help="training rows (parquet)")
    parser.add_argument("--model", required=True)
    parser.add_argument("--predictions", required=True, help="held-out predictions (CSV)")
    parser.add_argument("--metrics", required=True, help="metrics recorded at evaluation")
    parser.add_argument("--output", required=True)
    parser.add_argument("--params", default="params.yaml")
    args = parser.parse_args(argv)
    settings = Settings.load(args.params)
    if settings.reference is None:
        print(f"reference: {args.params} has no 'reference' section", file=sys.stderr)
        return 1
    built = baseline.build_reference(
        pd.read_parquet(args.train),
        load.load(settings.data.contract),
        pd.read_csv(args.predictions)["score"].to_numpy(),
        json.loads(Path(args.metrics).read_text(encoding="utf-8")),
        model_sha256=digest(args.model),
        bins=settings.reference.bins,
        risk_bands=settings.reference.risk_bands,
        threshold=settings.metrics.threshold,
        top_fraction=settings.metrics.top_fraction,
    )
    write_json(args.output, built)
    flagged = built["risk"]["flagged_share"]
    print(
        f"reference: {len(built['features'])} features over {built['rows']} training "
        f"rows; {flagged:.1%} of held-out records flagged high-risk"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
