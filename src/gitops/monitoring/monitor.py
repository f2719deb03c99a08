"""`make monitor`: do the records a model now scores still look like its training data?

Validates a batch against the data contract, scores the valid rows with the model the
reference was computed for, and compares features, predicted risk and (when labels are
present) metrics with the reference (`gitops.monitoring.drift` holds the statistics and
the report). Runs from the repository (models/ files) or from an installed release's
artifacts (`--reference`, `--model`, `--contract`); only the thresholds come from
params.yaml.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from gitops import metrics
from gitops.contract import load as contract_load
from gitops.contract import reading
from gitops.contract.spec import Contract
from gitops.contract.validate import DataValidationError, split_valid
from gitops.files import digest, write_json, write_text
from gitops.monitoring import drift
from gitops.pipeline.baseline import FORMAT
from gitops.scoring import persist
from gitops.scoring.bundle import positive_proba
from gitops.settings import Settings, SettingsError, Wording

#: Rows breaking the contract listed one by one in the report (all are counted).
EXAMPLES_MD = 20
EXAMPLES_JSON = 1000


class UnusableInputError(ValueError):
    """The batch, the reference or the model cannot be used at all (exit code 2)."""


# --- checking a batch -------------------------------------------------------------------


def check_batch(
    frame: pd.DataFrame,
    source: str,
    contract: Contract,
    reference: dict[str, Any],
    model: Any,
    limits: drift.Thresholds,
    wording: Wording | None = None,
) -> dict[str, Any]:
    """The drift report of one batch (as read by `reading.read_csv`)."""
    valid, failures = split_valid(frame, contract, source)
    if valid.empty:
        rules = _rules(failures)
        shown = "; ".join(f"{r['column']}: {r['rule']} ({r['rows']} rows)" for r in rules[:5])
        raise UnusableInputError(
            f"{source}: no valid rows to score: all {len(frame)} rows break the contract ({shown})"
        )
    features = [
        drift.compare_distribution(name, spec, valid[name].to_numpy(), limits)
        for name, spec in reference["features"].items()
    ]
    scores = positive_proba(model, valid[contract.feature_names])
    invalid_rows = int(failures["line"].nunique())
    report: dict[str, Any] = {
        "input": source,
        "rows": {
            "total": len(frame),
            "valid": len(valid),
            "invalid": invalid_rows,
            "invalid_share": round(invalid_rows / len(frame), 6),
        },
        "reference": {
            "rows": reference["rows"],
            "model_sha256": reference["model_sha256"],
        },
        "thresholds": limits.as_dict(),
        "features": drift.rank(features),
        "risk": drift.compare_risk(reference["risk"], scores, limits),
        "quality": _quality(valid, scores, contract, reference, limits, wording),
        "out_of_range": out_of_range(valid, reference.get("ranges", {})),
        "invalid": {
            "rows": invalid_rows,
            "failures": len(failures),
            "rules": _rules(failures),
            "examples": failures.head(EXAMPLES_JSON).to_dict(orient="records"),
        },
    }
    report["reasons"] = drift.reasons(report, limits)
    report["crossed"] = bool(report["reasons"])
    return report


def out_of_range(
    valid: pd.DataFrame, ranges: Mapping[str, Mapping[str, float]]
) -> dict[str, dict[str, Any]]:
    """Per numeric feature: valid values below or above the training range.

    They passed the contract (plausible), but the model never saw such a value and scores it
    by extrapolation, so they are counted, not refused. A reference written before training
    ranges were recorded has none, and nothing is counted.
    """
    out: dict[str, dict[str, Any]] = {}
    for name, bounds in ranges.items():
        if name not in valid:
            continue
        values = pd.to_numeric(valid[name], errors="coerce")
        below = int((values < bounds["min"]).sum())
        above = int((values > bounds["max"]).sum())
        out[name] = {
            "train_min": bounds["min"],
            "train_max": bounds["max"],
            "below": below,
            "above": above,
            "share": round((below + above) / len(valid), 6) if len(valid) else 0.0,
        }
    return out


def _quality(
    valid: pd.DataFrame,
    scores: NDArray,
    contract: Contract,
    reference: dict[str, Any],
    limits: drift.Thresholds,
    wording: Wording | None = None,
) -> dict[str, Any] | None:
    """Metrics on a labelled batch against those recorded at release."""
    label = contract.label
    if label not in valid or valid[label].isna().all():
        return None
    known = valid[label].notna().to_numpy()
    valid, scores = valid[known], scores[known]
    y = valid[label].to_numpy().astype(np.int64)
    base = {"rows": len(y), "label_rate": round(float(y.mean()), 6)}
    if len(y) < limits.min_labelled_rows:
        return base | {"skipped": f"{len(y)} labelled rows, fewer than {limits.min_labelled_rows}"}
    if y.min() == y.max():
        return base | {"skipped": "the labels hold one class only"}
    value = valid[contract.value].to_numpy() if contract.value else None
    cut = {
        "threshold": float(reference["risk"]["threshold"]),
        "top_fraction": float(reference["risk"]["top_fraction"]),
    }
    batch = metrics.point(y, scores, value, **cut)
    samples = drift.bootstrap_metrics(
        y, scores, value, **cut, resamples=limits.bootstrap, seed=limits.seed
    )
    release = reference["metrics"]
    p_values = {
        name: drift.drop_p_value(
            samples[name], release[name], metrics.METRICS[name].higher_is_better
        )
        for name in limits.watch_metrics
        if name in release
    }
    return base | {"metrics": drift.compare_metrics(release, batch, limits, p_values, wording)}


def _rules(failures: pd.DataFrame) -> list[dict[str, Any]]:
    grouped = failures.groupby(["column", "rule"], sort=False)["line"].nunique()
    return [{"column": c, "rule": r, "rows": int(n)} for (c, r), n in grouped.items()]


def summary(report: dict[str, Any], *, top: int = 5) -> str:
    """A few lines for the terminal; the markdown report has the rest."""
    rows = report["rows"]
    head = "DRIFT: thresholds crossed" if report["crossed"] else "OK: the batch is in range"
    lines = [
        f"monitor: {head}",
        f"  {report['input']}: {rows['total']} rows, {rows['valid']} scored, "
        f"{rows['invalid']} breaking the contract",
        *(f"  - {r}" for r in report["reasons"]),
        "  most shifted features:",
        *(
            f"    {f['name']:<24} PSI {f['psi']:6.3f}  {f['status']}"
            for f in report["features"][:top]
        ),
        f"  share flagged high-risk: {report['risk']['flagged_reference']:.1%} at release, "
        f"{report['risk']['flagged_batch']:.1%} now",
    ]
    return "\n".join(lines)


# --- command line -----------------------------------------------------------------------


def load_reference(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise UnusableInputError(
            f"{path}: reference not found; run `make run` to compute it, or pass the "
            "reference.json of an installed release with --reference"
        )
    try:
        ref = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UnusableInputError(f"{path}: not a readable reference ({exc})") from None
    missing = [
        k for k in ("format", "model_sha256", "rows", "features", "risk", "metrics") if k not in ref
    ]
    if missing or ref.get("format") != FORMAT:
        raise UnusableInputError(
            f"{path}: not a reference of format {FORMAT} (missing {', '.join(missing) or 'none'})"
        )
    return ref


def load_model(
    path: str | Path, reference: dict[str, Any], reference_path: str, trusted: tuple[str, ...] = ()
) -> Any:
    """The model the reference was computed for, and no other."""
    path = Path(path)
    if not path.is_file():
        raise UnusableInputError(f"{path}: model file not found; run `make run` or pass --model")
    actual = digest(path)
    if actual != reference["model_sha256"]:
        raise UnusableInputError(
            f"{path}: SHA-256 {actual[:12]} is not the model {reference_path} was computed "
            f"for ({reference['model_sha256'][:12]}); pass the model and reference of one release"
        )
    try:
        return persist.load(path, expected_sha256=actual, trusted=trusted)
    except persist.ModelFileError as exc:
        raise UnusableInputError(str(exc)) from None


def read_batch(path: str, contract: Contract) -> pd.DataFrame:
    try:
        return reading.read_csv(path, contract)
    except DataValidationError as exc:
        raise UnusableInputError(str(exc)) from None
    except OSError as exc:
        raise UnusableInputError(f"{path}: cannot be read ({exc.strerror or exc})") from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input", required=True, help="CSV of records to check")
    parser.add_argument("--reference", help="reference.json (default: params reference.path)")
    parser.add_argument("--model", help="model file (default: params model.path)")
    parser.add_argument("--contract", help="data contract (default: params data.contract)")
    parser.add_argument("--report", help="path stem of the .md and .json reports")
    parser.add_argument("--params", default="params.yaml")
    args = parser.parse_args(argv)
    try:
        settings = _settings(args.params)
        if settings.monitor is None or settings.reference is None:
            raise UnusableInputError(f"{args.params}: needs the 'monitor' and 'reference' sections")
        limits = drift.Thresholds.from_params(settings.monitor.model_dump(), args.params)
        ref_path = args.reference or settings.reference.path
        reference = load_reference(ref_path)
        contract = contract_load.load(args.contract or settings.data.contract)
        trusted = settings.serving.trusted_types
        model = load_model(args.model or settings.model.path, reference, ref_path, trusted)
        batch = read_batch(args.input, contract)
        report = check_batch(
            batch, args.input, contract, reference, model, limits, settings.wording
        )
    except (
        UnusableInputError,
        DataValidationError,
        contract_load.ContractError,
        KeyError,
        ValueError,
    ) as exc:
        message = exc.args[0] if isinstance(exc, KeyError) else str(exc)
        print(f"monitor: {message}", file=sys.stderr)
        print("monitor: no report written; earlier reports are unchanged.", file=sys.stderr)
        return 2
    stem = Path(args.report or settings.monitor.report)
    # The suffixes are added, never swapped: a stem like `mon_0.6` keeps its name.
    json_path, md_path = (stem.with_name(stem.name + ext) for ext in (".json", ".md"))
    markdown = drift.render_markdown(_for_markdown(report), settings.wording)
    write_json(json_path, report)
    write_text(md_path, markdown)
    print(summary(report))
    print(f"monitor: wrote {md_path} and {json_path}")
    return 1 if report["crossed"] else 0


def _for_markdown(report: dict[str, Any]) -> dict[str, Any]:
    invalid = dict(report["invalid"], examples=report["invalid"]["examples"][:EXAMPLES_MD])
    return dict(report, invalid=invalid)


def _settings(path: str) -> Settings:
    if not Path(path).is_file():
        raise UnusableInputError(f"{path}: params file not found (it holds the monitor thresholds)")
    try:
        return Settings.load(path)
    except SettingsError as exc:
        raise UnusableInputError(str(exc)) from None


if __name__ == "__main__":
    sys.exit(main())
