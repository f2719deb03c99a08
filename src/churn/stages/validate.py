"""Stage `validate`: check the raw export against the schema, remove repeated customers."""

from __future__ import annotations

import argparse
import sys

from churn import io, quality, validation
from churn.persist import sha256_file


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--input", required=True, help="raw CSV export")
    parser.add_argument("--output", required=True, help="validated records (parquet)")
    parser.add_argument("--summary", required=True, help="data-quality summary (JSON)")
    parser.add_argument("--params", default="params.yaml")
    args = parser.parse_args(argv)
    params = io.section(io.load_params(args.params), "validate", args.params)
    try:
        raw = validation.check(validation.read_csv(args.input), args.input)
    except validation.DataValidationError as exc:
        print(f"validate: {exc}", file=sys.stderr)
        print("validate: nothing was written; earlier outputs are unchanged.", file=sys.stderr)
        return 1
    result = quality.clean(
        raw,
        drop_duplicates=bool(params["drop_duplicates"]),
        drop_conflicts=bool(params["drop_conflicting_labels"]),
    )
    summary = quality.summary(raw, result, source=args.input, sha256=sha256_file(args.input))
    io.write_parquet(args.output, result.frame)
    io.write_json(args.summary, summary)
    print(f"validate: {summary['rows_in']} rows in, {summary['rows_out']} kept")
    for item in summary["dropped"]:
        print(f"validate: dropped {item['rows']}: {item['reason']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
