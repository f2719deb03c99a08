"""Contract-derived preprocessing, the estimator registry and byte-reproducible model files."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import sample
from gitops.pipeline import estimator, preprocess
from gitops.scoring import persist
from gitops.scoring.bundle import positive_proba
from gitops.settings import TrainSettings

REGISTRY = sample.settings().train.estimators
PARAMS = TrainSettings(
    estimators=REGISTRY,
    model="hist_gradient_boosting",
    seed=3,
    monotonic_increasing=list(sample.settings().train.monotonic_increasing),
    hyperparameters={
        "logistic_regression": {"max_iter": 500},
        "random_forest": {"n_estimators": 5},
        "hist_gradient_boosting": {"max_iter": 20},
    },
)


def train(**changes: object) -> TrainSettings:
    return PARAMS.model_copy(update=changes)


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return sample.typed().sample(400, random_state=0)


def test_preprocessing_uses_every_feature_once_and_nothing_else() -> None:
    contract = sample.contract()
    grouped = preprocess.groups(contract)
    names = [f.name for group in grouped.values() for f in group]
    assert sorted(names) == sorted(contract.feature_names)
    assert not set(names) & {contract.label, contract.id, *contract.roles.info}


def test_preprocessing_output_has_no_blanks(frame: pd.DataFrame) -> None:
    contract = sample.contract()
    out = preprocess.preprocessor(contract, PARAMS, log_skewed=True, scale=True).fit_transform(
        frame[contract.feature_names]
    )
    assert not out.isna().any().any()
    # Categories the contract lists get a column even when the data lacks them.
    for field in sample.fields("categorical"):
        for value in field.allowed or ():
            assert f"{field.name}_{value}" in out.columns


@pytest.mark.parametrize("name", sorted(estimator.registry(REGISTRY)))
def test_each_model_trains_and_scores_probabilities(name: str, frame: pd.DataFrame) -> None:
    contract = sample.contract()
    fitted = estimator.build(contract, train(model=name)).fit(frame, frame[contract.label])
    score = positive_proba(fitted, frame)
    assert score.shape == (len(frame),)
    assert ((score >= 0) & (score <= 1)).all()


def test_unknown_model_or_hyperparameter_is_named() -> None:
    contract = sample.contract()
    with pytest.raises(ValueError, match=r"train\.model is 'xgboost'"):
        estimator.build(contract, train(model="xgboost"))
    bad = {**PARAMS.hyperparameters, "random_forest": {"trees": 3}}
    with pytest.raises(ValueError, match=r"train\.hyperparameters\.random_forest"):
        estimator.build(contract, train(model="random_forest", hyperparameters=bad))
    with pytest.raises(ValueError, match="names no estimator"):
        estimator.build(contract, train(hyperparameters={"xgboost": {}}))
    with pytest.raises(ValueError, match="unknown features"):
        estimator.build(contract, train(monotonic_increasing=["shoe_size"]))
    with pytest.raises(ValueError, match="cannot import"):
        estimator.build(contract, train(estimators="no_such_package.models"))


def test_same_model_gives_same_bytes_and_loads_back(tmp_path: Path, frame: pd.DataFrame) -> None:
    contract = sample.contract()
    fitted = estimator.build(contract, PARAMS).fit(frame, frame[contract.label])
    refit = estimator.build(contract, PARAMS).fit(frame, frame[contract.label])
    assert persist.dumps(fitted) == persist.dumps(refit)
    digest = persist.save(fitted, tmp_path / "m.skops")
    assert digest == hashlib.sha256((tmp_path / "m.skops").read_bytes()).hexdigest()
    loaded = persist.load(tmp_path / "m.skops", expected_sha256=digest)
    np.testing.assert_array_equal(loaded.predict_proba(frame), fitted.predict_proba(frame))


def test_modified_model_file_is_refused(tmp_path: Path, frame: pd.DataFrame) -> None:
    contract = sample.contract()
    path = tmp_path / "m.skops"
    digest = persist.save(estimator.build(contract, PARAMS).fit(frame, frame[contract.label]), path)
    data = bytearray(path.read_bytes())
    data[-30] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(persist.ModelFileError, match="modified or replaced"):
        persist.load(path, expected_sha256=digest)
    with pytest.raises(persist.ModelFileError, match="not found"):
        persist.load(tmp_path / "missing.skops")
