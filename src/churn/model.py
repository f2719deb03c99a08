"""Fork: the estimators this model may be trained with; params.yaml train.model picks one.

The machinery builds the pipeline around the choice (the contract's preprocessing, the
seed, the hyperparameters of `train.hyperparameters.<name>`); this registry says which
estimators exist and what each needs. Add an entry to try another one.
"""

from __future__ import annotations

from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression

from gitops.pipeline.estimator import Estimator

ESTIMATORS: dict[str, Estimator] = {
    # Linear models need logs and scaling; trees are indifferent to monotone transforms.
    "logistic_regression": Estimator(LogisticRegression, linear=True),
    "random_forest": Estimator(RandomForestClassifier),
    # Enforces train.monotonic_increasing exactly: a complaint never lowers churn risk.
    "hist_gradient_boosting": Estimator(HistGradientBoostingClassifier, monotonic=True),
}
