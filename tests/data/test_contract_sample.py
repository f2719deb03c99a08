"""The contract against the sample params.yaml names, and against a corpus of broken exports."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

import sample
from gitops.contract import load
from gitops.contract.json_schema import record_schema
from gitops.contract.spec import Contract
from gitops.contract.validate import DataValidationError, check
from gitops.pipeline import quality, screening
from gitops.pipeline import validate as validate_stage
from support import ROOT, run

RAW = sample.raw_path()


def test_sample_passes_with_every_column_typed() -> None:
    typed = sample.typed()
    contract = sample.contract()
    assert list(typed.columns) == [n for n in contract.names if n in typed.columns]
    assert set(contract.required_columns(with_label=True)) <= set(typed.columns)
    for field in contract.fields:
        if field.name not in typed:
            continue
        dtype = str(typed[field.name].dtype)
        blanks = typed[field.name].isna().any()
        expected = {"integer": "int64", "number": "float64", "boolean": "int64"}
        expected = {k: "float64" if blanks else v for k, v in expected.items()}
        assert dtype == expected.get(field.type, dtype), field.name
    assert set(typed[contract.label].unique()) == {0, 1}  # the label, encoded


def test_contract_is_the_only_column_list() -> None:
    contract = sample.contract()
    names = contract.names
    assert len(names) == len(set(names))
    assert contract.label in names
    assert contract.value is None or contract.value in contract.feature_names
    mapping = contract.header_map(sample.header())
    assert len(mapping) == len(sample.header())  # every published header is a field
    js = record_schema(contract)
    assert set(js["properties"]) == set(contract.input_names)
    assert set(js["required"]) == {f.name for f in contract.features if f.required}


def test_cleaning_leaves_unique_records() -> None:
    result = quality.clean(sample.typed(), sample.contract())
    kept = result.frame
    assert kept[quality.ROW_ID].is_unique
    assert not kept.duplicated(subset=quality.inputs(kept, sample.contract())).any()
    assert len(kept) + sum(d["rows"] for d in result.dropped) == len(sample.typed())


@pytest.mark.example
def test_cleaning_removes_the_samples_repeated_customers() -> None:
    result = quality.clean(sample.typed(), sample.contract())
    reasons = {d["reason"]: d["rows"] for d in result.dropped}
    assert reasons[quality.DUPLICATE] == 300
    assert reasons[quality.CONFLICT] == 28
    assert len(result.frame) == 3150 - 328


def test_row_ids_do_not_depend_on_other_rows() -> None:
    typed, contract = sample.typed(), sample.contract()
    ids = quality.row_ids(typed, contract)
    assert quality.row_ids(typed.iloc[100:200], contract).tolist() == ids.iloc[100:200].tolist()
    assert quality.row_ids(typed.iloc[::-1], contract).tolist() == ids.iloc[::-1].tolist()


def test_summary_reports_rows_balance_and_findings() -> None:
    typed, contract = sample.typed(), sample.contract()
    result = quality.clean(typed, contract)
    summary = quality.summary(
        typed, result, contract, source="raw.csv", sha256="abc", contract_sha256="def"
    )
    assert summary["rows_in"] - summary["rows_out"] == sum(d["rows"] for d in summary["dropped"])
    assert 0 < summary["label_rate"] < 1
    assert summary["positive_class"] == contract.roles.positive
    assert set(summary["columns"]) == set(contract.names)
    json.dumps(summary)  # the report reads it as JSON


LINES = RAW.read_text().splitlines()
HEADER = LINES[0]
FEATURE = sample.first("numeric", bounded=True)  # a bounded number, e.g. a count
LABEL = sample.contract().label_field


def _csv(*lines: str) -> bytes:
    return ("\n".join(lines) + "\n").encode()


def _set(line: str, column: str, value: str) -> str:
    """`line` of the sample with one column's value replaced."""
    cells = line.split(",")
    cells[sample.column_index(column)] = value
    return ",".join(cells)


def _drop(line: str, column: str) -> str:
    cells = line.split(",")
    del cells[sample.column_index(column)]
    return ",".join(cells)


LOW = f"{float(FEATURE.constraints.minimum) - 4:g}"
NOT_A_LABEL = "2" if LABEL.type != "integer" or 2 not in (LABEL.allowed or ()) else "99"
#: name -> (file bytes, fragments the error message must contain)
CORPUS: dict[str, tuple[bytes, list[str]]] = {
    "empty file": (b"", ["file is empty"]),
    "header only": (_csv(HEADER), ["header only"]),
    "missing column": (
        _csv(*(_drop(line, FEATURE.name) for line in LINES[:5])),
        [f"'{FEATURE.name}'", FEATURE.header, "missing"],
    ),
    "missing label column": (
        _csv(*(_drop(line, LABEL.name) for line in LINES[:5])),
        [f"'{LABEL.name}'", "missing"],
    ),
    "empty label": (
        _csv(*LINES[:3], _set(LINES[3], LABEL.name, "")),
        [f"column '{LABEL.name}'", "must not be empty", "line 4"],
    ),
    "wrong type": (
        _csv(*LINES[:2], _set(LINES[2], FEATURE.name, "eight")),
        [f"column '{FEATURE.name}'", "must be a number", "line 3", "'eight'"],
    ),
    "fraction in a count": (
        _csv(*LINES[:2], _set(LINES[2], FEATURE.name, "2.5")),
        [f"column '{FEATURE.name}'", "whole number", "line 3"],
    ),
    "out of range": (
        _csv(*LINES[:2], _set(LINES[2], FEATURE.name, LOW)),
        [f"column '{FEATURE.name}'", f">= {FEATURE.constraints.minimum:g}", "line 3", LOW],
    ),
    "value not allowed": (
        _csv(*LINES[:2], _set(LINES[2], LABEL.name, NOT_A_LABEL)),
        [f"column '{LABEL.name}'", f"must be {LABEL.rule()}", "line 3"],
    ),
    "not utf-8": (_csv(*LINES[:2]) + b"\xff\xfe,1,2\n", ["not UTF-8"]),
    "ragged rows": (
        _csv(*LINES[:2], LINES[2] + ",1,2,3"),
        ["line 3", f"{len(LINES[2].split(',')) + 3} values", "one value per column"],
    ),
}


@pytest.mark.example
def test_age_inconsistent_with_its_group_is_named_by_line(tmp_path: Path) -> None:
    bad = tmp_path / "export.csv"
    bad.write_bytes(_csv(*LINES[:2], _set(_set(LINES[2], "age_group", "1"), "age", "55")))
    with pytest.raises(DataValidationError) as err:
        check(read(bad), sample.contract(), str(bad))
    assert "column 'age': must match age_group" in str(err.value)
    assert "line 3 (age 55, age_group 1)" in str(err.value)


def read(path: Path) -> pd.DataFrame:
    from gitops.contract import reading

    return reading.read_csv(path, sample.contract())


def _validate(bad: Path, out: Path, summary: Path) -> list[str]:
    return ["--input", str(bad), "--output", str(out), "--summary", str(summary),
            "--params", str(ROOT / "params.yaml")]  # fmt: skip


@pytest.mark.parametrize("case", sorted(CORPUS))
def test_bad_input_fails_clearly_and_keeps_earlier_outputs(
    case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)  # params.yaml names the contract relative to the project
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
    cmd = [sys.executable, "-m", "gitops.pipeline.validate"]
    proc = run(
        [*cmd, *_validate(bad, tmp_path / "o.parquet", tmp_path / "q.json")], ROOT, check=False
    )
    assert proc.returncode == 1
    assert "must be a number" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "o.parquet").exists()


def test_error_lists_a_few_rows_not_thousands() -> None:
    frame = sample.raw_text()
    column = sample.fields("categorical", "ordinal")[0].name
    frame[column] = "999"
    with pytest.raises(DataValidationError) as err:
        check(frame, sample.contract(), "export.csv")
    message = str(err.value)
    rows = len(frame)
    assert f"{rows} row(s) fail" in message
    assert f"and {rows - 5} more" in message
    assert len(message) < 1000


@pytest.mark.parametrize(
    ("variant", "change"),
    [
        ("byte-order mark", lambda data: b"\xef\xbb\xbf" + data),
        ("windows line ends", lambda data: data.replace(b"\n", b"\r\n")),
        ("trailing empty lines", lambda data: data + b"\n\n,,,,,,,,,,,,,\n\n"),
    ],
)
def test_harmless_export_variants_give_the_same_records(
    variant: str, change: Callable[[bytes], bytes], tmp_path: Path
) -> None:
    contract = sample.contract()
    variant_file = tmp_path / "variant.csv"
    variant_file.write_bytes(change(RAW.read_bytes()))
    expected = check(read(RAW), contract, str(RAW))
    got = check(read(variant_file), contract, str(variant_file))
    pd.testing.assert_frame_equal(got, expected)


def _with_field(tmp_path: Path, field: dict[str, object]) -> Contract:
    """The sample's contract with one more feature, written and loaded like any contract."""
    spec = yaml.safe_load((ROOT / sample.settings().data.contract).read_text())
    spec["fields"].insert(-1, field)
    path = tmp_path / "contract.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return load.load(path)


def test_a_feature_that_is_the_label_is_a_leakage_suspect(tmp_path: Path) -> None:
    coded = _with_field(
        tmp_path,
        {"name": "cancel_code", "type": "integer", "categories": [0, 1, 2],
         "constraints": {"required": True}},
    )  # fmt: skip
    frame = sample.typed()
    rng = np.random.default_rng(0)
    frame["cancel_code"] = frame[coded.label]  # the outcome, written under another name
    found = screening.leakage(frame, coded, 0.98)
    assert [s["field"] for s in found["suspects"]] == ["cancel_code"]
    assert found["suspects"][0]["value"] == 1.0
    assert found["scores"]["cancel_code"] == 1.0
    # A number that nearly separates it, in the other direction: flagged too.
    numeric = _with_field(
        tmp_path, {"name": "days_left", "type": "number", "constraints": {"required": True}}
    )
    noise = rng.normal(0, 0.05, len(frame))
    frame = frame.drop(columns="cancel_code").assign(days_left=1 - frame[numeric.label] + noise)
    found = screening.leakage(frame, numeric, 0.98)
    assert [s["field"] for s in found["suspects"]] == ["days_left"]
    assert "ROC AUC" in found["suspects"][0]["detail"]


def test_the_sample_has_no_leakage_suspect_and_its_ranges_are_recorded() -> None:
    """The threshold sits far above the sample's strongest single feature."""
    summary = json.loads((ROOT / sample.settings().data.quality).read_text())
    leakage = summary["leakage"]
    assert leakage["threshold"] == sample.settings().validate_.leakage_auc
    assert leakage["suspects"] == []
    assert leakage["scores"]
    assert max(leakage["scores"].values()) < leakage["threshold"] - 0.1
    contract = sample.contract()
    for name, seen in summary["ranges"].items():
        field = contract.field(name)
        assert seen["bound_max"] == field.constraints.maximum
        assert seen["min"] <= seen["max"] <= seen["bound_max"]
