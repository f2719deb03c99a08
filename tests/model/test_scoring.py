"""Scoring with the trained model: fast path exact, threads exact, untrusted files refused."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from sklearn.preprocessing import FunctionTransformer

from churn import persist, schema, scoring

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def bundle(pipeline_repo: Path) -> scoring.Bundle:
    return scoring.load(
        pipeline_repo / "models/model.skops", params_path=pipeline_repo / "params.yaml"
    )


@pytest.fixture(scope="module")
def test_rows(pipeline_repo: Path) -> pd.DataFrame:
    return pd.read_parquet(pipeline_repo / "data/processed/test.parquet")


def test_binned_trees_give_exactly_predict_proba(
    bundle: scoring.Bundle, test_rows: pd.DataFrame, pipeline_repo: Path
) -> None:
    assert scoring._plain_boosting(bundle.model) is not None  # the fast path is the one taken
    fast = bundle.predict(test_rows)
    reference = bundle.model.predict_proba(test_rows[schema.feature_names()])[:, 1]
    np.testing.assert_allclose(fast, reference, rtol=0, atol=1e-12)
    evaluation = pd.read_csv(pipeline_repo / "models/predictions.csv")
    by_id = dict(zip(test_rows[schema.ROW_ID], fast, strict=True))
    np.testing.assert_allclose(evaluation["row_id"].map(by_id), evaluation["score"], atol=1e-12)


def test_threads_split_large_batches_without_changing_scores(
    bundle: scoring.Bundle, test_rows: pd.DataFrame
) -> None:
    many = test_rows.sample(12_000, replace=True, random_state=0)
    one = scoring.predict(bundle.model, many, threads=1)
    two = scoring.predict(bundle.model, many, threads=2)
    assert np.array_equal(one, two)


def test_a_model_not_matching_its_manifest_is_refused(pipeline_repo: Path, tmp_path: Path) -> None:
    model = tmp_path / "model.skops"
    shutil.copy2(pipeline_repo / "models/model.skops", model)
    with model.open("r+b") as fh:
        fh.seek(100)
        byte = fh.read(1)
        fh.seek(100)
        fh.write(bytes([byte[0] ^ 1]))
    expected = persist.sha256_file(pipeline_repo / "models/model.skops")
    with pytest.raises(persist.ModelFileError, match="the file was modified or replaced"):
        persist.load(model, expected_sha256=expected)


def test_a_model_file_with_untrusted_types_is_refused(tmp_path: Path) -> None:
    evil = tmp_path / "model.skops"
    evil.write_bytes(sio.dumps(FunctionTransformer(func=os.system)))
    with pytest.raises(persist.ModelFileError, match=r"not trusted: posix.system"):
        persist.load(evil, expected_sha256=persist.sha256_file(evil))
