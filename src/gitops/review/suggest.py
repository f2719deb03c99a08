"""`make suggest-gates`: floors and allowances for `gates:` from a run's own noise.

A fork's first gates are guesses; the run it just made says how precisely each metric is
measured on its test set. The bootstrap the report uses gives, per metric:

- a floor (`gates.min`, higher is better): the lower end of the metric's own interval,
  rounded down, so a model as good as this one passes with its noise, a clearly worse
  one does not; a ceiling (`gates.max`, lower is better): the upper end, rounded up;
- an allowance (`gates.max_regression`): the half-width of the interval of the difference
  between two independent measurements of this model (two unpaired resamples of the same
  predictions), rounded up: a drop smaller than that is what noise alone produces.

It prints a YAML block to paste under `gates:`; `--write` changes the numbers of keys
already in params.yaml in place (comments and layout kept) and refuses anything else.
"""

from __future__ import annotations

import argparse
import math
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gitops import yamltext
from gitops.files import write_text
from gitops.metrics import METRICS
from gitops.review import significance
from gitops.review.report import metric_opts, settings_from
from gitops.review.snapshot import from_workspace

#: Metrics proposed when params.yaml has no gates yet.
DEFAULT_FLOORS = ("roc_auc", "average_precision", "top_positives_caught", "log_loss")
DIGITS = 2  # floors, ceilings and allowances in hundredths (business shares: whole points)


@dataclass(frozen=True)
class Suggestion:
    section: str  # "min", "max" or "max_regression"
    metric: str
    value: float
    why: str


def _down(x: float) -> float:
    return math.floor(x * 10**DIGITS + 1e-9) / 10**DIGITS


def _up(x: float) -> float:
    return math.ceil(x * 10**DIGITS - 1e-9) / 10**DIGITS


def suggest(
    scored: significance.Scored,
    measured: Mapping[str, float],
    gates: Mapping[str, Any] | None,
    settings: significance.Settings,
) -> list[Suggestion]:
    """Proposals for the metrics params.yaml gates now (or the defaults when it has none)."""
    deltas, _ = significance.bootstrap_deltas(scored, scored, settings, paired=False)
    gates = gates or {}
    bounded = [*(gates.get("min") or {}), *(gates.get("max") or {})] or [
        m for m in DEFAULT_FLOORS if m in measured
    ]
    allowed = list(gates.get("max_regression") or {}) or [
        m for m in bounded if METRICS.get(m) and METRICS[m].higher_is_better
    ]
    conf = f"{100 * settings.confidence:g}%"
    out = []
    for metric in bounded:
        own = significance.percentile_interval(
            deltas[significance.BASE_PREFIX + metric], settings.confidence
        )
        if own is None or metric not in measured:
            continue
        higher = METRICS[metric].higher_is_better if metric in METRICS else True
        why = f"measured {measured[metric]:.4f}, {conf} interval {own.low:.4f} to {own.high:.4f}"
        if higher:
            out.append(Suggestion("min", metric, _down(own.low), why))
        else:
            out.append(Suggestion("max", metric, _up(own.high), why))
    for metric in allowed:
        diff = significance.percentile_interval(deltas[metric], settings.confidence)
        if diff is None:
            continue
        half = (diff.high - diff.low) / 2
        why = f"two measurements of this model differ by up to ±{half:.4f} ({conf})"
        out.append(Suggestion("max_regression", metric, max(_up(half), 10**-DIGITS), why))
    return out


def as_yaml(suggestions: list[Suggestion], source: str) -> str:
    """The block to paste into params.yaml, each number with the measurement behind it."""
    lines = [f"# Proposed by `make suggest-gates` from {source}", "gates:"]
    for section in ("min", "max", "max_regression"):
        items = [s for s in suggestions if s.section == section]
        if items:
            lines.append(f"  {section}:")
            lines += [f"    {s.metric}: {s.value:g}   # {s.why}" for s in items]
    return "\n".join(lines) + "\n"


def write_into(text: str, suggestions: list[Suggestion]) -> str:
    """params.yaml's text with the suggested numbers in place of the current ones.

    Only numbers of keys already under `gates.<section>` change, on their own lines, so
    comments and layout stay; the result must parse to the same params but those numbers.
    """
    lines = text.splitlines(keepends=True)
    in_gates, section = False, None
    done: set[tuple[str, str]] = set()
    wanted = {(s.section, s.metric): s.value for s in suggestions}
    for i, line in enumerate(lines):
        if re.match(r"^\S", line):
            in_gates, section = line.startswith("gates:"), None
            continue
        if not in_gates:
            continue
        head = re.match(r"^  (\w+):", line)
        if head:
            section = head[1]
            continue
        item = re.match(r"^(    (\w+):\s*)([-+0-9.eE]+)(.*)$", line.rstrip("\n"))
        if item and section and (section, item[2]) in wanted:
            value = wanted[(section, item[2])]
            end = "\n" if line.endswith("\n") else ""
            lines[i] = f"{item[1]}{value:g}{item[4]}{end}"
            done.add((section, item[2]))
    missing = sorted(set(wanted) - done)
    if missing:
        keys = ", ".join(f"gates.{s}.{m}" for s, m in missing)
        raise ValueError(f"params.yaml: {keys} not found as a line to change; paste the block")
    new = "".join(lines)
    before, after = yamltext.load(text), yamltext.load(new)
    for (sec, metric), value in wanted.items():
        before["gates"][sec][metric] = value
    if before != after:
        raise ValueError("params.yaml: changing the numbers in place would change other keys")
    return new


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="gitops suggest-gates", description=__doc__)
    parser.add_argument("--root", type=Path, default=Path())
    parser.add_argument("--write", action="store_true", help="change params.yaml in place")
    args = parser.parse_args(argv)
    run = from_workspace(args.root)
    params = run.params or {}
    where = "models/metrics.json and models/predictions.csv"
    if run.metrics is None or run.predictions is None:
        print(f"suggest-gates: no {where} in the workspace: run `make run` first", file=sys.stderr)
        return 2
    _, settings = settings_from(params)
    scored = significance.Scored.of(run.predictions, *metric_opts(params, params))
    found = suggest(scored, run.metrics, params.get("gates"), settings)
    source = (
        f"this run's {scored.y.size:,} test rows "
        f"({settings.resamples_for(scored.y.size):,} resamples)"
    )
    print(as_yaml(found, source), end="")
    if args.write:
        path = args.root / "params.yaml"
        try:
            write_text(path, write_into(path.read_text(encoding="utf-8"), found))
        except ValueError as err:
            print(f"suggest-gates: {err}", file=sys.stderr)
            return 2
        print(f"suggest-gates: wrote {len(found)} number(s) into {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
