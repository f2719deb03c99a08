"""Synthetic customer bases: valid, seeded, faithful to the sample, and not copies of it."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from churn import schema, synthetic, validation
from support import ROOT


@pytest.fixture(scope="module")
def sample() -> pd.DataFrame:
    path = ROOT / "data/raw/iranian_churn.csv"
    return validation.check(validation.read_csv(path), str(path))


@pytest.fixture(scope="module")
def made(sample: pd.DataFrame) -> pd.DataFrame:
    return synthetic.synthesize(sample, 30_000, seed=7)


def test_rows_pass_validation_with_age_matching_age_group(made: pd.DataFrame) -> None:
    assert len(made) == 30_000
    assert list(made.columns) == schema.all_names()
    checked = validation.check(made, "synthetic")
    assert len(checked) == len(made)
    assert made["age"].eq(made["age_group"].map(schema.AGE_OF_GROUP)).all()
    for col in schema.COLUMNS:
        if col.minimum is not None:
            assert made[col.name].min() >= col.minimum, col.name
        if col.maximum is not None:
            assert made[col.name].max() <= col.maximum, col.name


def test_same_seed_gives_the_same_rows_another_seed_others(sample: pd.DataFrame) -> None:
    a = synthetic.synthesize(sample, 2_000, seed=1)
    pd.testing.assert_frame_equal(a, synthetic.synthesize(sample, 2_000, seed=1))
    assert not a.equals(synthetic.synthesize(sample, 2_000, seed=2))


def test_rows_are_not_copies_of_the_sample(sample: pd.DataFrame, made: pd.DataFrame) -> None:
    copies = made.merge(sample.drop_duplicates(), how="inner", on=schema.all_names())
    assert len(copies) / len(made) < 0.10


def test_joint_distribution_and_label_follow_the_sample(
    sample: pd.DataFrame, made: pd.DataFrame
) -> None:
    assert made["churn"].mean() == pytest.approx(sample["churn"].mean(), abs=0.01)
    # The strongest relation in the data: complaining customers churn far more often.
    rate = made.groupby("complained")["churn"].mean()
    expected = sample.groupby("complained")["churn"].mean()
    assert rate.to_numpy() == pytest.approx(expected.to_numpy(), abs=0.03)
    for name in ("seconds_of_use", "customer_value"):
        assert made[name].mean() == pytest.approx(sample[name].mean(), rel=0.03)
    corr = made["seconds_of_use"].corr(made["call_count"])
    assert corr == pytest.approx(sample["seconds_of_use"].corr(sample["call_count"]), abs=0.03)


def test_published_file_reads_back_through_validation(made: pd.DataFrame, tmp_path: Path) -> None:
    path = tmp_path / "customers.csv"
    synthetic.published(made.head(500)).to_csv(path, index=False)
    header = path.read_text().splitlines()[0].split(",")
    assert header == [c.source for c in schema.COLUMNS]
    back = validation.check(validation.read_csv(path), str(path))
    pd.testing.assert_frame_equal(back.reset_index(drop=True), made.head(500), check_dtype=False)


def test_bad_arguments_are_refused_with_the_reason(sample: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        synthetic.synthesize(sample, 0, seed=1)
    with pytest.raises(ValueError, match="negative"):
        synthetic.synthesize(sample, 10, seed=1, noise=-0.1)
    with pytest.raises(ValueError, match="customer_value"):
        synthetic.synthesize(sample.drop(columns="customer_value"), 10, seed=1)
