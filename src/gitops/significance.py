"""Is a metric's move between two revisions real or noise? Bootstrap intervals of the delta.

When both revisions scored the same test rows, each resample reweights the same customers
for both models (paired bootstrap): the noise they share cancels, so small real changes
show. When the rows differ (data or split changed) the revisions are resampled
independently (unpaired), which is honest but wider. Metrics come from
`gitops.metrics.compute`, the function the evaluate stage used, so a resample of all-ones
weights reproduces `metrics.json` exactly.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from gitops.metrics import Ranked, compute

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class Settings:
    """How hard to look for noise; from the `report:` section of params.yaml."""

    resamples: int = 1000
    seed: int = 20240611
    confidence: float = 0.95
    #: Upper bound on resamples x rows: keeps the report within seconds on large test sets.
    max_resample_rows: int = 20_000_000
    #: Fewest resamples whatever the size: below this percentile endpoints get erratic.
    min_resamples: int = 100
    #: Resamples x rows held in memory at once.
    chunk_cells: int = 2_000_000

    def resamples_for(self, rows: int) -> int:
        budget = self.max_resample_rows // max(rows, 1)
        return int(max(min(self.resamples, budget), min(self.min_resamples, self.resamples)))


@dataclass(frozen=True)
class Scored:
    """One revision's test predictions and the metric settings it was evaluated with."""

    row_id: NDArray[np.str_]
    y: FloatArray
    score: FloatArray
    value: FloatArray
    threshold: float
    top_fraction: float

    @classmethod
    def of(cls, frame: pd.DataFrame, threshold: float, top_fraction: float) -> Scored:
        return cls(
            frame["row_id"].astype(str).to_numpy(),
            frame["label"].to_numpy(dtype=np.float64),
            frame["score"].to_numpy(dtype=np.float64),
            frame["value"].to_numpy(dtype=np.float64),
            threshold,
            top_fraction,
        )

    def take(self, idx: NDArray[np.intp]) -> Scored:
        return Scored(
            self.row_id[idx],
            self.y[idx],
            self.score[idx],
            self.value[idx],
            self.threshold,
            self.top_fraction,
        )

    def metrics(
        self, weights: FloatArray | None = None, ranked: Ranked | None = None
    ) -> dict[str, FloatArray]:
        return compute(
            self.y,
            self.score,
            self.value,
            threshold=self.threshold,
            top_fraction=self.top_fraction,
            weights=weights,
            ranked=ranked,
        )


@dataclass(frozen=True)
class Interval:
    low: float
    high: float

    @property
    def significant(self) -> bool:
        """The interval excludes zero: the move is unlikely to be resampling noise."""
        return bool(self.low > 0 or self.high < 0)


@dataclass
class Comparison:
    mode: str  # "paired" or "unpaired"
    reason: str
    rows_base: int
    rows_change: int
    rows_shared: int
    resamples: int
    seed: int
    confidence: float
    intervals: dict[str, Interval] = field(default_factory=dict)
    delong_p: float | None = None


def align(base: Scored, change: Scored) -> tuple[Scored, str] | tuple[None, str]:
    """`base` reordered to `change`'s rows when both scored the same rows; else a reason."""
    if base.row_id.size != change.row_id.size:
        return None, f"test rows differ in number ({base.row_id.size} vs {change.row_id.size})"
    pos = pd.Index(base.row_id)
    if not pos.is_unique or not pd.Index(change.row_id).is_unique:
        return None, "row ids are not unique, so rows cannot be matched"
    idx = pos.get_indexer(change.row_id)
    if (idx < 0).any():
        missing = int((idx < 0).sum())
        return None, f"{missing} test rows of the change are not in the base's test set"
    aligned = base.take(idx)
    if not np.array_equal(aligned.y, change.y):
        return None, "the same rows carry different labels in the two revisions"
    return aligned, "both revisions scored the same test rows"


def _chunks(total: int, rows: int, cells: int) -> Iterator[int]:
    size = max(1, min(total, cells // max(rows, 1)))
    done = 0
    while done < total:
        yield min(size, total - done)
        done += size


def resample_weights(rng: np.random.Generator, count: int, rows: int) -> FloatArray:
    """Classic bootstrap: how often each row is drawn in each of `count` resamples."""
    draws = rng.integers(0, rows, size=(count, rows)) + (np.arange(count) * rows)[:, None]
    return np.bincount(draws.ravel(), minlength=count * rows).reshape(count, rows).astype(float)


def bootstrap_deltas(
    base: Scored, change: Scored, settings: Settings, *, paired: bool
) -> tuple[dict[str, FloatArray], int]:
    """Per-resample `change - base` for every metric, and the number of resamples used."""
    rows = max(base.y.size, change.y.size)
    total = settings.resamples_for(rows)
    base_rng, change_rng = (
        np.random.default_rng(s) for s in np.random.SeedSequence(settings.seed).spawn(2)
    )
    base_ranked = Ranked.of(base.y, base.score, base.value)
    change_ranked = Ranked.of(change.y, change.score, change.value)
    parts: dict[str, list[FloatArray]] = {}
    for count in _chunks(total, rows, settings.chunk_cells):
        w_change = resample_weights(change_rng, count, change.y.size)
        w_base = w_change if paired else resample_weights(base_rng, count, base.y.size)
        new = change.metrics(w_change, change_ranked)
        old = base.metrics(w_base, base_ranked)
        for name in new.keys() & old.keys():
            parts.setdefault(name, []).append(new[name] - old[name])
    return {k: np.concatenate(v) for k, v in parts.items()}, total


def percentile_interval(deltas: FloatArray, confidence: float) -> Interval | None:
    finite = deltas[np.isfinite(deltas)]
    if finite.size < 2:
        return None
    tail = (1.0 - confidence) / 2.0 * 100.0
    low, high = np.percentile(finite, [tail, 100.0 - tail])
    return Interval(float(low), float(high))


def compare(base: Scored, change: Scored, settings: Settings) -> Comparison:
    """Intervals of every metric's delta, paired on row ids when the rows allow it."""
    aligned, reason = align(base, change)
    paired = aligned is not None
    shared = int(np.isin(change.row_id, base.row_id).sum())
    deltas, used = bootstrap_deltas(
        base if aligned is None else aligned, change, settings, paired=paired
    )
    result = Comparison(
        mode="paired" if paired else "unpaired",
        reason=reason,
        rows_base=int(base.y.size),
        rows_change=int(change.y.size),
        rows_shared=shared,
        resamples=used,
        seed=settings.seed,
        confidence=settings.confidence,
    )
    for name, values in deltas.items():
        interval = percentile_interval(values, settings.confidence)
        if interval is not None:
            result.intervals[name] = interval
    if aligned is not None:
        result.delong_p = delong(change.y, aligned.score, change.score).p_value
    return result


@dataclass(frozen=True)
class DeLong:
    auc_a: float
    auc_b: float
    variance: float
    p_value: float


def midranks(x: NDArray) -> FloatArray:
    """1-based ranks with ties sharing their average rank (as in the Mann-Whitney U)."""
    x = np.asarray(x)
    order = np.argsort(x, kind="mergesort")
    xs = x[order]
    starts = np.flatnonzero(np.r_[True, xs[1:] != xs[:-1]])
    ends = np.r_[starts[1:], x.size]
    ranks = np.empty(x.size)
    ranks[order] = np.repeat((starts + ends + 1) / 2.0, ends - starts)
    return ranks


def _placements(y: NDArray, score: NDArray) -> tuple[float, FloatArray, FloatArray]:
    """AUC and the structural components of DeLong et al. (1988), via midranks."""
    pos, neg = score[y == 1], score[y == 0]
    m, n = pos.size, neg.size
    ranks_all = midranks(np.r_[pos, neg])
    v10 = (ranks_all[:m] - midranks(pos)) / n  # share of negatives below each positive
    v01 = 1.0 - (ranks_all[m:] - midranks(neg)) / m  # share of positives above each neg.
    return float(v10.mean()), v10, v01


def delong(y: NDArray, score_a: NDArray, score_b: NDArray | None = None) -> DeLong:
    """DeLong's test that two ROC AUCs on the same rows are equal (or the variance of one).

    Exact for the Mann-Whitney AUC with ties counted half; an independent check of the
    paired bootstrap for ROC AUC.
    """
    y = np.asarray(y)
    if not ((y == 1).any() and (y == 0).any()):
        raise ValueError("DeLong needs both positive and negative rows")
    auc_a, a10, a01 = _placements(y, np.asarray(score_a, dtype=float))
    if score_b is None:
        var = a10.var(ddof=1) / a10.size + a01.var(ddof=1) / a01.size
        return DeLong(auc_a, auc_a, float(var), float("nan"))
    auc_b, b10, b01 = _placements(y, np.asarray(score_b, dtype=float))
    s10 = np.cov(np.vstack([a10, b10]))
    s01 = np.cov(np.vstack([a01, b01]))
    cov = s10 / a10.size + s01 / a01.size
    var = float(cov[0, 0] + cov[1, 1] - 2 * cov[0, 1])
    if var <= 0:
        p = 1.0 if auc_a == auc_b else 0.0
    else:
        p = math.erfc(abs(auc_b - auc_a) / math.sqrt(2 * var))
    return DeLong(auc_a, auc_b, var, p)
