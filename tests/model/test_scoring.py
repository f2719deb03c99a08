"""Scoring with the trained model: fast path exact, threads exact, untrusted files refused."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sklearn.base
import skops.io as sio
from sklearn.metrics import roc_auc_score
from sklearn.preprocessing import FunctionTransformer

import sample
from gitops.files import digest
from gitops.pipeline.quality import ROW_ID
from gitops.scoring import bundle as scoring
from gitops.scoring import persist
from gitops.scoring.trees import CompiledTrees
from gitops.settings import Settings

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def bundle(pipeline_repo: Path) -> scoring.Bundle:
    settings = Settings.load(pipeline_repo / "params.yaml")
    contract_path = pipeline_repo / settings.data.contract
    settings = settings.model_copy(
        update={"data": settings.data.model_copy(update={"contract": str(contract_path)})}
    )
    return scoring.load(pipeline_repo / "models/model.skops", settings=settings)


@pytest.fixture(scope="module")
def test_rows(pipeline_repo: Path) -> pd.DataFrame:
    return pd.read_parquet(pipeline_repo / "data/processed/test.parquet")


def test_binned_trees_give_exactly_predict_proba(
    bundle: scoring.Bundle, test_rows: pd.DataFrame, pipeline_repo: Path
) -> None:
    assert bundle.scorer.trees is not None  # the compiled path is the one taken
    fast = bundle.predict(test_rows)
    reference = scoring.positive_proba(bundle.model, test_rows[sample.contract().feature_names])
    np.testing.assert_allclose(fast, reference, rtol=0, atol=1e-12)
    assert np.array_equal(bundle.bands.assign(fast), bundle.bands.assign(reference))
    evaluation = pd.read_csv(pipeline_repo / "models/predictions.csv")
    by_id = dict(zip(test_rows[ROW_ID], fast, strict=True))
    np.testing.assert_allclose(evaluation["row_id"].map(by_id), evaluation["score"], atol=1e-12)


def test_compiled_trees_reach_the_leaves_scikit_learn_reaches(bundle: scoring.Bundle) -> None:
    """Every bin value, the missing-value bin included, on every tree."""
    estimator = bundle.model.steps[-1][1]
    compiled = CompiledTrees.of(estimator)
    assert compiled is not None
    mapper = estimator._bin_mapper
    rng = np.random.default_rng(0)
    highest = np.r_[mapper.n_bins_non_missing_]  # exclusive upper bound per feature
    binned = (rng.random((20_000, len(highest))) * (highest + 1)).astype(np.uint8)
    binned[binned == highest] = mapper.missing_values_bin_idx_
    binned = np.ascontiguousarray(binned)
    reference = float(np.ravel(estimator._baseline_prediction)[0]) + sum(
        tree.predict_binned(binned, mapper.missing_values_bin_idx_, 1)
        for (tree,) in estimator._predictors
    )
    np.testing.assert_allclose(compiled.raw(binned), reference, rtol=0, atol=1e-10)


def test_the_arrays_path_scores_exactly_like_scikit_learn(
    bundle: scoring.Bundle, test_rows: pd.DataFrame
) -> None:
    """What the API scores: compiled preprocessing and bins, from the validated JSON."""
    from gitops.contract.json_schema import json_records
    from gitops.scoring import api
    from gitops.scoring.columns import CompiledColumns
    from gitops.scoring.trees import Bins

    assert bundle.scorer.fast
    contract = sample.contract()
    features = test_rows[contract.feature_names]
    records = json_records(test_rows, contract)
    # Odd but schema-valid values: whole floats, the ends of every range, blanks where allowed.
    rng = np.random.default_rng(1)
    for record in records[::7]:
        for field in contract.features:
            c = field.constraints
            if field.type == "integer" and field.allowed is None:
                record[field.name] = float(rng.choice([c.minimum or 0, c.maximum or 0]))
    columns = api.records_columns(records, contract, ["records"])
    fast = bundle.scorer.proba_arrays(columns.arrays, columns.rows)
    typed = api.records_frame(records, contract, ["records"])
    reference = scoring.positive_proba(bundle.model, typed[contract.feature_names])
    np.testing.assert_allclose(fast, reference, rtol=0, atol=1e-12)
    for size in (1, 3, 16):  # the few-rows path an HTTP request takes
        for start in range(0, 160, size):
            part = records[start : start + size]
            few = api.records_columns(part, contract, ["records"])
            scores = bundle.scorer.proba_arrays(few.arrays, few.rows)
            np.testing.assert_allclose(scores, reference[start : start + size], atol=1e-12)
    preprocess = bundle.scorer.preprocess
    compiled = CompiledColumns.of(preprocess)
    assert compiled is not None
    matrix = compiled.transform(columns.arrays, columns.rows)
    expected = preprocess.transform(typed[contract.feature_names]).to_numpy(np.float64)
    assert np.array_equal(matrix, expected)
    # Values outside the categories and blanks: one-hot of none, the missing bin.
    unusual = {n: a.astype(np.float64) for n, a in columns.arrays.items() if a.dtype.kind in "fi"}
    for name in unusual:
        unusual[name][::3] = np.nan
        unusual[name][1::3] = 7.0
    frame = pd.DataFrame(unusual)[list(features.columns)]
    expected = preprocess.transform(frame).to_numpy(np.float64)
    np.testing.assert_array_equal(compiled.transform(unusual, len(frame)), expected)
    mapper = bundle.model.steps[-1][1]._bin_mapper
    bins = Bins.of(mapper)
    assert bins is not None
    assert np.array_equal(bins.transform(expected), mapper.transform(expected))
    for start in range(0, 64, 4):  # few rows: the one-operation path, blanks included
        few = expected[start : start + 4]
        assert np.array_equal(bins.transform(few), mapper.transform(few))


def test_a_preprocessing_it_cannot_compile_keeps_scikit_learn(bundle: scoring.Bundle) -> None:
    from sklearn.compose import ColumnTransformer
    from sklearn.preprocessing import PolynomialFeatures

    from gitops.scoring.columns import CompiledColumns

    odd = ColumnTransformer([("poly", PolynomialFeatures(), ["a", "b"])])
    odd.fit(pd.DataFrame({"a": [1.0, 2.0], "b": [3.0, 4.0]}))
    assert CompiledColumns.of(odd) is None
    assert CompiledColumns.of(bundle.scorer.preprocess) is not None


def test_threads_split_large_batches_without_changing_scores(
    bundle: scoring.Bundle, test_rows: pd.DataFrame
) -> None:
    many = test_rows.sample(12_000, replace=True, random_state=0)
    one = scoring.predict(bundle.scorer, many, threads=1)
    two = scoring.predict(bundle.scorer, many, threads=2)
    assert np.array_equal(one, two)


def test_a_model_not_matching_its_manifest_is_refused(pipeline_repo: Path, tmp_path: Path) -> None:
    model = tmp_path / "model.skops"
    shutil.copy2(pipeline_repo / "models/model.skops", model)
    with model.open("r+b") as fh:
        fh.seek(100)
        byte = fh.read(1)
        fh.seek(100)
        fh.write(bytes([byte[0] ^ 1]))
    expected = digest(pipeline_repo / "models/model.skops")
    with pytest.raises(persist.ModelFileError, match="the file was modified or replaced"):
        persist.load(model, expected_sha256=expected)


def test_a_model_file_with_untrusted_types_is_refused(tmp_path: Path) -> None:
    evil = tmp_path / "model.skops"
    evil.write_bytes(sio.dumps(FunctionTransformer(func=os.system)))
    with pytest.raises(persist.ModelFileError, match=r"not trusted: posix.system"):
        persist.load(evil, expected_sha256=digest(evil))


def test_the_score_is_the_positive_class_whatever_order_classes_sort(
    bundle: scoring.Bundle, test_rows: pd.DataFrame
) -> None:
    """The positive class is found through classes_, never taken as the last column.

    Trained on the reversed label and told that its classes are [1, 0], a model's first
    column is the positive class: its score must still rank the positives first, on the
    compiled path too.
    """
    label, features = sample.contract().label, test_rows[sample.contract().feature_names]
    flipped = sklearn.base.clone(bundle.model).set_params(model__monotonic_cst=None)
    flipped.fit(features, 1 - test_rows[label])
    flipped.steps[-1][1].classes_ = np.array([1, 0])
    assert scoring.positive_column(flipped) == 0
    score = scoring.positive_proba(flipped, features)
    np.testing.assert_array_equal(score, flipped.predict_proba(features)[:, 0])
    assert roc_auc_score(test_rows[label], score) > 0.6  # a reversed score would be below 0.5
    compiled = scoring.Scorer.of(flipped, sample.contract().feature_names)
    assert compiled.trees is not None
    assert compiled.flip
    np.testing.assert_allclose(compiled.proba(features), score, atol=1e-12)
