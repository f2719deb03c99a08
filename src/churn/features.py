"""Preprocessing that travels inside the model, so scoring takes raw customer records."""

from __future__ import annotations

import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

from churn import schema


def numeric_names() -> list[str]:
    return [c.name for c in schema.feature_columns() if c.kind != "categorical"]


def categorical_names() -> list[str]:
    return [c.name for c in schema.feature_columns() if c.kind == "categorical"]


def skewed_names() -> list[str]:
    """Counts and amounts span orders of magnitude; a log makes linear models see them."""
    return [c.name for c in schema.feature_columns() if c.kind in ("count", "amount")]


def preprocessor(*, log_skewed: bool, scale: bool) -> ColumnTransformer:
    """Column handling derived from the schema: nothing here lists a column by hand."""
    skewed = skewed_names()
    other_numeric = [n for n in numeric_names() if n not in skewed]
    numeric_steps = []
    if log_skewed:
        numeric_steps.append(
            ("log1p", FunctionTransformer(np.log1p, feature_names_out="one-to-one"))
        )
    if scale:
        numeric_steps.append(("scale", StandardScaler()))
    passthrough = "passthrough"
    return ColumnTransformer(
        [
            ("skewed", Pipeline(numeric_steps) if numeric_steps else passthrough, skewed),
            ("numeric", StandardScaler() if scale else passthrough, other_numeric),
            (
                "categorical",
                OneHotEncoder(handle_unknown="ignore", sparse_output=False, dtype=np.float64),
                categorical_names(),
            ),
        ],
        remainder="drop",
        verbose_feature_names_out=False,
    ).set_output(transform="pandas")  # named columns let params refer to features by name
