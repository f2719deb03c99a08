"""Stage `train`: fit the pipeline params.yaml chooses, save it with skops, export the
JSON Schema of a record (the API's input contract)."""

from __future__ import annotations

import argparse
import sys

import pandas as pd

from gitops.contract import load
from gitops.contract.json_schema import record_schema
from gitops.files import write_json
from gitops.pipeline import estimator
from gitops.scoring import persist
from gitops.settings import Settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--train", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument(
        "--input-schema", required=True, help="JSON Schema of a record to score (the API contract)"
    )
    parser.add_argument("--params", default="params.yaml")
    args = parser.parse_args(argv)
    settings = Settings.load(args.params)
    contract = load.load(settings.data.contract)
    frame = pd.read_parquet(args.train)
    pipeline = estimator.build(contract, settings.train, args.params)
    estimator.fit(
        pipeline, frame[contract.feature_names], frame[contract.label], settings.train.threads
    )
    digest = persist.save(pipeline, args.model)
    write_json(args.input_schema, record_schema(contract))
    print(f"train: {settings.train.model} on {len(frame)} rows, sha256 {digest[:12]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
