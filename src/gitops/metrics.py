"""Binary-classification metrics, computed once for a point estimate or for many resamples.

The evaluation stage and the review report call the same functions, so a number in the
report is, by construction, the number the pipeline wrote. Each metric also takes a matrix
of row weights (one row per bootstrap resample): scores are sorted once, tied scores are
grouped, and every resample is then a few cumulative sums, which keeps a bootstrap over
hundreds of thousands of rows within seconds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from gitops.settings import Wording

FloatArray = NDArray[np.float64]
EPS = 1e-15


@dataclass(frozen=True)
class MetricInfo:
    """A metric's label and description are templates: `{positives}` etc. come from the
    task's wording, `{Positives}` capitalised, so the machinery names nothing of a domain."""

    label: str
    higher_is_better: bool
    kind: str  # "statistical" or "business"
    description: str

    def text(self, template: str, words: Wording | None) -> str:
        words = words or Wording()
        keys = ("positive", "positives", "population", "value", "top_segment")
        values = {k: getattr(words, k) for k in keys} | {k.title(): words.cap(k) for k in keys}
        return template.format(**values)

    def label_for(self, words: Wording | None = None, top_fraction: float | None = None) -> str:
        """The label in the task's words; 'top segment' made concrete ('top 10%') when known."""
        text = self.text(self.label, words)
        if top_fraction is not None:
            text = text.replace("top segment", f"top {100 * top_fraction:g}%")
        return text

    def description_for(self, words: Wording | None = None) -> str:
        return self.text(self.description, words)


#: What the report needs to know about each metric the evaluation writes.
METRICS: dict[str, MetricInfo] = {
    "roc_auc": MetricInfo("ROC AUC", True, "statistical", "Ranking quality over all thresholds."),
    "average_precision": MetricInfo(
        "Average precision", True, "statistical", "Area under the precision-recall curve."
    ),
    "log_loss": MetricInfo("Log loss", False, "statistical", "Penalises confident mistakes."),
    "brier": MetricInfo("Brier score", False, "statistical", "Mean squared error of the risk."),
    "precision": MetricInfo(
        "Precision", True, "statistical", "Flagged {population} who are {positives}."
    ),
    "recall": MetricInfo("Recall", True, "statistical", "{Positives} who are flagged."),
    "f1": MetricInfo("F1", True, "statistical", "Harmonic mean of precision and recall."),
    "top_positives_caught": MetricInfo(
        "{Positives} caught in top segment",
        True,
        "business",
        "Share of all {positives} found among {top_segment}.",
    ),
    "top_value_caught": MetricInfo(
        "{Positive} value caught in top segment",
        True,
        "business",
        "Share of the {value} of {positives} found among {top_segment}.",
    ),
}


#: Names metrics had before they became neutral, so older results still compare.
LEGACY_NAMES = {"top_churners_caught": "top_positives_caught"}


def renamed(values: dict[str, float]) -> dict[str, float]:
    """Metric values under today's names."""
    return {LEGACY_NAMES.get(k, k): v for k, v in values.items()}


def label(name: str, words: Wording | None = None) -> str:
    """A metric's label in the task's words; unknown metrics are shown by name."""
    info = METRICS.get(name)
    return info.label_for(words) if info else name


@dataclass(frozen=True)
class Ranked:
    """Rows sorted by descending score with tied scores grouped: the shared sort."""

    order: NDArray[np.intp]  # row positions, highest score first
    starts: NDArray[np.intp]  # first position (in `order`) of each tie group
    y: FloatArray  # labels in sorted order
    p: FloatArray  # scores in sorted order
    value: FloatArray  # business value in sorted order

    @classmethod
    def of(cls, y: NDArray, score: NDArray, value: NDArray | None = None) -> Ranked:
        y = np.asarray(y, dtype=np.float64)
        p = np.asarray(score, dtype=np.float64)
        if y.shape != p.shape or y.ndim != 1:
            raise ValueError("labels and scores must be 1-D arrays of the same length")
        v = np.ones_like(p) if value is None else np.asarray(value, dtype=np.float64)
        order = np.argsort(-p, kind="stable")
        ps = p[order]
        starts = np.flatnonzero(np.r_[True, ps[1:] != ps[:-1]])
        return cls(order, starts, y[order], ps, v[order])


def _grouped(ranked: Ranked, w: FloatArray) -> FloatArray:
    """Sum row weights (resamples x rows, sorted order) within tie groups."""
    return np.add.reduceat(w, ranked.starts, axis=1)


def compute(
    y: NDArray,
    score: NDArray,
    value: NDArray | None = None,
    *,
    threshold: float,
    top_fraction: float,
    weights: FloatArray | None = None,
    ranked: Ranked | None = None,
) -> dict[str, FloatArray]:
    """Every metric in `METRICS`, one value per weight row (a single row when unweighted).

    `weights` has shape (resamples, rows) in the original row order; integer counts give a
    classic bootstrap. Metrics that are undefined for a resample (no positives) are NaN.
    """
    ranked = ranked or Ranked.of(y, score, value)
    n = ranked.y.size
    if n == 0:
        raise ValueError("no rows to evaluate")
    w = np.ones((1, n)) if weights is None else np.asarray(weights, dtype=np.float64)
    w = w[:, ranked.order]
    ys, ps, vs = ranked.y, ranked.p, ranked.value
    with np.errstate(divide="ignore", invalid="ignore"):
        out = _rank_metrics(ranked, w, top_fraction)
        out |= _threshold_metrics(w, ys, ps, threshold)
        total = w.sum(axis=1)
        pc = np.clip(ps, EPS, 1 - EPS)
        out["log_loss"] = w @ -(ys * np.log(pc) + (1 - ys) * np.log1p(-pc)) / total
        out["brier"] = w @ (ps - ys) ** 2 / total
        pos_value = _grouped(ranked, w * ys * vs)
        out["top_value_caught"] = _top_share(ranked, w, pos_value, top_fraction)
    return out


def _rank_metrics(ranked: Ranked, w: FloatArray, top_fraction: float) -> dict[str, FloatArray]:
    pos = _grouped(ranked, w * ranked.y)
    neg = _grouped(ranked, w * (1 - ranked.y))
    n_pos = pos.sum(axis=1)
    n_neg = neg.sum(axis=1)
    neg_at_or_above = np.cumsum(neg, axis=1)
    neg_below = n_neg[:, None] - neg_at_or_above
    auc = (pos * (neg_below + 0.5 * neg)).sum(axis=1) / (n_pos * n_neg)
    tp = np.cumsum(pos, axis=1)
    fp = neg_at_or_above
    precision_at = tp / np.maximum(tp + fp, EPS)
    ap = (pos * precision_at).sum(axis=1) / n_pos
    return {
        "roc_auc": auc,
        "average_precision": ap,
        "top_positives_caught": _top_share(ranked, w, pos, top_fraction),
    }


def _top_share(ranked: Ranked, w: FloatArray, grouped: FloatArray, fraction: float) -> FloatArray:
    """Share of `grouped` mass found in the riskiest `fraction` of (weighted) customers.

    A tie group straddling the cut counts pro rata, so ties never depend on row order.
    """
    size = _grouped(ranked, w)
    before = np.cumsum(size, axis=1) - size
    budget = fraction * w.sum(axis=1, keepdims=True)
    share = np.clip((budget - before) / np.where(size > 0, size, 1.0), 0.0, 1.0)
    return (grouped * share).sum(axis=1) / grouped.sum(axis=1)


def _threshold_metrics(
    w: FloatArray, ys: FloatArray, ps: FloatArray, threshold: float
) -> dict[str, FloatArray]:
    flagged = (ps >= threshold).astype(np.float64)
    tp = w @ (flagged * ys)
    fp = w @ (flagged * (1 - ys))
    fn = w @ ((1 - flagged) * ys)
    precision = np.where(tp + fp > 0, tp / np.maximum(tp + fp, EPS), 0.0)
    recall = tp / (tp + fn)
    f1 = np.where(tp > 0, 2 * tp / np.maximum(2 * tp + fp + fn, EPS), 0.0)
    return {"precision": precision, "recall": recall, "f1": f1}


def point(
    y: NDArray, score: NDArray, value: NDArray | None = None, **kwargs: float
) -> dict[str, float]:
    """Every metric once, as plain floats (what `metrics.json` holds)."""
    return {k: float(v[0]) for k, v in compute(y, score, value, **kwargs).items()}


MetricFn = Callable[..., dict[str, FloatArray]]


def resample_weights(rng: np.random.Generator, count: int, rows: int) -> FloatArray:
    """Classic bootstrap: how often each row is drawn in each of `count` resamples.

    The one way the machinery resamples: the review report's paired and unpaired
    comparisons, the model card's intervals and monitoring's p-values all draw with it.
    """
    draws = rng.integers(0, rows, size=(count, rows)) + (np.arange(count) * rows)[:, None]
    return np.bincount(draws.ravel(), minlength=count * rows).reshape(count, rows).astype(float)


def bootstrap(
    y: NDArray,
    score: NDArray,
    value: NDArray | None,
    *,
    threshold: float,
    top_fraction: float,
    resamples: int,
    seed: int,
    chunk: int = 100,
) -> dict[str, FloatArray]:
    """Every metric on `resamples` seeded bootstrap resamples of one scored set."""
    y = np.asarray(y, dtype=np.float64)
    ranked = Ranked.of(y, np.asarray(score, dtype=np.float64), value)
    rng = np.random.default_rng(seed)
    parts = []
    for start in range(0, resamples, chunk):
        w = resample_weights(rng, min(chunk, resamples - start), y.size)
        parts.append(
            compute(
                y,
                score,
                value,
                threshold=threshold,
                top_fraction=top_fraction,
                weights=w,
                ranked=ranked,
            )
        )
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
