"""Stage `validate`: check the raw export against the contract, remove repeated records.

A refused file writes nothing: the outputs are DVC `persist` outputs (dvc.yaml), so what an
earlier run produced is still there, byte for byte, and the message lists it as kept.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from gitops.contract import load, reading
from gitops.contract.spec import Contract
from gitops.contract.validate import DataValidationError, check
from gitops.files import atomic_paths, digest, write_json, write_parquet
from gitops.pipeline import quality, screening
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
        one_class(raw, contract, args.input)
    except (SettingsError, load.ContractError, DataValidationError) as exc:
        print(f"validate: {exc}", file=sys.stderr)
        print(f"validate: {kept([args.output, args.summary])}", file=sys.stderr)
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
    summary["leakage"] = screening.leakage(result.frame, contract, options.leakage_auc)
    summary["ranges"] = screening.ranges(result.frame, contract)
    with atomic_paths(args.output, args.summary) as (output, summary_path):
        write_parquet(output, result.frame)
        write_json(summary_path, summary)
    print(f"validate: {summary['rows_in']} rows in, {summary['rows_out']} kept")
    for item in summary["dropped"]:
        print(f"validate: dropped {item['rows']}: {item['reason']}")
    for suspect in summary["leakage"]["suspects"]:
        print(f"validate: leakage suspect '{suspect['field']}': {suspect['detail']}")
    return 0


def one_class(raw: pd.DataFrame, contract: Contract, source: str) -> None:
    """Refuse training data whose label holds a single class: no model can learn from it."""
    label = contract.label
    found = raw[label].dropna().unique()
    if len(found) == 1:
        field = contract.field(label)
        shown = "the positive class" if found[0] == 1 else "a class other than the positive one"
        raise DataValidationError(
            source,
            [
                f"column '{label}'{_published(field.title, label)}: must hold at least two "
                f"classes: all {len(raw)} row(s) (lines {raw.index.min()}-{raw.index.max()}) "
                f"hold {shown}"
            ],
        )


def _published(title: str | None, name: str) -> str:
    return f" (published as '{title}')" if title and title != name else ""


def kept(outputs: list[str]) -> str:
    """What a refused run left, truthfully: it wrote nothing, so what existed is unchanged."""
    present = [p for p in outputs if Path(p).is_file()]
    absent = [p for p in outputs if p not in present]
    said = ["nothing was written"]
    if present:
        said.append(f"kept unchanged: {', '.join(present)}")
    if absent:
        said.append(f"not produced yet: {', '.join(absent)}")
    return "; ".join(said) + "."


if __name__ == "__main__":
    sys.exit(main())
