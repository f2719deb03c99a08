"""The pipeline a run trains: the contract's preprocessing, then the estimator params name.

The model package owns the choice of estimators: a registry (`ESTIMATORS` in the module
`train.estimators` names) maps names to `Estimator` entries, and `train.model` picks one,
configured by `train.hyperparameters.<name>`. Extra features come from the optional
`train.features` hook. Both are reached by the names params.yaml gives, never imported
statically, so the machinery serves any fork's model package.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sklearn.pipeline import Pipeline
from threadpoolctl import threadpool_limits  # a scikit-learn dependency

from gitops.contract.load import import_hook
from gitops.contract.spec import Contract
from gitops.pipeline import preprocess
from gitops.settings import TrainSettings


@dataclass(frozen=True)
class Estimator:
    """A registry entry: the class, and what the machinery must do around it.

    `linear`: the estimator needs logs of skewed fields and scaled inputs (trees do not).
    `monotonic`: it takes `monotonic_cst`, so `train.monotonic_increasing` applies.
    """

    make: Callable[..., Any]
    linear: bool = False
    monotonic: bool = False
    seeded: bool = True


def registry(module: str, source: str = "params.yaml") -> dict[str, Estimator]:
    try:
        found = importlib.import_module(module)
    except ImportError as exc:
        raise ValueError(f"{source}: train.estimators: cannot import {module} ({exc})") from None
    entries = getattr(found, "ESTIMATORS", None)
    if not isinstance(entries, dict) or not all(isinstance(e, Estimator) for e in entries.values()):
        raise ValueError(
            f"{source}: train.estimators: {module} has no ESTIMATORS mapping names to Estimator"
        )
    return entries


def build(contract: Contract, train: TrainSettings, source: str = "params.yaml") -> Pipeline:
    """A fresh, unfitted pipeline from the contract and the `train` params section."""
    entries = registry(train.estimators, source)
    if train.model not in entries:
        raise ValueError(
            f"{source}: train.model is {train.model!r}; choose one of {', '.join(entries)} "
            f"(the registry in {train.estimators})"
        )
    unknown = sorted(set(train.hyperparameters) - set(entries))
    if unknown:
        raise ValueError(f"{source}: train.hyperparameters.{unknown[0]} names no estimator")
    entry = entries[train.model]
    hyper = dict(train.hyperparameters.get(train.model) or {})
    if entry.seeded:
        hyper["random_state"] = train.seed
    features = set(contract.feature_names)
    unknown = sorted(set(train.monotonic_increasing) - features)
    if unknown:
        raise ValueError(f"{source}: train.monotonic_increasing names unknown features {unknown}")
    if entry.monotonic:
        hyper["monotonic_cst"] = dict.fromkeys(train.monotonic_increasing, 1) or None
    try:
        model = entry.make(**hyper)
    except TypeError as exc:
        raise ValueError(f"{source}: train.hyperparameters.{train.model}: {exc}") from None
    extra = []
    if train.features:
        hook = import_hook(train.features, f"{source}: train.features")
        extra = list(hook(contract))
    return Pipeline(
        [
            (
                "preprocess",
                preprocess.preprocessor(
                    contract, train, log_skewed=entry.linear, scale=entry.linear, extra=extra
                ),
            ),
            ("model", model),
        ]
    )


def fit(pipeline: Pipeline, features: Any, label: Any, threads: int) -> Pipeline:
    """Fit with exactly `threads` CPU threads (OpenMP and BLAS), whatever the machine has.

    Left to itself scikit-learn uses one thread per core, and a histogram booster's sums then
    depend on the runner: the same commit would record other model bytes on a 4-core runner
    than on a 2-core laptop, and a reproduced dvc.lock would not match the committed one.
    """
    with threadpool_limits(limits=threads):
        return pipeline.fit(features, label)
