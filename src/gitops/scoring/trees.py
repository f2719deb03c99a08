"""Gradient-boosted trees compiled to bit masks, so a million rows score in seconds.

scikit-learn walks each of a few hundred trees node by node for every row. Here the
trees are compiled once, when the model is loaded, into one table per feature: for each
bin value, which leaves of each tree a row with that value can still reach. A row's leaf
in every tree is then the lowest bit left after AND-ing one table row per feature, a
handful of vectorised numpy operations per block of rows (the QuickScorer idea of
Lucchese et al., 2015). The sums are scikit-learn's, up to the order of additions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

#: Rows per block: small enough that one block's masks stay in the CPU cache.
BLOCK_ROWS = 256
N_BINS = 256  # binned features are uint8
#: Up to this many rows (an HTTP request's few records), whole-array operations replace the
#: per-feature loops: fewer numpy calls, which is what a few rows cost.
FEW_ROWS = 16


@dataclass(frozen=True)
class CompiledTrees:
    tables: NDArray[np.unsignedinteger]  # (features, bins, trees): leaves still reachable
    leaf_values: NDArray[np.float64]  # (trees, leaves), leaves numbered left to right
    baseline: float

    @classmethod
    def of(cls, estimator: Any) -> CompiledTrees | None:
        """Compile a fitted binary HistGradientBoostingClassifier; None when it cannot be."""
        mapper = getattr(estimator, "_bin_mapper", None)
        predictors = getattr(estimator, "_predictors", None)
        if mapper is None or not predictors or np.any(mapper.is_categorical_):
            return None
        if any(len(per_iteration) != 1 for per_iteration in predictors):
            return None  # multi-class: one tree per class and iteration
        trees = [per_iteration[0].nodes for per_iteration in predictors]
        most_leaves = max(int(nodes["is_leaf"].sum()) for nodes in trees)
        if most_leaves > 64:
            return None
        dtype = np.uint32 if most_leaves <= 32 else np.uint64
        n_features = len(mapper.n_bins_non_missing_)
        tables = np.full((n_features, N_BINS, len(trees)), np.iinfo(dtype).max, dtype=dtype)
        leaf_values = np.zeros((len(trees), most_leaves))
        missing_bin = int(mapper.missing_values_bin_idx_)
        for t, nodes in enumerate(trees):
            _compile_tree(nodes, t, tables, leaf_values, missing_bin)
        return cls(tables, leaf_values, float(np.ravel(estimator._baseline_prediction)[0]))

    def raw(self, binned: NDArray[np.uint8]) -> NDArray[np.float64]:
        """Raw scores (log-odds) of binned rows: baseline plus every tree's leaf value."""
        tables, dtype = self.tables, self.tables.dtype.type
        n_trees, n_leaves = tables.shape[2], self.leaf_values.shape[1]
        # A power of two's exponent is its leaf: read it from the float's exponent bits.
        wide = dtype is np.uint64
        as_float, as_int = (np.float64, np.int64) if wide else (np.float32, np.int32)
        shift, bias = (52, 1023) if wide else (23, 127)
        offsets = np.arange(n_trees) * n_leaves
        values = self.leaf_values.ravel()
        out = np.empty(len(binned), dtype=np.float64)
        features = np.arange(tables.shape[0])
        for start in range(0, len(binned), BLOCK_ROWS):
            rows = binned[start : start + BLOCK_ROWS]
            if len(rows) <= FEW_ROWS:  # one gather and one reduction instead of a loop
                reachable = np.bitwise_and.reduce(tables[features, rows], axis=1)
            else:
                reachable = tables[0][rows[:, 0]]
                for f in range(1, tables.shape[0]):
                    reachable &= tables[f][rows[:, f]]
            lowest = reachable & (~reachable + dtype(1))  # the leftmost reachable leaf
            leaf = (lowest.astype(as_float).view(as_int) >> shift) - bias  # exact: powers of 2
            leaf += offsets
            out[start : start + BLOCK_ROWS] = values.take(leaf).sum(axis=1)
        return out + self.baseline


@dataclass(frozen=True)
class Bins:
    """The bin mapper of a fitted boosting, as one `searchsorted` per feature.

    scikit-learn's `_BinMapper.transform` checks its input on every call, which costs more
    than the trees for a few rows. A value goes to the first bin whose upper threshold is
    at least the value (the binary search scikit-learn runs), a blank to the missing bin.
    """

    thresholds: tuple[NDArray[np.float64], ...]
    missing_bin: int
    padded: NDArray[np.float64]  # (features, most thresholds), +inf beyond a feature's own

    @classmethod
    def of(cls, mapper: Any) -> Bins | None:
        if np.any(mapper.is_categorical_):
            return None
        thresholds = tuple(np.asarray(t, dtype=np.float64) for t in mapper.bin_thresholds_)
        padded = np.full((len(thresholds), max(len(t) for t in thresholds)), np.inf)
        for f, t in enumerate(thresholds):
            padded[f, : len(t)] = t
        return cls(thresholds, int(mapper.missing_values_bin_idx_), padded)

    def transform(self, x: NDArray[np.float64]) -> NDArray[np.uint8]:
        if len(x) <= FEW_ROWS:  # thresholds below each value, counted in one operation
            out = (x[:, :, None] > self.padded[None, :, :]).sum(axis=2).astype(np.uint8)
            out[np.isnan(x)] = self.missing_bin
            return out
        out = np.empty(x.shape, dtype=np.uint8)
        for f, thresholds in enumerate(self.thresholds):
            column = x[:, f]
            out[:, f] = np.searchsorted(thresholds, column, side="left")
            out[np.isnan(column), f] = self.missing_bin
        return out


def _compile_tree(
    nodes: NDArray[Any],
    t: int,
    tables: NDArray[np.unsignedinteger],
    leaf_values: NDArray[np.float64],
    missing_bin: int,
) -> None:
    """A row that goes right at a node can reach no leaf of that node's left subtree."""
    dtype = tables.dtype.type
    leaves_under: dict[int, int] = {}  # node -> bit mask of the leaves below it
    stack, order = [0], []
    while stack:  # depth first, left before right: leaves numbered left to right
        node = stack.pop()
        order.append(node)
        if not nodes["is_leaf"][node]:
            stack += [int(nodes["right"][node]), int(nodes["left"][node])]
    count = 0
    for node in order:
        if nodes["is_leaf"][node]:
            leaves_under[node] = 1 << count
            leaf_values[t, count] = nodes["value"][node]
            count += 1
    for node in reversed(order):
        if not nodes["is_leaf"][node]:
            left, right = int(nodes["left"][node]), int(nodes["right"][node])
            leaves_under[node] = leaves_under[left] | leaves_under[right]
    bins = np.arange(N_BINS)
    for node in order:
        if nodes["is_leaf"][node]:
            continue
        goes_right = bins > nodes["bin_threshold"][node]
        goes_right[missing_bin] = not nodes["missing_go_to_left"][node]
        keep = dtype(~leaves_under[int(nodes["left"][node])] & int(np.iinfo(dtype).max))
        tables[nodes["feature_idx"][node], goes_right, t] &= keep
