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
import multiprocessing
import os
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from gitops.metrics import Ranked, compute, resample_weights

FloatArray = NDArray[np.float64]
#: Below this many resample x row cells a worker pool costs more than it saves.
PARALLEL_CELLS = 5_000_000
#: Key prefix of the base's own resampled values among the deltas `bootstrap_deltas` returns.
BASE_PREFIX = "base:"


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
    #: Resamples x rows held in memory at once (per worker).
    chunk_cells: int = 2_000_000
    #: Worker processes for large test sets; 0 means one per CPU.
    workers: int = 0

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
    #: Each metric's own interval at the base: how precisely the base's value is known.
    base_intervals: dict[str, Interval] = field(default_factory=dict)
    delong_p: float | None = None


def reading(delta: float | None, interval: Interval | None, higher_is_better: bool) -> str | None:
    """'better', 'worse' or 'within noise' for a move and its interval (None: not compared).

    The one reading of a move the report and the release notes both give, so a reviewer and
    a release page never disagree about whether a metric changed.
    """
    if delta is None or interval is None:
        return None
    if not interval.significant:
        return "within noise"
    return "better" if (interval.low > 0) == higher_is_better else "worse"


def align(base: Scored, change: Scored) -> tuple[Scored, str] | tuple[None, str]:
    """`base` reordered to `change`'s rows when both scored the same rows; else a reason."""
    if base.row_id.size != change.row_id.size:
        return None, f"{base.row_id.size:,} rows at the base, {change.row_id.size:,} in the change"
    pos = pd.Index(base.row_id)
    if not pos.is_unique or not pd.Index(change.row_id).is_unique:
        return None, "row ids are not unique, so rows cannot be matched"
    idx = pos.get_indexer(change.row_id)
    if (idx < 0).any():
        missing = int((idx < 0).sum())
        return None, f"{missing:,} of the change's rows are not in the base's test set"
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


@dataclass(frozen=True)
class _Work:
    """What every chunk of resamples needs; shared with worker processes by fork."""

    base: Scored
    change: Scored
    base_ranked: Ranked
    change_ranked: Ranked
    paired: bool


_SHARED: _Work | None = None


def _chunk(work: _Work, count: int, seed: np.random.SeedSequence) -> dict[str, FloatArray]:
    """`change - base` per metric for `count` resamples drawn from `seed`.

    The base's own resampled values ride along under `BASE_PREFIX + name`.
    """
    change_seed, base_seed = seed.spawn(2)
    w_change = resample_weights(np.random.default_rng(change_seed), count, work.change.y.size)
    w_base = (
        w_change
        if work.paired
        else resample_weights(np.random.default_rng(base_seed), count, work.base.y.size)
    )
    new = work.change.metrics(w_change, work.change_ranked)
    old = work.base.metrics(w_base, work.base_ranked)
    shared = new.keys() & old.keys()
    return {name: new[name] - old[name] for name in shared} | {
        BASE_PREFIX + name: old[name] for name in shared
    }


def _shared_chunk(task: tuple[int, np.random.SeedSequence]) -> dict[str, FloatArray]:
    assert _SHARED is not None
    return _chunk(_SHARED, *task)


def bootstrap_deltas(
    base: Scored, change: Scored, settings: Settings, *, paired: bool
) -> tuple[dict[str, FloatArray], int]:
    """Per-resample `change - base` for every metric, and the number of resamples used.

    Each chunk of resamples has its own seed (spawned from `settings.seed`), so the
    result is the same whether chunks run in this process or in parallel workers.
    """
    global _SHARED
    rows = max(base.y.size, change.y.size)
    total = settings.resamples_for(rows)
    counts = list(_chunks(total, rows, settings.chunk_cells))
    seeds = np.random.SeedSequence(settings.seed).spawn(len(counts))
    work = _Work(
        base,
        change,
        Ranked.of(base.y, base.score, base.value),
        Ranked.of(change.y, change.score, change.value),
        paired,
    )
    workers = min(settings.workers or os.cpu_count() or 1, len(counts))
    parallel = workers > 1 and total * rows >= PARALLEL_CELLS and _can_fork()
    if parallel:
        _SHARED = work
        try:
            context = multiprocessing.get_context("fork")
            with ProcessPoolExecutor(workers, mp_context=context) as pool:
                results = list(pool.map(_shared_chunk, zip(counts, seeds, strict=True)))
        finally:
            _SHARED = None
    else:
        results = [_chunk(work, c, s) for c, s in zip(counts, seeds, strict=True)]
    names = results[0].keys()
    return {k: np.concatenate([r[k] for r in results]) for k in names}, total


def _can_fork() -> bool:
    return "fork" in multiprocessing.get_all_start_methods()


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
    shared = int(pd.Index(change.row_id).isin(base.row_id).sum())
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
        if interval is None:
            continue
        if name.startswith(BASE_PREFIX):
            result.base_intervals[name.removeprefix(BASE_PREFIX)] = interval
        else:
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
