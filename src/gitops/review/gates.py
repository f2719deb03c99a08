"""Merge gates: rules in params.yaml, decided against measured values and their noise.

Absolute gates (`min`, `max`) judge the change's measured value. Regression gates
(`max_regression`) judge the move against the base and take noise into account: a drop
beyond the allowance fails only when it is also significant (the interval of the delta
excludes zero); a drop beyond the allowance that resampling could explain is a warning.

The suspicious gate looks the other way: a result too good to be true is more often a leak
(a feature that carries the label) than progress, so leakage suspects from the data quality
summary, a value at or above a `too_good` ceiling, or an improvement more than `max_leap`
times the half-width of the base's own interval stop the merge (or warn) until a person
has looked.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from gitops.metrics import METRICS
from gitops.metrics import label as metric_label
from gitops.settings import Wording

PASS, FAIL, WARN, SKIP = "pass", "fail", "warn", "skip"
STALE_MODES = ("fail", "warn")
SUSPICIOUS = "suspicious"
SUSPICIOUS_LABEL = "Too good to be true"
STALE_LABEL = "Stale results"


@dataclass(frozen=True)
class Rule:
    kind: str  # "min", "max" or "max_regression"
    metric: str
    limit: float

    @property
    def id(self) -> str:
        return f"{self.kind}.{self.metric}"


@dataclass(frozen=True)
class Policy:
    rules: tuple[Rule, ...]
    stale_results: str = "fail"
    suspicious: str = "fail"
    too_good: tuple[tuple[str, float], ...] = (("roc_auc", 0.999), ("average_precision", 0.999))
    max_leap: float = 5.0


@dataclass(frozen=True)
class Verdict:
    id: str
    rule: str  # the rule in words
    metric: str | None
    value: float | None
    threshold: float | None
    verdict: str
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def label(metric: str, wording: Wording | None = None) -> str:
    return metric_label(metric, wording)


def higher_is_better(metric: str) -> bool:
    info = METRICS.get(metric)
    return True if info is None else info.higher_is_better


def limit_text(metric: str, x: float, *, change: bool = False) -> str:
    """A limit as the report shows the metric: business shares in percent (points)."""
    info = METRICS.get(metric)
    if info and info.kind == "business":
        return f"{100 * x:g} pp" if change else f"{100 * x:g}%"
    return f"{x:g}"


def parse(gates: Mapping[str, Any] | None, known: set[str], where: str = "params.yaml") -> Policy:
    """Rules from the `gates:` section, with errors that name the offending key."""
    gates = dict(gates or {})
    rules: list[Rule] = []
    for kind in ("min", "max", "max_regression"):
        section = gates.pop(kind, None) or {}
        if not isinstance(section, Mapping):
            raise ValueError(f"{where}: gates.{kind} must map metric names to numbers")
        for metric, limit in section.items():
            if metric not in known:
                raise ValueError(
                    f"{where}: gates.{kind}.{metric} is not a metric; "
                    f"known metrics: {', '.join(sorted(known))}"
                )
            if isinstance(limit, bool) or not isinstance(limit, int | float):
                raise ValueError(f"{where}: gates.{kind}.{metric} must be a number, got {limit!r}")
            if kind == "max_regression" and limit < 0:
                raise ValueError(f"{where}: gates.max_regression.{metric} must be >= 0")
            rules.append(Rule(kind, str(metric), float(limit)))
    modes = {}
    for key in ("stale_results", SUSPICIOUS):
        modes[key] = gates.pop(key, "fail")
        if modes[key] not in STALE_MODES:
            raise ValueError(
                f"{where}: gates.{key} must be one of {STALE_MODES}, got {modes[key]!r}"
            )
    ceilings = gates.pop("too_good", None)
    if ceilings is None:
        ceilings = dict(Policy(()).too_good)
    if not isinstance(ceilings, Mapping):
        raise ValueError(f"{where}: gates.too_good must map metric names to numbers")
    for metric, limit in ceilings.items():
        if metric not in known:
            raise ValueError(f"{where}: gates.too_good.{metric} is not a metric")
        if isinstance(limit, bool) or not isinstance(limit, int | float):
            raise ValueError(f"{where}: gates.too_good.{metric} must be a number, got {limit!r}")
    leap = gates.pop("max_leap", Policy(()).max_leap)
    if isinstance(leap, bool) or not isinstance(leap, int | float) or leap <= 0:
        raise ValueError(f"{where}: gates.max_leap must be a number > 0, got {leap!r}")
    if gates:
        raise ValueError(
            f"{where}: unknown key(s) under gates: {', '.join(map(str, gates))} "
            "(expected min, max, max_regression, stale_results, suspicious, too_good, max_leap)"
        )
    return Policy(
        tuple(rules),
        modes["stale_results"],
        modes[SUSPICIOUS],
        tuple((str(k), float(v)) for k, v in ceilings.items()),
        float(leap),
    )


def suspicions(
    policy: Policy,
    new: Mapping[str, float],
    deltas: Mapping[str, Mapping[str, Any]] | None,
    base_intervals: Mapping[str, list[float]] | None,
    quality: Mapping[str, Any] | None,
    wording: Wording | None = None,
) -> list[str]:
    """Why the change looks too good to be true, one reason a line (empty: nothing odd).

    `deltas` is None when the base is not comparable (no base, or other data): then only
    the data's own leakage suspects and the ceilings are judged.
    """
    found = []
    leakage = (quality or {}).get("leakage")
    if isinstance(leakage, Mapping):
        measure = leakage.get("measure") or "association with the label"
        for s in leakage.get("suspects") or []:
            if not isinstance(s, Mapping):
                continue
            detail = f" ({s['detail']})" if s.get("detail") else ""
            value = s.get("value")
            shown = f" {value:.4g}" if isinstance(value, int | float) else ""
            found.append(
                f"leakage suspect `{s.get('field')}`: {measure}{shown}"
                f" at or above {leakage.get('threshold')}{detail}"
            )
    for metric, ceiling in policy.too_good:
        value = new.get(metric)
        if value is None:
            continue
        if higher_is_better(metric) and value >= ceiling:
            found.append(f"{label(metric, wording)} is {value:.4f}, at or above {ceiling:g}")
        elif not higher_is_better(metric) and value <= ceiling:
            found.append(f"{label(metric, wording)} is {value:.4f}, at or below {ceiling:g}")
    for metric, move in (deltas or {}).items():
        iv = (base_intervals or {}).get(metric)
        if iv is None or move.get("delta") is None:
            continue
        half = (iv[1] - iv[0]) / 2
        gain = -regression(metric, float(move["delta"]))
        if half > 0 and gain > policy.max_leap * half:
            found.append(
                f"{label(metric, wording)} improved by {limit_text(metric, gain, change=True)}, "
                f"{gain / half:.1f} times the half-width of the base's interval "
                f"(limit {policy.max_leap:g} times)"
            )
    return found


def suspicious_verdict(policy: Policy, reasons: list[str]) -> Verdict:
    """The suspicious gate: fail (or warn) when anything looks too good to be true."""
    if not reasons:
        return Verdict(SUSPICIOUS, "Nothing looks too good to be true", None, None, None, PASS)
    verdict = FAIL if policy.suspicious == "fail" else WARN
    note = f"{len(reasons)} sign(s) of leakage: check before trusting the gain"
    return Verdict(SUSPICIOUS, "Nothing looks too good to be true", None, None, None, verdict, note)


def regression(metric: str, delta: float) -> float:
    """How much worse the change is (positive = worse), whatever the metric's direction."""
    return -delta if higher_is_better(metric) else delta


def decide(
    policy: Policy,
    new: Mapping[str, float],
    deltas: Mapping[str, Mapping[str, Any]] | None,
    stale: list[str] | None,
    wording: Wording | None = None,
) -> list[Verdict]:
    """One verdict per rule. `deltas[metric]` holds `delta` and optionally `interval` (lo, hi).

    `deltas` is None when there is no base; `stale` lists mismatches between committed
    and reproduced results (None when not checked).
    """
    out = [_decide_rule(rule, new, deltas, wording) for rule in policy.rules]
    if stale is not None:
        if stale:
            verdict = FAIL if policy.stale_results == "fail" else WARN
            note = f"{len(stale)} difference(s) between committed and reproduced results"
        else:
            verdict, note = PASS, ""
        out.append(
            Verdict(
                "stale_results",
                "Committed results match what the pipeline reproduces",
                None,
                None,
                None,
                verdict,
                note,
            )
        )
    return out


def _decide_rule(
    rule: Rule,
    new: Mapping[str, float],
    deltas: Mapping[str, Mapping[str, Any]] | None,
    wording: Wording | None = None,
) -> Verdict:
    name = label(rule.metric, wording)
    if rule.kind in ("min", "max"):
        sign = "≥" if rule.kind == "min" else "≤"
        text = f"{name} {sign} {limit_text(rule.metric, rule.limit)}"
        value = new.get(rule.metric)
        if value is None:
            return Verdict(rule.id, text, rule.metric, None, rule.limit, FAIL, "metric missing")
        ok = value >= rule.limit if rule.kind == "min" else value <= rule.limit
        return Verdict(rule.id, text, rule.metric, value, rule.limit, PASS if ok else FAIL)
    text = f"{name}: drop ≤ {limit_text(rule.metric, rule.limit, change=True)} vs base"
    move = (deltas or {}).get(rule.metric)
    if deltas is None or move is None or move.get("delta") is None:
        return Verdict(rule.id, text, rule.metric, None, rule.limit, SKIP, "no base to compare")
    worse = regression(rule.metric, float(move["delta"]))
    if worse <= rule.limit:
        return Verdict(rule.id, text, rule.metric, worse, rule.limit, PASS)
    interval = move.get("interval")
    if interval is None:
        return Verdict(
            rule.id, text, rule.metric, worse, rule.limit, FAIL, "no interval: judged on the value"
        )
    low, high = interval
    if (high < 0) if higher_is_better(rule.metric) else (low > 0):
        return Verdict(rule.id, text, rule.metric, worse, rule.limit, FAIL, "significant")
    return Verdict(
        rule.id, text, rule.metric, worse, rule.limit, WARN, "beyond the allowance but within noise"
    )


def overall(verdicts: list[Verdict]) -> str:
    return FAIL if any(v.verdict == FAIL for v in verdicts) else PASS
