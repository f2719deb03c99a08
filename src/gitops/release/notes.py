"""Release notes and workflow outputs, rendered from a decision: text in, text out.

The notes answer what a reader of a release page asks: why this version number, did the
model get better or worse than the release it replaces, and how to install and promote it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from gitops.metrics import METRICS, label, renamed
from gitops.release.version import Bump, Decision
from gitops.settings import Wording

HEADLINES = {
    Bump.FIRST: "First release",
    Bump.MAJOR: "Major release: the input schema changed, callers must check their requests",
    Bump.MINOR: "Minor release: a new model, called the same way",
    Bump.PATCH: "Patch release: packaged code changed, the model did not",
}
#: Differences below this show as unchanged (metrics are written with 10 decimals).
TOLERANCE = 5e-5


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _change(name: str, old: float | None, new: float | None, reading: str | None = None) -> str:
    """The move and, when the bootstrap could judge it, the review report's reading of it.

    Without a reading (no test predictions at one release, or other data) the sign of a
    move says nothing about whether it is real, so no 'better' or 'worse' is claimed.
    """
    if old is None or new is None:
        return "—"
    delta = new - old
    if abs(delta) < TOLERANCE:
        return "no change"
    return f"{delta:+.4f}" + (f" ({reading})" if reading else "")


def metrics_table(
    old: Mapping[str, object] | None,
    new: Mapping[str, object],
    previous: str | None,
    version: str,
    wording: Wording | None = None,
    readings: Mapping[str, str] | None = None,
) -> list[str]:
    """Markdown rows: every known metric in registry order, then any extra keys.

    `readings` are the review report's significance per metric (`review.report.readings`).
    """
    old = renamed(dict(old)) if old is not None else None  # type: ignore[arg-type]
    names = [n for n in METRICS if n in new or (old and n in old)]
    names += sorted(k for k in {*new, *(old or {})} if k not in METRICS)
    if old is None:
        lines = [f"| Metric | v{version} |", "|---|---:|"]
        for name in names:
            value = _number(new.get(name))
            lines.append(f"| {label(name, wording)} | {'—' if value is None else f'{value:.4f}'} |")
        return lines
    lines = [f"| Metric | v{previous} | v{version} | Change |", "|---|---:|---:|---|"]
    for name in names:
        before, after = _number(old.get(name)), _number(new.get(name))
        lines.append(
            f"| {label(name, wording)} | {'—' if before is None else f'{before:.4f}'} | "
            f"{'—' if after is None else f'{after:.4f}'} | "
            f"{_change(name, before, after, (readings or {}).get(name))} |"
        )
    return lines


def render(
    decision: Decision,
    *,
    commit: str,
    previous_commit: str | None,
    metrics_path: str,
    old_metrics: Mapping[str, object] | None,
    new_metrics: Mapping[str, object],
    wheel: str | None,
    wheel_sha256: str | None,
    wording: Wording | None = None,
    readings: Mapping[str, str] | None = None,
) -> str:
    """dist/RELEASE_NOTES.md for a decision that is due."""
    if decision.version is None:
        raise ValueError("no release is due, so there are no release notes")
    art, version = decision.artifact, decision.version
    lines = [f"# {art} v{version}", "", f"**{HEADLINES[decision.bump]}.**", ""]
    if decision.previous is not None:
        since = f"{art}@v{decision.previous}"
        if previous_commit:
            since += f" (commit {previous_commit[:12]})"
        lines += [f"Tag `{decision.tag}` on commit {commit[:12]}; previous release {since}.", ""]
    else:
        lines += [f"Tag `{decision.tag}` on commit {commit[:12]}.", ""]
    lines += ["## Why this version", ""]
    lines += [f"- {reason}" for reason in decision.reasons]
    lines += ["", f"## Metrics on the held-out test set (`{metrics_path}`)", ""]
    lines += metrics_table(old_metrics, new_metrics, decision.previous, version, wording, readings)
    if old_metrics is not None and readings:
        lines += [
            "",
            "Within noise: the bootstrap interval of the change contains zero (as in the "
            "review report), so the move may not be real.",
        ]
    if old_metrics is None and decision.previous is not None:
        lines += ["", f"The previous release has no `{metrics_path}`; nothing to compare."]
    lines += ["", "## Install and promote", ""]
    if wheel:
        lines += [f"- Wheel: `{wheel}` (sha256 `{wheel_sha256}`)", f"- `pip install {wheel}`"]
    lines += [
        f"- Deploy to production: `gto assign {art} --version v{version} --stage prod`, "
        f"then `git push origin '{art}#prod#<n>'` (the tag `gto assign` prints)",
        f"- See what runs where: `gto show {art}`; every event: `gto history {art}`",
        "",
    ]
    return "\n".join(lines)


def github_outputs(decision: Decision, *, pushed: bool, notes: str | None) -> str:
    """`key=value` lines for $GITHUB_OUTPUT (single-line values only)."""
    values = {
        "release": "true" if decision.due else "false",
        "version": decision.version or "",
        "tag": decision.tag or "",
        "bump": decision.bump.value,
        "previous": decision.previous or "",
        "pushed": "true" if pushed else "false",
        "notes": notes or "",
    }
    for key, value in values.items():
        if "\n" in value or "\r" in value:
            raise ValueError(f"output '{key}' must be a single line")
    return "".join(f"{key}={value}\n" for key, value in values.items())
