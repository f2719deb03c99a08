"""Schema-derived preprocessing, the estimator factory and byte-reproducible model files."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from churn import features, model, persist, schema

PARAMS = {
    "model": "hist_gradient_boosting",
    "seed": 3,
    "monotonic_increasing": ["complained"],
    "logistic_regression": {"max_iter": 500},
    "random_forest": {"n_estimators": 5},
    "hist_gradient_boosting": {"max_iter": 20},
}


def synthetic(n: int = 300, seed: int = 0) -> pd.DataFrame:
    """Valid records drawn from each column's declared range."""
    rng = np.random.default_rng(seed)
    data = {}
    for col in schema.COLUMNS:
        if col.allowed is not None:
            data[col.name] = rng.choice(col.allowed, n)
        else:
            hi = col.maximum if col.maximum is not None else 500
            data[col.name] = rng.integers(int(col.minimum or 0), int(hi) + 1, n)
    frame = pd.DataFrame(data)
    frame["age"] = frame["age_group"].map(schema.AGE_OF_GROUP)
    frame["customer_value"] = frame["customer_value"].astype(float)
    return frame


def test_preprocessing_uses_every_feature_once_and_nothing_else() -> None:
    names = features.numeric_names() + features.categorical_names()
    assert sorted(names) == sorted(schema.feature_names())
    assert "age" not in names
    assert schema.TARGET not in names
    out = features.preprocessor(log_skewed=True, scale=True).fit_transform(synthetic())
    assert not out.isna().any().any()


@pytest.mark.parametrize("name", sorted(model.ESTIMATORS))
def test_each_model_trains_and_scores_probabilities(name: str) -> None:
    frame = synthetic()
    fitted = model.build({**PARAMS, "model": name}).fit(frame, frame[schema.TARGET])
    score = fitted.predict_proba(frame)[:, 1]
    assert score.shape == (len(frame),)
    assert ((score >= 0) & (score <= 1)).all()


def test_unknown_model_or_hyperparameter_is_named() -> None:
    with pytest.raises(ValueError, match=r"train\.model is 'xgboost'"):
        model.build({**PARAMS, "model": "xgboost"})
    with pytest.raises(ValueError, match=r"train\.random_forest"):
        model.build({**PARAMS, "model": "random_forest", "random_forest": {"trees": 3}})
    with pytest.raises(ValueError, match="unknown features"):
        model.build({**PARAMS, "monotonic_increasing": ["shoe_size"]})


def test_same_model_gives_same_bytes_and_loads_back(tmp_path: Path) -> None:
    frame = synthetic()
    fitted = model.build(PARAMS).fit(frame, frame[schema.TARGET])
    refit = model.build(PARAMS).fit(frame, frame[schema.TARGET])
    assert persist.dumps(fitted) == persist.dumps(refit)
    digest = persist.save(fitted, tmp_path / "m.skops")
    assert digest == hashlib.sha256((tmp_path / "m.skops").read_bytes()).hexdigest()
    loaded = persist.load(tmp_path / "m.skops", expected_sha256=digest)
    np.testing.assert_array_equal(loaded.predict_proba(frame), fitted.predict_proba(frame))


def test_modified_model_file_is_refused(tmp_path: Path) -> None:
    frame = synthetic()
    path = tmp_path / "m.skops"
    digest = persist.save(model.build(PARAMS).fit(frame, frame[schema.TARGET]), path)
    data = bytearray(path.read_bytes())
    data[-30] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(persist.ModelFileError, match="modified or replaced"):
        persist.load(path, expected_sha256=digest)
    with pytest.raises(persist.ModelFileError, match="not found"):
        persist.load(tmp_path / "missing.skops")
