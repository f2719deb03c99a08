"""Stage `validate`: check the raw export against the contract, remove repeated records."""

from __future__ import annotations

import argparse
import sys

from gitops.contract import load, reading
from gitops.contract.validate import DataValidationError, check
from gitops.files import digest, write_json, write_parquet
from gitops.pipeline import quality
from gitops.settings import Settings, SettingsError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--input", required=True, help="raw CSV export")
    parser.add_argument("--output", required=True, help="validated records (parquet)")
    parser.add_argument("--summary", required=True, help="data-quality summary (JSON)")
    parser.add_argument("--params", default="params.yaml")
    args = parser.parse_args(argv)
    try:
        settings = Settings.load(args.params)
        contract = load.load(settings.data.contract)
        findings = (
            load.import_hook(settings.validate_.findings, f"{args.params}: validate.findings")
            if settings.validate_.findings
            else None
        )
        raw = check(reading.read_csv(args.input, contract), contract, args.input)
    except (SettingsError, load.ContractError, DataValidationError) as exc:
        print(f"validate: {exc}", file=sys.stderr)
        print("validate: nothing was written; earlier outputs are unchanged.", file=sys.stderr)
        return 1
    options = settings.validate_
    result = quality.clean(
        raw,
        contract,
        drop_duplicates=options.drop_duplicates,
        drop_conflicts=options.drop_conflicting_labels,
    )
    summary = quality.summary(
        raw,
        result,
        contract,
        source=args.input,
        sha256=digest(args.input),
        contract_sha256=digest(settings.data.contract),
        findings=findings,
    )
    write_parquet(args.output, result.frame)
    write_json(args.summary, summary)
    print(f"validate: {summary['rows_in']} rows in, {summary['rows_out']} kept")
    for item in summary["dropped"]:
        print(f"validate: dropped {item['rows']}: {item['reason']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
