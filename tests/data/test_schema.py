"""The schema against the real sample and against a corpus of broken exports."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd
import pytest

from churn import quality, schema, validation
from churn.stages import validate as validate_stage
from support import ROOT, run

RAW = ROOT / "data/raw/iranian_churn.csv"


@pytest.fixture(scope="module")
def sample() -> pd.DataFrame:
    return validation.check(validation.read_csv(RAW), str(RAW))


def test_sample_passes_with_every_column_typed(sample: pd.DataFrame) -> None:
    assert list(sample.columns) == schema.all_names()
    assert len(sample) == 3150
    for col in schema.COLUMNS:
        assert str(sample[col.name].dtype) == ("float64" if col.dtype == "float" else "int64")


def test_schema_is_the_only_column_list() -> None:
    names = schema.all_names()
    assert len(names) == len(set(names))
    assert schema.TARGET in names
    assert schema.VALUE in schema.feature_names()
    published = pd.read_csv(RAW, nrows=0).columns
    assert schema.rename_source_columns(published) == schema.source_to_name()
    js = schema.json_schema()
    assert set(js["properties"]) == set(schema.input_names())
    assert set(js["required"]) == set(schema.feature_names())


def test_cleaning_removes_repeated_customers_before_the_split(sample: pd.DataFrame) -> None:
    result = quality.clean(sample)
    kept = result.frame
    reasons = {d["reason"]: d["rows"] for d in result.dropped}
    assert reasons[quality.DUPLICATE] == 300
    assert reasons[quality.CONFLICT] == 28
    assert len(kept) == 3150 - 328
    assert kept[schema.ROW_ID].is_unique
    assert not kept.duplicated(subset=schema.input_names()).any()


def test_row_ids_do_not_depend_on_other_rows(sample: pd.DataFrame) -> None:
    ids = quality.row_ids(sample)
    assert quality.row_ids(sample.iloc[100:200]).tolist() == ids.iloc[100:200].tolist()
    assert quality.row_ids(sample.iloc[::-1]).tolist() == ids.iloc[::-1].tolist()


def test_summary_reports_rows_balance_and_findings(sample: pd.DataFrame) -> None:
    result = quality.clean(sample)
    summary = quality.summary(sample, result, source="raw.csv", sha256="abc")
    assert summary["rows_in"] - summary["rows_out"] == sum(d["rows"] for d in summary["dropped"])
    assert 0.1 < summary["label_rate"] < 0.2
    assert any("charge_amount" in f for f in summary["findings"])
    json.dumps(summary)  # the report reads it as JSON


LINES = RAW.read_text().splitlines()
HEADER = LINES[0]


def _csv(*lines: str) -> bytes:
    return ("\n".join(lines) + "\n").encode()


def _set(line: str, column: str, value: str) -> str:
    """`line` of the sample with one column's value replaced."""
    cells = line.split(",")
    cells[schema.all_names().index(column)] = value
    return ",".join(cells)


def _drop(line: str, column: str) -> str:
    cells = line.split(",")
    del cells[schema.all_names().index(column)]
    return ",".join(cells)


#: name -> (file bytes, fragments the error message must contain)
CORPUS: dict[str, tuple[bytes, list[str]]] = {
    "empty file": (b"", ["file is empty"]),
    "header only": (_csv(HEADER), ["header only"]),
    "missing column": (
        _csv(*(_drop(line, "call_failures") for line in LINES[:5])),
        ["'call_failures'", "Call  Failure", "missing"],
    ),
    "missing label column": (
        _csv(*(_drop(line, "churn") for line in LINES[:5])),
        ["'churn'", "missing"],
    ),
    "empty label": (
        _csv(*LINES[:3], _set(LINES[3], "churn", "")),
        ["column 'churn'", "must not be empty", "line 4"],
    ),
    "wrong type": (
        _csv(*LINES[:2], _set(LINES[2], "call_failures", "eight")),
        ["column 'call_failures'", "must be a number", "line 3", "'eight'"],
    ),
    "fraction in a count": (
        _csv(*LINES[:2], _set(LINES[2], "call_failures", "2.5")),
        ["column 'call_failures'", "whole number", "line 3"],
    ),
    "out of range": (
        _csv(*LINES[:2], _set(LINES[2], "call_failures", "-4")),
        ["column 'call_failures'", ">= 0", "line 3", "-4"],
    ),
    "value not allowed": (
        _csv(*LINES[:2], _set(LINES[2], "churn", "2")),
        ["column 'churn'", "one of 0, 1", "line 3"],
    ),
    "age inconsistent with age group": (
        _csv(*LINES[:2], _set(_set(LINES[2], "age_group", "1"), "age", "55")),
        ["column 'age'", "must match age_group", "line 3"],
    ),
    "not utf-8": (_csv(*LINES[:2]) + b"\xff\xfe,1,2\n", ["not UTF-8"]),
    "ragged rows": (_csv(*LINES[:2], LINES[2] + ",1,2,3"), ["not a well-formed CSV"]),
}


def _validate(bad: Path, out: Path, summary: Path) -> list[str]:
    return ["--input", str(bad), "--output", str(out), "--summary", str(summary),
            "--params", str(ROOT / "params.yaml")]  # fmt: skip


@pytest.mark.parametrize("case", sorted(CORPUS))
def test_bad_input_fails_clearly_and_keeps_earlier_outputs(
    case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data, fragments = CORPUS[case]
    bad = tmp_path / "export.csv"
    bad.write_bytes(data)
    out, summary = tmp_path / "clean.parquet", tmp_path / "quality.json"
    out.write_bytes(b"previous output")
    summary.write_text('{"previous": true}')
    assert validate_stage.main(_validate(bad, out, summary)) == 1
    err = capsys.readouterr().err
    assert str(bad) in err
    for fragment in fragments:
        assert fragment in err, f"{fragment!r} not in:\n{err}"
    assert out.read_bytes() == b"previous output"
    assert summary.read_text() == '{"previous": true}'
    assert {p.name for p in tmp_path.iterdir()} == {"clean.parquet", "export.csv", "quality.json"}


def test_stage_command_exits_non_zero_with_the_message(tmp_path: Path) -> None:
    """The same through the command DVC runs, as a separate process."""
    bad = tmp_path / "export.csv"
    bad.write_bytes(CORPUS["wrong type"][0])
    cmd = [sys.executable, "-m", "churn.stages.validate"]
    proc = run(
        [*cmd, *_validate(bad, tmp_path / "o.parquet", tmp_path / "q.json")], tmp_path, check=False
    )
    assert proc.returncode == 1
    assert "must be a number" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "o.parquet").exists()


def test_error_lists_a_few_rows_not_thousands(tmp_path: Path) -> None:
    frame = validation.read_csv(RAW)
    frame["tariff_plan"] = "3"
    with pytest.raises(validation.DataValidationError) as err:
        validation.check(frame, "export.csv")
    message = str(err.value)
    assert "3150 row(s) fail" in message
    assert "and 3145 more" in message
    assert len(message) < 1000
