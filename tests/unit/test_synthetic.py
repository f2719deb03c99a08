"""Synthetic record sets: valid, seeded, faithful to the sample, and not copies of it."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import sample
from gitops.contract import reading
from gitops.contract.synthetic import published, synthesize
from gitops.contract.validate import as_source, check

CONTRACT = sample.contract()
COLUMNS = CONTRACT.required_columns(with_label=True)
SKEWED = [f.name for f in CONTRACT.features if f.skewed]


@pytest.fixture(scope="module")
def typed() -> pd.DataFrame:
    return sample.typed()


@pytest.fixture(scope="module")
def made(typed: pd.DataFrame) -> pd.DataFrame:
    return synthesize(typed, CONTRACT, 30_000, seed=7)


def test_rows_pass_validation_and_stay_in_range(made: pd.DataFrame) -> None:
    assert len(made) == 30_000
    assert list(made.columns) == COLUMNS
    checked = check(as_source(made, CONTRACT), CONTRACT, "synthetic")
    assert len(checked) == len(made)
    for field in CONTRACT.fields:
        c = field.constraints
        if field.name in made and c.minimum is not None:
            assert made[field.name].min() >= c.minimum, field.name
        if field.name in made and c.maximum is not None:
            assert made[field.name].max() <= c.maximum, field.name
    for rule in CONTRACT.rules:
        assert not rule.offending(made).any(), rule.name


def test_same_seed_gives_the_same_rows_another_seed_others(typed: pd.DataFrame) -> None:
    a = synthesize(typed, CONTRACT, 2_000, seed=1)
    pd.testing.assert_frame_equal(a, synthesize(typed, CONTRACT, 2_000, seed=1))
    assert not a.equals(synthesize(typed, CONTRACT, 2_000, seed=2))


def test_rows_are_not_copies_of_the_sample(typed: pd.DataFrame, made: pd.DataFrame) -> None:
    copies = made.merge(typed[COLUMNS].drop_duplicates(), how="inner", on=COLUMNS)
    assert len(copies) / len(made) < 0.10


def test_joint_distribution_and_label_follow_the_sample(
    typed: pd.DataFrame, made: pd.DataFrame
) -> None:
    label = CONTRACT.label
    assert made[label].mean() == pytest.approx(typed[label].mean(), abs=0.01)
    # The label's relation to each coded feature survives (rows keep their label).
    for field in sample.fields("categorical", "ordinal"):
        rate = made.groupby(field.name)[label].mean()
        expected = typed.groupby(field.name)[label].mean()
        assert rate.to_numpy() == pytest.approx(expected.loc[rate.index].to_numpy(), abs=0.05)
    for name in SKEWED[:3]:
        assert made[name].mean() == pytest.approx(typed[name].mean(), rel=0.05)
    a, b = SKEWED[0], SKEWED[1]
    assert made[a].corr(made[b]) == pytest.approx(typed[a].corr(typed[b]), abs=0.03)


def test_published_file_reads_back_through_validation(made: pd.DataFrame, tmp_path: Path) -> None:
    path = tmp_path / "records.csv"
    published(made.head(500), CONTRACT).to_csv(path, index=False)
    header = path.read_text().splitlines()[0].split(",")
    assert header == [CONTRACT.field(n).header for n in COLUMNS]
    back = check(reading.read_csv(path, CONTRACT), CONTRACT, str(path))
    pd.testing.assert_frame_equal(back.reset_index(drop=True), made.head(500), check_dtype=False)


def test_bad_arguments_are_refused_with_the_reason(typed: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        synthesize(typed, CONTRACT, 0, seed=1)
    with pytest.raises(ValueError, match="negative"):
        synthesize(typed, CONTRACT, 10, seed=1, noise=-0.1)
    with pytest.raises(ValueError, match=SKEWED[0]):
        synthesize(typed.drop(columns=SKEWED[0]), CONTRACT, 10, seed=1)
