"""The estimator a run trains, chosen and configured entirely from params.yaml."""

from __future__ import annotations

from typing import Any

from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from churn import features, schema

ESTIMATORS = {
    "logistic_regression": LogisticRegression,
    "random_forest": RandomForestClassifier,
    "hist_gradient_boosting": HistGradientBoostingClassifier,
}
#: Linear models need logs and scaling; trees are indifferent to monotone transforms.
LINEAR = {"logistic_regression"}


def build(train: dict[str, Any]) -> Pipeline:
    """A fresh, unfitted pipeline from the `train` params section."""
    name = train.get("model")
    if name not in ESTIMATORS:
        raise ValueError(
            f"params.yaml: train.model is {name!r}; choose one of {', '.join(ESTIMATORS)}"
        )
    hyper = dict(train.get(name) or {})
    hyper["random_state"] = train["seed"]
    if name == "hist_gradient_boosting":
        hyper["monotonic_cst"] = _monotonic(train.get("monotonic_increasing", []))
    try:
        estimator = ESTIMATORS[name](**hyper)
    except TypeError as exc:
        raise ValueError(f"params.yaml: train.{name}: {exc}") from None
    linear = name in LINEAR
    return Pipeline(
        [
            ("preprocess", features.preprocessor(log_skewed=linear, scale=linear)),
            ("model", estimator),
        ]
    )


def _monotonic(increasing: list[str]) -> dict[str, int] | None:
    """Business rules the model must respect, e.g. a complaint never lowers churn risk."""
    unknown = sorted(set(increasing) - set(schema.feature_names()))
    if unknown:
        raise ValueError(
            f"params.yaml: train.monotonic_increasing names unknown features {unknown}"
        )
    return dict.fromkeys(increasing, 1) or None
