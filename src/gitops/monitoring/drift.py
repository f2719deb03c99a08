"""Comparing a batch of records with the distribution a model was trained on.

Model-agnostic: a reference holds, per feature, bins fixed once at training time and the
share of training rows in each; a batch is counted into the same bins. Two numbers judge a
feature: the population stability index (how far the shares moved) and a chi-square test on
the binned counts (whether the move is more than sampling noise). A feature is only alerted
on when both agree, so a tiny batch cannot raise an alarm by noise alone and a huge batch
cannot raise one by a trivial but significant wobble.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from itertools import pairwise
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.stats import binomtest, chi2_contingency

from gitops import metrics
from gitops.metrics import METRICS
from gitops.settings import Wording

#: Floor for a bin share in PSI: an empty bin would otherwise make the index infinite.
SHARE_FLOOR = 1e-4
Status = Literal["ok", "warn", "alert"]
Closed = Literal["right", "left"]


@dataclass(frozen=True)
class Thresholds:
    """The `monitor` section of params.yaml: when a batch counts as drifted."""

    psi_warn: float
    psi_alert: float
    p_value: float
    max_invalid_share: float
    max_risk_shift: float
    max_metric_drop: float
    min_labelled_rows: int
    watch_metrics: tuple[str, ...]
    bootstrap: int
    seed: int

    @classmethod
    def from_params(cls, section: Mapping[str, Any], source: str = "params.yaml") -> Thresholds:
        missing = [k for k in cls.__dataclass_fields__ if k not in section]
        if missing:
            raise KeyError(f"{source}: monitor section lacks {', '.join(missing)}")
        unknown = sorted(set(section["watch_metrics"]) - set(METRICS))
        if unknown:
            raise ValueError(f"{source}: monitor.watch_metrics names unknown metrics {unknown}")
        out = cls(
            psi_warn=float(section["psi_warn"]),
            psi_alert=float(section["psi_alert"]),
            p_value=float(section["p_value"]),
            max_invalid_share=float(section["max_invalid_share"]),
            max_risk_shift=float(section["max_risk_shift"]),
            max_metric_drop=float(section["max_metric_drop"]),
            min_labelled_rows=int(section["min_labelled_rows"]),
            watch_metrics=tuple(section["watch_metrics"]),
            bootstrap=int(section["bootstrap"]),
            seed=int(section["seed"]),
        )
        if not 0 < out.psi_warn <= out.psi_alert:
            raise ValueError(f"{source}: monitor needs 0 < psi_warn <= psi_alert")
        return out

    def as_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}


# --- bins -------------------------------------------------------------------------------


def quantile_edges(values: ArrayLike, bins: int) -> list[float]:
    """Interior edges of right-closed bins holding about equal shares of `values`.

    Edges are values that occur (no interpolation), repeated quantiles collapse, and an edge
    at the maximum is dropped, so every bin holds at least one reference row.
    """
    x = np.asarray(values, dtype=np.float64)
    x = x[~np.isnan(x)]
    if x.size == 0 or bins < 2:
        return []
    qs = np.quantile(x, np.arange(1, bins) / bins, method="inverted_cdf")
    edges = np.unique(qs)
    return [float(e) for e in edges[edges < x.max()]]


def bin_index(values: ArrayLike, edges: Sequence[float], closed: Closed = "right") -> NDArray:
    """Bin number of each value: 0 below the first edge, len(edges) above the last."""
    side = "left" if closed == "right" else "right"
    return np.searchsorted(np.asarray(edges, dtype=np.float64), values, side=side)


def numeric_counts(values: ArrayLike, edges: Sequence[float], closed: Closed = "right") -> NDArray:
    x = np.asarray(values, dtype=np.float64)
    x = x[~np.isnan(x)]
    return np.bincount(bin_index(x, edges, closed), minlength=len(edges) + 1)


def categorical_counts(values: ArrayLike, categories: Sequence[Any]) -> NDArray:
    """Rows per category; values outside the reference categories are not counted."""
    x = np.asarray(values)
    return np.array([int(np.sum(x == c)) for c in categories], dtype=np.int64)


def bin_labels(edges: Sequence[float], closed: Closed = "right") -> list[str]:
    e = [f"{v:g}" for v in edges]
    if not e:
        return ["all"]
    if closed == "right":
        return [f"≤ {e[0]}", *(f"({a}, {b}]" for a, b in pairwise(e)), f"> {e[-1]}"]
    return [f"< {e[0]}", *(f"[{a}, {b})" for a, b in pairwise(e)), f"≥ {e[-1]}"]


def numeric_reference(values: ArrayLike, bins: int) -> dict[str, Any]:
    edges = quantile_edges(values, bins)
    return _with_counts(
        {"kind": "numeric", "closed": "right", "edges": edges, "labels": bin_labels(edges)},
        numeric_counts(values, edges),
    )


def categorical_reference(
    values: ArrayLike, categories: Sequence[Any], labels: Sequence[str] | None = None
) -> dict[str, Any]:
    names = list(labels) if labels is not None else [str(c) for c in categories]
    return _with_counts(
        {"kind": "categorical", "categories": list(categories), "labels": names},
        categorical_counts(values, categories),
    )


def banded_reference(values: ArrayLike, edges: Sequence[float]) -> dict[str, Any]:
    """Fixed, left-closed bands (e.g. of a predicted risk: a score at an edge counts above)."""
    edges = [float(e) for e in edges]
    return _with_counts(
        {"kind": "numeric", "closed": "left", "edges": edges, "labels": bin_labels(edges, "left")},
        numeric_counts(values, edges, "left"),
    )


def counts_for(spec: Mapping[str, Any], values: ArrayLike) -> NDArray:
    """Count a batch into the bins of a reference entry."""
    if spec["kind"] == "categorical":
        return categorical_counts(values, spec["categories"])
    return numeric_counts(values, spec["edges"], spec.get("closed", "right"))


def _with_counts(spec: dict[str, Any], counts: NDArray) -> dict[str, Any]:
    total = int(counts.sum())
    spec["counts"] = [int(c) for c in counts]
    spec["shares"] = [round(int(c) / total, 6) if total else 0.0 for c in counts]
    return spec


# --- statistics -------------------------------------------------------------------------


def shares(counts: ArrayLike) -> NDArray:
    c = np.asarray(counts, dtype=np.float64)
    total = c.sum()
    return c / total if total > 0 else np.zeros_like(c)


def psi(reference: ArrayLike, batch: ArrayLike) -> float:
    """Population stability index of two share vectors over the same bins."""
    p = np.maximum(np.asarray(reference, dtype=np.float64), SHARE_FLOOR)
    q = np.maximum(np.asarray(batch, dtype=np.float64), SHARE_FLOOR)
    return float(np.sum((q - p) * np.log(q / p)))


def chi_square_p(reference_counts: ArrayLike, batch_counts: ArrayLike) -> float:
    """p-value of a chi-square test that both samples come from one binned distribution."""
    table = np.vstack([reference_counts, batch_counts]).astype(np.float64)
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2 or (table.sum(axis=1) == 0).any():
        return 1.0
    return float(chi2_contingency(table, correction=False).pvalue)


def status(psi_value: float, p_value: float, limits: Thresholds) -> Status:
    """alert: a large move that is not noise; warn: a move worth watching."""
    if psi_value >= limits.psi_alert and p_value < limits.p_value:
        return "alert"
    if psi_value >= limits.psi_warn:
        return "warn"
    return "ok"


# --- comparisons ------------------------------------------------------------------------


def compare_distribution(
    name: str, spec: Mapping[str, Any], values: ArrayLike, limits: Thresholds
) -> dict[str, Any]:
    """PSI, test and bin-by-bin shares of one feature (or score) against its reference."""
    counts = counts_for(spec, values)
    ref, cur = np.asarray(spec["shares"], dtype=np.float64), shares(counts)
    index, p = psi(ref, cur), chi_square_p(spec["counts"], counts)
    moves = cur - ref
    biggest = int(np.argmax(np.abs(moves)))
    return {
        "name": name,
        "psi": round(index, 6),
        "p_value": _round_p(p),
        "status": status(index, p, limits),
        "largest_move": {
            "bin": spec["labels"][biggest],
            "reference": round(float(ref[biggest]), 6),
            "batch": round(float(cur[biggest]), 6),
        },
        "bins": [
            {"bin": label, "reference": round(float(r), 6), "batch": round(float(c), 6)}
            for label, r, c in zip(spec["labels"], ref, cur, strict=True)
        ],
    }


def rank(features: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Most shifted first: by status, then PSI."""
    order = {"alert": 0, "warn": 1, "ok": 2}
    return sorted(features, key=lambda f: (order[f["status"]], -f["psi"], f["name"]))


def compare_risk(
    reference: Mapping[str, Any], scores: ArrayLike, limits: Thresholds
) -> dict[str, Any]:
    """How the predicted risk moved: its bands and the share flagged high-risk.

    The flagged share alerts when it moved more than allowed and a binomial test says the
    move is not sampling noise.
    """
    s = np.asarray(scores, dtype=np.float64)
    out = compare_distribution("predicted risk", reference["bands"], s, limits)
    flagged = int(np.sum(s >= reference["threshold"]))
    before = float(reference["flagged_share"])
    share = flagged / s.size if s.size else 0.0
    p = binomtest(flagged, s.size, before).pvalue if s.size and 0 < before < 1 else 1.0
    crossed = abs(share - before) > limits.max_risk_shift and p < limits.p_value
    out |= {
        "threshold": reference["threshold"],
        "flagged_reference": before,
        "flagged_batch": round(share, 6),
        "flagged_shift": round(share - before, 6),
        "flagged_p_value": _round_p(float(p)),
        "flagged_status": "alert" if crossed else "ok",
    }
    return out


def bootstrap_metrics(
    y: ArrayLike,
    score: ArrayLike,
    value: ArrayLike | None,
    *,
    threshold: float,
    top_fraction: float,
    resamples: int,
    seed: int,
) -> dict[str, NDArray]:
    """Every metric on `resamples` seeded bootstrap resamples of the batch."""
    return metrics.bootstrap(
        np.asarray(y),
        np.asarray(score),
        None if value is None else np.asarray(value),
        threshold=threshold,
        top_fraction=top_fraction,
        resamples=resamples,
        seed=seed,
    )


def drop_p_value(samples: ArrayLike, release: float, higher_is_better: bool) -> float:
    """Share of resamples at least as good as the release: how plausible "no drop" is."""
    s = np.asarray(samples, dtype=np.float64)
    s = s[~np.isnan(s)]
    good = s >= release if higher_is_better else s <= release
    return float((good.sum() + 1) / (s.size + 1))


def compare_metrics(
    release: Mapping[str, float],
    batch: Mapping[str, float],
    limits: Thresholds,
    p_values: Mapping[str, float] | None = None,
    wording: Wording | None = None,
) -> list[dict[str, Any]]:
    """Watched metrics on the batch against the release; a drop is a move the bad way.

    A drop alerts when larger than allowed and, given bootstrap p-values, unlikely to be
    the noise of a small batch.
    """
    rows = []
    for name in limits.watch_metrics:
        if name not in release or name not in batch:
            continue
        info = METRICS[name]
        before, now = float(release[name]), float(batch[name])
        drop = (before - now) if info.higher_is_better else (now - before)
        p = 0.0 if p_values is None else float(p_values[name])
        crossed = drop > limits.max_metric_drop and p < limits.p_value
        rows.append(
            {
                "name": name,
                "label": info.label_for(wording),
                "release": round(before, 6),
                "batch": round(now, 6),
                "drop": round(drop, 6),
                "p_value": _round_p(p),
                "status": "alert" if crossed else "ok",
            }
        )
    return rows


def reasons(report: Mapping[str, Any], limits: Thresholds) -> list[str]:
    """Every threshold the batch crosses, in words; empty when the batch is in range."""
    out = []
    for f in report["features"]:
        if f["status"] == "alert":
            out.append(
                f"feature {f['name']}: PSI {f['psi']:.3f} ≥ {limits.psi_alert:g}, "
                f"p-value {_p_text(f['p_value'])} (limit {limits.p_value:g})"
            )
    risk = report.get("risk")
    if risk:
        if risk["status"] == "alert":
            out.append(
                f"predicted risk: PSI {risk['psi']:.3f} ≥ {limits.psi_alert:g}, "
                f"p-value {_p_text(risk['p_value'])} (limit {limits.p_value:g})"
            )
        if risk["flagged_status"] == "alert":
            out.append(
                f"share flagged high-risk: {risk['flagged_reference']:.1%} at release → "
                f"{risk['flagged_batch']:.1%}, {_points(risk['flagged_shift'])} "
                f"(limit ±{limits.max_risk_shift * 100:g}), "
                f"p-value {_p_text(risk['flagged_p_value'])}"
            )
    rows = report["rows"]
    if rows["invalid_share"] > limits.max_invalid_share:
        out.append(
            f"invalid rows: {rows['invalid']} of {rows['total']} ({rows['invalid_share']:.1%}) "
            f"break the contract, more than {limits.max_invalid_share:.0%}"
        )
    for m in (report.get("quality") or {}).get("metrics", []):
        if m["status"] == "alert":
            out.append(
                f"{m['label']}: {m['release']:.3f} at release → {m['batch']:.3f} on the batch, "
                f"a drop of {m['drop']:.3f} (limit {limits.max_metric_drop:g}), "
                f"p-value {_p_text(m['p_value'])}"
            )
    return out


def _round_p(p: float) -> float:
    return float(f"{p:.3g}") if p > 0 else 0.0


def _p_text(p: float) -> str:
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def _points(shift: float) -> str:
    return f"{shift * 100:+.1f} points"


# --- markdown ---------------------------------------------------------------------------

MARK = {"ok": "ok", "warn": "⚠️ warn", "alert": "🔴 alert"}


def render_markdown(
    report: Mapping[str, Any], wording: Wording | None = None, *, bins_shown: int = 3
) -> str:
    """The drift report as GitHub-flavoured markdown (job summary, issue body, docs)."""
    wording = wording or Wording()
    rows, limits = report["rows"], report["thresholds"]
    verdict = "🔴 Drift: thresholds crossed" if report["crossed"] else "✅ In range"
    lines = [
        f"## Model monitoring: {verdict}",
        "",
        f"Batch `{report['input']}`: {rows['total']} rows, {rows['valid']} valid and scored, "
        f"{rows['invalid']} breaking the contract ({rows['invalid_share']:.1%}).  ",
        f"Reference: {report['reference']['rows']} training rows; "
        f"model `{report['reference']['model_sha256'][:12]}`.",
        "",
    ]
    if report["reasons"]:
        lines += ["**Thresholds crossed**", ""] + [f"- {r}" for r in report["reasons"]] + [""]
    lines += [
        "### Feature drift, most shifted first",
        "",
        f"PSI warn ≥ {limits['psi_warn']:g}, alert ≥ {limits['psi_alert']:g} "
        f"when the chi-square p-value is below {limits['p_value']:g}.",
        "",
        "| Feature | PSI | p-value | Status | Largest move (reference → batch) |",
        "|---|---:|---:|---|---|",
    ]
    for f in report["features"]:
        mv = f["largest_move"]
        lines.append(
            f"| `{f['name']}` | {f['psi']:.3f} | {_p_text(f['p_value'])} | {MARK[f['status']]} "
            f"| {mv['bin']}: {mv['reference']:.1%} → {mv['batch']:.1%} |"
        )
    lines.append("")
    shifted = [f for f in report["features"] if f["status"] != "ok"][:bins_shown]
    for f in shifted:
        lines += [
            f"<details><summary><code>{f['name']}</code> by bin</summary>",
            "",
            "| Bin | Reference | Batch |",
            "|---|---:|---:|",
            *(f"| {b['bin']} | {b['reference']:.1%} | {b['batch']:.1%} |" for b in f["bins"]),
            "",
            "</details>",
            "",
        ]
    lines += _risk_markdown(report.get("risk"))
    lines += _out_of_range_markdown(report.get("out_of_range") or {})
    lines += _invalid_markdown(report["invalid"])
    lines += _quality_markdown(report.get("quality"), wording)
    return "\n".join(lines).rstrip() + "\n"


def _risk_markdown(risk: Mapping[str, Any] | None) -> list[str]:
    if not risk:
        return ["### Predicted risk", "", "No valid rows were scored.", ""]
    return [
        "### Predicted risk",
        "",
        f"Share flagged high-risk (risk ≥ {risk['threshold']:g}): "
        f"{risk['flagged_reference']:.1%} at release → {risk['flagged_batch']:.1%} "
        f"({_points(risk['flagged_shift'])}, p-value {_p_text(risk['flagged_p_value'])}, "
        f"{MARK[risk['flagged_status']]}).  ",
        f"Risk distribution: PSI {risk['psi']:.3f}, p-value {_p_text(risk['p_value'])}, "
        f"{MARK[risk['status']]}.",
        "",
        "| Risk band | Release (held-out) | Batch |",
        "|---|---:|---:|",
        *(f"| {b['bin']} | {b['reference']:.1%} | {b['batch']:.1%} |" for b in risk["bins"]),
        "",
    ]


def _out_of_range_markdown(found: Mapping[str, Mapping[str, Any]]) -> list[str]:
    lines = ["### Valid values outside the training range", ""]
    if not found:
        return [*lines, "The reference records no training ranges.", ""]
    hits = {k: v for k, v in found.items() if v["below"] or v["above"]}
    if not hits:
        return [*lines, "None: every valid value lies within the training range.", ""]
    return [
        *lines,
        "Allowed by the contract but never seen in training: scored by extrapolation.",
        "",
        "| Feature | Training range | Below | Above | Share of valid rows |",
        "|---|---|---:|---:|---:|",
        *(
            f"| `{k}` | {v['train_min']:g} … {v['train_max']:g} | {v['below']} | {v['above']} "
            f"| {v['share']:.1%} |"
            for k, v in hits.items()
        ),
        "",
    ]


def _invalid_markdown(invalid: Mapping[str, Any]) -> list[str]:
    lines = ["### Rows breaking the contract", ""]
    if not invalid["rules"]:
        return [*lines, "None: every row passed validation.", ""]
    lines += [
        "Not scored and not counted in the drift above; fix them at the source.",
        "",
        "| Column | Rule | Rows |",
        "|---|---|---:|",
        *(f"| `{r['column']}` | {r['rule']} | {r['rows']} |" for r in invalid["rules"]),
        "",
        "| Line | Column | Rule | Value |",
        "|---:|---|---|---|",
        *(
            f"| {r['line']} | `{r['column']}` | {r['rule']} | {_cell(r['value'])} |"
            for r in invalid["examples"]
        ),
    ]
    more = invalid["failures"] - len(invalid["examples"])
    if more > 0:
        lines.append(f"| … | | {more} more in the JSON report | |")
    return [*lines, ""]


def _quality_markdown(quality: Mapping[str, Any] | None, wording: Wording) -> list[str]:
    lines = ["### Model quality on labelled rows", ""]
    if not quality:
        return [*lines, "The batch carries no labels; quality was not measured.", ""]
    if quality.get("skipped"):
        return [*lines, f"Not measured: {quality['skipped']}.", ""]
    return [
        *lines,
        f"{quality['rows']} labelled rows, {wording.positive_rate} {quality['label_rate']:.1%}.",
        "",
        "| Metric | Release | Batch | Drop | p-value | Status |",
        "|---|---:|---:|---:|---:|---|",
        *(
            f"| {m['label']} | {m['release']:.3f} | {m['batch']:.3f} | {m['drop']:+.3f} "
            f"| {_p_text(m['p_value'])} | {MARK[m['status']]} |"
            for m in quality["metrics"]
        ),
        "",
    ]


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|")
