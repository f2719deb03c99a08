"""The default preprocessing, compiled to numpy: a few records scored in microseconds.

scikit-learn's ColumnTransformer costs several milliseconds a call whatever the number of
rows (it builds DataFrames, checks names, concatenates), which is all of an HTTP request's
budget for one record. The preprocessing `gitops.pipeline.preprocess` builds is made of a
handful of fitted transformers with simple arithmetic: passing columns through, a log,
scaling, imputing fixed values, one-hot and ordinal codes over known categories. Here
they are read once, when the model is loaded, into plain numpy operations on one array per
column. Anything else (a fork's own transformer, an option these do not cover) makes
`CompiledColumns.of` return None and scoring keeps scikit-learn's path, so the result is
always scikit-learn's; a test compares both on every field of the sample.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

#: One branch step: arrays of one or more columns in, arrays of output columns out.
Step = Callable[[list[NDArray[Any]]], list[NDArray[Any]]]


@dataclass(frozen=True)
class Branch:
    columns: tuple[str, ...]
    steps: tuple[Step, ...]

    def apply(self, data: Mapping[str, NDArray[Any]]) -> list[NDArray[Any]]:
        arrays = [data[name] for name in self.columns]
        for step in self.steps:
            arrays = step(arrays)
        return arrays


@dataclass(frozen=True)
class CompiledColumns:
    """A fitted ColumnTransformer (alone or in a Pipeline) as numpy operations."""

    branches: tuple[Branch, ...]
    n_outputs: int

    @classmethod
    def of(cls, transformer: Any) -> CompiledColumns | None:
        """Compile `transformer`; None when any part of it is not one of the known kinds."""
        from sklearn.compose import ColumnTransformer
        from sklearn.pipeline import Pipeline

        if isinstance(transformer, Pipeline):
            if len(transformer.steps) != 1:
                return None
            transformer = transformer.steps[0][1]
        if type(transformer) is not ColumnTransformer:
            return None
        if transformer.remainder != "drop" or getattr(transformer, "sparse_output_", False):
            return None
        branches = []
        for _name, fitted, columns in transformer.transformers_:
            if fitted == "drop" or (isinstance(columns, Sequence) and len(columns) == 0):
                continue
            if not isinstance(columns, Sequence) or not all(isinstance(c, str) for c in columns):
                return None
            steps = _steps(fitted)
            if steps is None:
                return None
            branches.append(Branch(tuple(columns), tuple(steps)))
        try:
            n_outputs = len(transformer.get_feature_names_out())
        except (AttributeError, ValueError):
            return None
        return cls(tuple(branches), n_outputs)

    def transform(self, data: Mapping[str, NDArray[Any]], rows: int) -> NDArray[np.float64]:
        """The model's input matrix (rows × outputs, float64) from one array per column."""
        out = np.empty((rows, self.n_outputs), dtype=np.float64)
        at = 0
        for branch in self.branches:
            for array in branch.apply(data):
                out[:, at] = array
                at += 1
        if at != self.n_outputs:  # a transformer produced another count than it declares
            raise ValueError(f"compiled preprocessing gave {at} columns, not {self.n_outputs}")
        return out


def _steps(fitted: Any) -> list[Step] | None:
    from sklearn.pipeline import Pipeline

    if fitted == "passthrough":
        return [_as_float]
    if isinstance(fitted, Pipeline):
        steps: list[Step] = []
        for _name, part in fitted.steps:
            compiled = _steps(part)
            if compiled is None:
                return None
            steps += compiled
        return steps
    step = _step(fitted)
    return None if step is None else [step]


def _step(fitted: Any) -> Step | None:
    """One fitted transformer as a step, or None when its options are not covered."""
    from sklearn.impute import SimpleImputer
    from sklearn.preprocessing import (
        FunctionTransformer,
        OneHotEncoder,
        OrdinalEncoder,
        StandardScaler,
    )

    kind = type(fitted)
    if kind is FunctionTransformer:
        if fitted.kw_args or fitted.validate:
            return None
        if fitted.func is None:  # what a fitted "passthrough" branch becomes
            return _as_float
        if fitted.func is not np.log1p:
            return None
        return lambda arrays: [np.log1p(_float(a)) for a in arrays]
    if kind is StandardScaler:
        mean = fitted.mean_ if fitted.with_mean else None
        scale = fitted.scale_ if fitted.with_std else None
        return lambda arrays: [_scaled(_float(a), mean, scale, i) for i, a in enumerate(arrays)]
    if kind is SimpleImputer:
        missing = fitted.missing_values
        if fitted.add_indicator or not (isinstance(missing, float) and np.isnan(missing)):
            return None
        fill = fitted.statistics_
        if fill.dtype.kind not in "fiu" or np.isnan(fill.astype(np.float64)).any():
            return None  # text categories or an all-blank column: scikit-learn's own path
        values = fill.astype(np.float64)
        return lambda arrays: [_filled(_float(a), values[i]) for i, a in enumerate(arrays)]
    if kind is OneHotEncoder:
        if fitted.drop is not None or fitted.handle_unknown != "ignore" or fitted.sparse_output:
            return None
        if getattr(fitted, "_infrequent_enabled", False):
            return None
        return _one_hot([np.asarray(c) for c in fitted.categories_])
    if kind is OrdinalEncoder:
        if fitted.handle_unknown != "use_encoded_value" or getattr(
            fitted, "_infrequent_enabled", False
        ):
            return None
        unknown, missing = fitted.unknown_value, fitted.encoded_missing_value
        if not (_is_nan(unknown) and _is_nan(missing)):
            return None
        return _ordinal([np.asarray(c) for c in fitted.categories_])
    return None


def _is_nan(value: Any) -> bool:
    return isinstance(value, float) and np.isnan(value)


def _float(array: NDArray[Any]) -> NDArray[np.float64]:
    return np.asarray(array, dtype=np.float64)


def _as_float(arrays: list[NDArray[Any]]) -> list[NDArray[Any]]:
    return [_float(a) for a in arrays]


def _scaled(
    x: NDArray[np.float64], mean: NDArray[Any] | None, scale: NDArray[Any] | None, i: int
) -> NDArray[np.float64]:
    if mean is not None:
        x = x - mean[i]
    if scale is not None:
        x = x / scale[i]
    return x


def _filled(x: NDArray[np.float64], value: float) -> NDArray[np.float64]:
    return np.where(np.isnan(x), value, x)


def _codes(array: NDArray[Any], categories: NDArray[Any]) -> NDArray[np.float64]:
    """The position of each value among `categories`; NaN for a blank or an unknown value."""
    out = np.full(len(array), np.nan)
    if categories.dtype.kind in "fiu":
        values = _float(array)
        for code, category in enumerate(categories.astype(np.float64)):
            out[values == category] = code
    else:
        values = np.asarray(array, dtype=object)
        for code, category in enumerate(categories):
            out[values == category] = code
    return out


def _one_hot(categories: list[NDArray[Any]]) -> Step:
    def step(arrays: list[NDArray[Any]]) -> list[NDArray[Any]]:
        out: list[NDArray[Any]] = []
        for array, cats in zip(arrays, categories, strict=True):
            codes = _codes(array, cats)
            out += [(codes == k).astype(np.float64) for k in range(len(cats))]
        return out

    return step


def _ordinal(categories: list[NDArray[Any]]) -> Step:
    def step(arrays: list[NDArray[Any]]) -> list[NDArray[Any]]:
        return [_codes(a, c) for a, c in zip(arrays, categories, strict=True)]

    return step
