"""`make report`: compare the reproduced workspace with a base revision, decide the gates.

Writes the pull-request comment (`reports/pr_report.md`) and its machine-readable twin
(`reports/pr_report.json`), appends the comment to the GitHub job summary when running in
Actions, and exits 1 when a gate fails.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq

from gitops import git, lockcheck
from gitops.files import write_text
from gitops.metrics import METRICS
from gitops.review import charts, diffs, freshness, gates, render, significance
from gitops.review.snapshot import Snapshot, from_git, from_workspace
from gitops.settings import (
    ReportSettings,
    SettingsError,
    Wording,
    parse_section,
    section_or_default,
)


def settings_from(params: Mapping[str, Any]) -> tuple[ReportSettings, significance.Settings]:
    """The `report:` section with defaults, and the bootstrap settings within it."""
    cfg = parse_section(ReportSettings, params.get("report"), "params.yaml", "report")
    settings = significance.Settings(
        resamples=cfg.resamples,
        max_resample_rows=cfg.max_resample_rows,
        min_resamples=cfg.min_resamples,
        seed=cfg.seed,
        confidence=cfg.confidence,
    )
    return cfg, settings


def resolve_base(base: str | None, branch: str, root: Path) -> tuple[str, str]:
    """The base commit and how it was chosen: explicit, or the merge base with `branch`."""
    if base:
        return git.resolve(base, root), f"`{base}`"
    for candidate in (branch, f"origin/{branch}"):
        try:
            git.resolve(candidate, root)
        except git.GitError:
            continue
        return git.merge_base(candidate, "HEAD", root), f"merge base with `{candidate}`"
    raise git.GitError(
        f"no base given and neither '{branch}' nor 'origin/{branch}' is in this clone; "
        f"pass BASE=<rev> or fetch it: `git fetch origin {branch}`"
    )


def metric_opts(
    params: Mapping[str, Any] | None, fallback: Mapping[str, Any]
) -> tuple[float, float]:
    section = (params or {}).get("metrics") or fallback.get("metrics") or {}
    return float(section.get("threshold", 0.5)), float(section.get("top_fraction", 0.1))


def _compare(
    base: Snapshot, change: Snapshot, settings: significance.Settings, new_data: list[str]
) -> dict[str, Any]:
    """Comparison metadata plus intervals, or why there are none."""
    if base.metrics is None:
        return {"mode": "no base", "reason": "no metrics file committed there", "intervals": {}}
    if new_data:
        return {"mode": "new data", "reason": "; ".join(new_data), "intervals": {}}
    if change.predictions is None or base.predictions is None:
        side = "change" if change.predictions is None else "base"
        return {"mode": "none", "reason": f"no predictions file at the {side}", "intervals": {}}
    params = change.params or {}
    b = significance.Scored.of(base.predictions, *metric_opts(base.params, params))
    c = significance.Scored.of(change.predictions, *metric_opts(change.params, params))
    start = time.perf_counter()
    result = significance.compare(b, c, settings)
    return {
        "mode": result.mode,
        "reason": result.reason,
        "rows_base": result.rows_base,
        "rows_change": result.rows_change,
        "rows_shared": result.rows_shared,
        "resamples": result.resamples,
        "seed": result.seed,
        "confidence": result.confidence,
        "seconds": round(time.perf_counter() - start, 3),
        "roc_auc_delong_p": result.delong_p,
        "intervals": {k: [v.low, v.high] for k, v in result.intervals.items()},
        "base_intervals": {k: [v.low, v.high] for k, v in result.base_intervals.items()},
    }


def metric_rows(
    base: Mapping[str, float] | None,
    change: Mapping[str, float],
    intervals: Mapping[str, list],
    wording: Wording | None = None,
) -> list[dict[str, Any]]:
    """Business metrics first, then statistical ones, then any the registry does not know."""
    names = [n for n in METRICS if n in change and METRICS[n].kind == "business"]
    names += [n for n in METRICS if n in change and METRICS[n].kind != "business"]
    names += sorted(n for n in change if n not in METRICS)
    rows = []
    for name in names:
        info = METRICS.get(name)
        higher = info.higher_is_better if info else True
        old = None if base is None else base.get(name)
        new = float(change[name])
        d = None if old is None else new - float(old)
        iv = intervals.get(name) if d is not None else None
        read = significance.reading(d, None if iv is None else significance.Interval(*iv), higher)
        sig = None if read is None else read != "within noise"
        direction = read if sig else None
        rows.append(
            {
                "name": name,
                "label": info.label_for(wording) if info else name,
                "kind": info.kind if info else "statistical",
                "higher_is_better": higher,
                "base": None if old is None else float(old),
                "change": new,
                "delta": d,
                "interval": iv,
                "significant": sig,
                "direction": direction,
            }
        )
    return rows


def readings(base: Snapshot, change: Snapshot) -> dict[str, str]:
    """Metric → 'better', 'worse' or 'within noise' between two revisions, as the report reads
    them (same bootstrap, same settings); empty when they cannot be compared (no
    predictions, other data). The release notes use it, so both say the same thing.
    """
    params = change.params or {}
    _, settings = settings_from(params)
    if change.metrics is None:
        return {}
    new_data = diffs.dataset_differences(base.lock, change.lock, base.params, params)
    comparison = _compare(base, change, settings, new_data)
    rows = metric_rows(base.metrics, change.metrics, comparison["intervals"])
    return {
        r["name"]: r["direction"] or "within noise" for r in rows if r["significant"] is not None
    }


def _name_segment(text: str, top_fraction: float) -> str:
    """'top segment' in a metric's label, made concrete: 'top 10%'."""
    return text.replace("top segment", f"top {100 * top_fraction:g}%")


def recommendation(rows: list[dict[str, Any]], wording: Wording | None = None) -> str | None:
    """What the significant moves add up to, when they argue against merging or trade off.

    None when nothing moved significantly or everything that moved got better: the gates
    and the table say enough then.
    """
    better = [r["label"] for r in rows if r["direction"] == "better"]
    worse = [r["label"] for r in rows if r["direction"] == "worse"]
    if not worse:
        return None
    if not better:
        return (
            f"No metric improved significantly; {len(worse)} got worse ({', '.join(worse)}) "
            "— no reason to merge this as a model change."
        )
    return (
        f"Trade-off: significantly better on {', '.join(better)}, significantly worse on "
        f"{', '.join(worse)} — merge only if that trade is what the "
        f"{(wording or Wording()).population} need."
    )


def build(
    base: Snapshot | None,
    change: Snapshot,
    head: Snapshot,
    revisions: dict[str, Any],
    run_url: str | None = None,
    lock_problems: list[str] | None = None,
    outside: dict[str, dict[str, int]] | None = None,
) -> dict[str, Any]:
    """The whole report as JSON-ready data; pure apart from the bootstrap's arithmetic.

    `lock_problems` are the lock check's findings on the workspace (`make check-lock`):
    params, code or data that the committed results were not reproduced from. `outside`
    counts the change's values beyond the base's observed ranges (`diffs.outside_counts`).
    """
    params = change.params or {}
    cfg, settings = settings_from(params)
    if change.metrics is None:
        raise ValueError("no metrics in the workspace: run the pipeline first (`make run`)")
    base = base or Snapshot()
    known = set(METRICS) | set(change.metrics)
    policy = gates.parse(params.get("gates"), known)
    new_data = (
        diffs.dataset_differences(base.lock, change.lock, base.params, params)
        if base.metrics is not None
        else []
    )
    comparison = _compare(base, change, settings, new_data)
    intervals = comparison.pop("intervals")
    base_intervals = comparison.pop("base_intervals", {})
    wording = section_or_default(Wording, params.get("wording"))
    rows = metric_rows(base.metrics, change.metrics, intervals, wording)
    top_fraction = metric_opts(change.params, params)[1]
    for row in rows:
        row["label"] = _name_segment(row["label"], top_fraction)
    if new_data:  # another dataset: the base's values stand beside, no move is measured
        for row in rows:
            row["delta"] = None
    deltas = None if base.metrics is None or new_data else {r["name"]: r for r in rows}
    stale = [f"lock check: {p}" for p in (lock_problems or [])]
    stale += freshness.lock_differences(head.lock, change.lock)
    stale += freshness.metric_differences(head.metrics, change.metrics, cfg.metric_tolerance)
    verdicts = gates.decide(policy, change.metrics, deltas, stale, wording)
    if new_data:
        verdicts = [
            replace(v, note="other data at the base: not compared") if v.verdict == "skip" else v
            for v in verdicts
        ]
    suspects = gates.suspicions(
        policy, change.metrics, deltas, base_intervals, change.quality, wording
    )
    suspects = [_name_segment(s, top_fraction) for s in suspects]
    verdicts.append(gates.suspicious_verdict(policy, suspects))
    param_changes = diffs.params_changes(base.params, params) if base.params is not None else []
    policy_keys = [c["key"] for c in param_changes if c["policy"]]
    under_base: str | None = None
    failing_base: list[str] = []
    if policy_keys and base.params is not None:
        try:
            old_policy = gates.parse(base.params.get("gates"), known, "params.yaml at the base")
        except ValueError:
            old_policy = None
        if old_policy is not None:
            old = gates.decide(old_policy, change.metrics, deltas, stale, wording)
            old.append(gates.suspicious_verdict(old_policy, suspects))
            under_base = gates.overall(old)
            failing_now = {v.id for v in verdicts if v.verdict == gates.FAIL}
            failing_base = [
                _name_segment(v.rule, top_fraction)
                for v in old
                if v.verdict == gates.FAIL and v.id not in failing_now
            ]
    verdict_json = [
        v.to_json()
        | {
            "rule": _name_segment(v.rule, top_fraction),
            "label": _name_segment(gates.label(v.metric, wording), top_fraction)
            if v.metric
            else (gates.SUSPICIOUS_LABEL if v.id == gates.SUSPICIOUS else gates.STALE_LABEL),
        }
        for v in verdicts
    ]
    return {
        "verdict": gates.overall(verdicts),
        "failing": [v["rule"] for v in verdict_json if v["verdict"] == gates.FAIL],
        "warnings": [v["rule"] for v in verdict_json if v["verdict"] == gates.WARN],
        "revisions": revisions,
        "comparison": comparison,
        "metrics": rows,
        "gates": verdict_json,
        "policy": {
            "changed": bool(policy_keys),
            "keys": policy_keys,
            "verdict_under_base_gates": under_base,
            "only_failing_under_base_gates": failing_base,
        },
        "recommendation": None if new_data else recommendation(rows, wording),
        "suspicious": suspects,
        "new_data": new_data,
        "params": param_changes,
        "data": diffs.data_changes(base.quality, change.quality, outside),
        "stale": {"differences": stale, "fix": freshness.FIX_COMMAND},
        "run_url": run_url,
        "wording": wording.model_dump(),
        "omitted": [],
    }


def _outside(root: Path, change: Snapshot, base: Snapshot) -> dict[str, dict[str, int]]:
    """Count the workspace's validated values beyond the base's ranges, where both exist."""
    base_ranges = (base.quality or {}).get("ranges")
    clean = ((change.params or {}).get("data") or {}).get("clean")
    if not base_ranges or not clean or not (root / clean).is_file():
        return {}
    try:
        present = set(pq.read_schema(root / clean).names)
        columns = [c for c in base_ranges if c in present]
        frame = pd.read_parquet(root / clean, columns=columns)
    except (OSError, ValueError) as err:  # unreadable: the ranges alone are compared
        print(f"report: {clean}: not read for out-of-range counts ({err})", file=sys.stderr)
        return {}
    return diffs.outside_counts(frame, base_ranges)


def run_url(environ: Mapping[str, str]) -> str | None:
    keys = ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID")
    if all(environ.get(k) for k in keys):
        server, repo, run = (environ[k] for k in keys)
        return f"{server}/{repo}/actions/runs/{run}"
    return None


def generate(
    root: Path, base_rev: str | None, environ: Mapping[str, str]
) -> tuple[dict[str, Any], str, ReportSettings]:
    """Read both revisions, build the report and render the comment (and the config used)."""
    change = from_workspace(root)
    cfg, _ = settings_from(change.params or {})
    head_sha = git.resolve("HEAD", root)
    base_sha, how = resolve_base(base_rev, cfg.base_branch, root)
    revisions = {
        "base": {"rev": base_rev or cfg.base_branch, "sha": base_sha, "how": how},
        "change": {"sha": head_sha, "dirty": git.dirty(root)},
    }
    base = from_git(base_sha, root)
    report = build(
        base,
        change,
        from_git(head_sha, root),
        revisions,
        run_url(environ),
        lockcheck.problems(root),
        _outside(root, change, base),
    )
    wording = section_or_default(Wording, (change.params or {}).get("wording"))
    plots = charts.all_charts(base.plots, change.plots, wording)
    text, omitted = render.render(report, plots, cfg.max_chars)
    report["omitted"] = omitted
    return report, text, cfg


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="gitops report", description=__doc__)
    parser.add_argument("--base", default=os.environ.get("BASE") or None, help="base revision")
    parser.add_argument("--root", default=".", help="repository root (the workspace)")
    args = parser.parse_args(argv)
    root = Path(args.root).resolve()
    try:
        report, text, cfg = generate(root, args.base, os.environ)
    except (git.GitError, SettingsError, ValueError, KeyError) as err:
        print(f"report: {err}", file=sys.stderr)
        return 2
    write_text(root / cfg.output, text)
    write_text(root / cfg.json_path, json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        with Path(summary).open("a", encoding="utf-8") as fh:
            fh.write(text + "\n")
    status = report["verdict"]
    print(f"report: {status} -> {cfg.output}, {cfg.json_path}")
    for rule in report["failing"]:
        print(f"  failed: {rule}")
    return 1 if status == gates.FAIL else 0


if __name__ == "__main__":
    sys.exit(main())
