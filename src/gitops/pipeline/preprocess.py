"""The default preprocessing, derived from the contract and travelling inside the model.

Scoring then takes raw records. From each feature's type:

- numbers and integers pass as they are; `skewed` ones (counts, amounts) get a log for
  linear models, and linear models get them scaled;
- booleans, and ordered categories whose values are numbers, are kept as their code;
- ordered text categories are ordinal-encoded in the contract's order;
- unordered categories are one-hot encoded over the contract's categories (or ordinal
  codes with `train.categorical_encoding: ordinal`); a value outside them matches none;
- blanks, where the contract allows them, are imputed (`train.impute`).

Groups are in a fixed order (skewed, numeric, ordinal, categorical) and fields in the
contract's order within a group, so the model's inputs do not move when a field is added
elsewhere. Text without categories and dates are not encoded by default: make them info
columns, list their categories, or encode them in the model package's features hook.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, OrdinalEncoder, StandardScaler

from gitops.contract.spec import Contract, FieldSpec
from gitops.settings import TrainSettings

#: (name, transformer, columns): one branch of the ColumnTransformer, as a hook returns it.
Branch = tuple[str, Any, list[str]]
FeaturesHook = Callable[[Contract], list[Branch]]


class PreprocessError(ValueError):
    """A feature the defaults cannot encode; the message says what to do instead."""


def groups(contract: Contract, encoding: str = "onehot") -> dict[str, list[FieldSpec]]:
    """Features by how they are encoded, in the contract's order."""
    out: dict[str, list[FieldSpec]] = {
        k: [] for k in ("skewed", "numeric", "ordinal", "categorical")
    }
    for f in contract.features:
        if f.kind == "numeric":
            out["skewed" if f.skewed else "numeric"].append(f)
        elif f.kind == "boolean" or (f.kind == "ordinal" and f.type != "string"):
            out["numeric"].append(f)
        elif f.kind == "ordinal" or (f.kind == "categorical" and encoding == "ordinal"):
            out["ordinal"].append(f)
        elif f.kind == "categorical":
            out["categorical"].append(f)
        else:
            raise PreprocessError(
                f"{contract.source}: field '{f.name}' ({f.type}, no categories) is a feature the "
                "default preprocessing cannot encode: list its categories, add it to roles.info, "
                "or encode it in the features hook (params.yaml train.features)"
            )
    return out


def preprocessor(
    contract: Contract,
    train: TrainSettings,
    *,
    log_skewed: bool,
    scale: bool,
    extra: list[Branch] | None = None,
) -> ColumnTransformer:
    """Column handling derived from the contract: nothing here lists a column by hand."""
    by_group = groups(contract, train.categorical_encoding)
    numeric_impute, category_impute = train.impute.numeric, train.impute.categorical
    skewed_steps: list[tuple[str, Any]] = []
    if log_skewed:
        skewed_steps.append(
            ("log1p", FunctionTransformer(np.log1p, feature_names_out="one-to-one"))
        )
    if scale:
        skewed_steps.append(("scale", StandardScaler()))
    skewed, numeric = by_group["skewed"], by_group["numeric"]
    branches: list[Branch] = [
        ("skewed", _pipeline(skewed, numeric_impute, skewed_steps), _names(skewed)),
        (
            "numeric",
            _pipeline(numeric, numeric_impute, [("scale", StandardScaler())] if scale else []),
            _names(numeric),
        ),
    ]
    ordinal = by_group["ordinal"]
    if ordinal:
        encoder = OrdinalEncoder(
            categories=[list(f.allowed or ()) for f in ordinal],
            handle_unknown="use_encoded_value",
            unknown_value=np.nan,
            encoded_missing_value=np.nan,
        )
        branches.append(("ordinal", _chain(ordinal, category_impute, encoder), _names(ordinal)))
    categorical = by_group["categorical"]
    encoder = OneHotEncoder(
        categories=[list(f.allowed or ()) for f in categorical] if categorical else "auto",
        handle_unknown="ignore",
        sparse_output=False,
        dtype=np.float64,
    )
    branches.append(
        ("categorical", _chain(categorical, category_impute, encoder), _names(categorical))
    )
    branches += extra or []
    return ColumnTransformer(
        branches, remainder="drop", verbose_feature_names_out=False
    ).set_output(transform="pandas")  # named columns let params refer to features by name


def _names(fields: list[FieldSpec]) -> list[str]:
    return [f.name for f in fields]


def _pipeline(fields: list[FieldSpec], strategy: str, steps: list[tuple[str, Any]]) -> Any:
    """Imputation (where blanks are allowed) then `steps`; one step alone stands bare."""
    if strategy != "none" and any(not f.required for f in fields):
        steps = [("impute", SimpleImputer(strategy=strategy)), *steps]
    if not steps:
        return "passthrough"
    return steps[0][1] if len(steps) == 1 and steps[0][0] == "scale" else Pipeline(steps)


def _chain(fields: list[FieldSpec], strategy: str, encoder: Any) -> Any:
    if strategy != "none" and any(not f.required for f in fields):
        return Pipeline([("impute", SimpleImputer(strategy=strategy)), ("encode", encoder)])
    return encoder
