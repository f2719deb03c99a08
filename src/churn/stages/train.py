"""Stage `train`: fit the pipeline chosen in params.yaml and save it with skops."""

from __future__ import annotations

import argparse
import sys

import pandas as pd

from churn import io, model, persist, schema


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--train", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument(
        "--input-schema", required=True, help="JSON Schema of a record to score (the API contract)"
    )
    parser.add_argument("--params", default="params.yaml")
    args = parser.parse_args(argv)
    params = io.section(io.load_params(args.params), "train", args.params)
    frame = pd.read_parquet(args.train)
    pipeline = model.build(params).fit(frame[schema.feature_names()], frame[schema.TARGET])
    digest = persist.save(pipeline, args.model)
    io.write_json(args.input_schema, schema.json_schema())
    print(f"train: {params['model']} on {len(frame)} rows, sha256 {digest[:12]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
