"""The contract engine on data of another shape: text categories, booleans, dates, blanks."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

import second_dataset as telco
from gitops.contract import reading
from gitops.contract.load import from_mapping
from gitops.contract.validate import DataValidationError, as_source, check, typed_if_valid

CONTRACT = from_mapping(yaml.safe_load(telco.CONTRACT), "telco.yaml")


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("telco") / "export.csv"
    telco.generate(300, seed=5).to_csv(path, index=False)
    return path


def test_the_export_is_typed_and_the_positive_class_encoded_as_one(export: Path) -> None:
    raw = pd.read_csv(export, dtype=str, keep_default_na=False)
    typed = check(reading.read_csv(export, CONTRACT), CONTRACT, str(export))
    assert typed["active"].tolist() == (raw["Active"] == "No").astype(int).tolist()
    assert typed["paperless"].tolist() == (raw["Paperless Billing"] == "Yes").astype(int).tolist()
    assert str(typed["signup_date"].dtype).startswith("datetime64")
    assert typed["data_usage_gb"].isna().sum() == (raw["Data Usage GB"] == "NA").sum()
    assert typed["plan"].isin(telco.PLANS).all()


def test_typed_records_written_as_the_source_read_back_the_same(export: Path) -> None:
    typed = check(reading.read_csv(export, CONTRACT), CONTRACT, str(export))
    again = check(as_source(typed, CONTRACT), CONTRACT, "again")
    pd.testing.assert_frame_equal(again, typed)
    assert typed_if_valid(typed.drop(columns="active"), CONTRACT) is not None


def test_text_values_outside_the_categories_are_named(export: Path, tmp_path: Path) -> None:
    raw = pd.read_csv(export, dtype=str, keep_default_na=False)
    raw.loc[4, "Contract Type"] = "Weekly"  # line 6
    raw.loc[7, "Signup Date"] = "14/03/2021"  # line 9
    raw.loc[8, "Customer ID"] = "C-1"  # line 10
    path = tmp_path / "bad.csv"
    raw.to_csv(path, index=False)
    with pytest.raises(DataValidationError) as err:
        check(reading.read_csv(path, CONTRACT), CONTRACT, str(path))
    text = str(err.value)
    assert "column 'contract': must be one of Month-to-month, One year, Two year" in text
    assert "column 'signup_date': must be a date (YYYY-MM-DD): 1 row(s) fail: line 9" in text
    assert "column 'customer_id': must match CUST-[0-9]{6}: 1 row(s) fail: line 10" in text
