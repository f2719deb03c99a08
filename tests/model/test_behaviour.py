"""What the business expects of the example's model, checked on the held-out customers.

Example-specific (a fork writes its own): the columns named here are the churn sample's.
Tolerances are explicit: a rule holds on average and is broken for at most a small share
of customers by more than a small amount.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

import sample
from gitops.scoring import persist
from gitops.scoring.bundle import positive_proba

pytestmark = pytest.mark.example
BROKEN_SHARE = 0.02  # at most 2% of customers may move against a rule...
BROKEN_BY = 0.02  # ...by more than two points of risk


@pytest.fixture(scope="module")
def scored(pipeline_repo: Path) -> tuple[object, pd.DataFrame]:
    model = persist.load(pipeline_repo / "models/model.skops")
    test = pd.read_parquet(pipeline_repo / "data/processed/test.parquet")
    return model, test


def risk(model: object, frame: pd.DataFrame) -> np.ndarray:
    return positive_proba(model, frame[sample.contract().feature_names])


def shift(model: object, frame: pd.DataFrame, column: str, low: object, high: object) -> np.ndarray:
    """Risk with `column` at `high` minus risk with it at `low`, for every customer."""
    return risk(model, frame.assign(**{column: high})) - risk(model, frame.assign(**{column: low}))


def assert_raises_risk(diff: np.ndarray) -> None:
    assert diff.mean() > 0
    assert (diff < -BROKEN_BY).mean() <= BROKEN_SHARE


def test_a_complaint_never_lowers_churn_risk(scored: tuple[object, pd.DataFrame]) -> None:
    model, test = scored
    assert_raises_risk(shift(model, test, "complained", 0, 1))


def test_an_inactive_customer_is_riskier_on_average(scored: tuple[object, pd.DataFrame]) -> None:
    """Not a constraint of the model (only complaints are), so only the average is held."""
    model, test = scored
    assert shift(model, test, "status", 1, 2).mean() > 0.02


def test_heavy_users_are_safer_than_light_users(scored: tuple[object, pd.DataFrame]) -> None:
    model, test = scored
    light = test.assign(seconds_of_use=500, call_count=10)
    heavy = test.assign(seconds_of_use=12000, call_count=200)
    assert risk(model, light).mean() > risk(model, heavy).mean()


def test_scores_ignore_columns_that_are_not_features(scored: tuple[object, pd.DataFrame]) -> None:
    model, test = scored
    base = risk(model, test)
    shuffled = test[list(reversed(test.columns))].assign(age=99, churn=1 - test["churn"])
    np.testing.assert_array_equal(base, risk(model, shuffled))


def test_ranks_held_out_customers_far_better_than_chance(
    scored: tuple[object, pd.DataFrame],
) -> None:

    model, test = scored
    assert roc_auc_score(test[sample.contract().label], risk(model, test)) > 0.9
