"""Batch scoring on files a CRM exports: good ones scored, bad ones named, nothing written."""

from __future__ import annotations

import shutil
from contextlib import chdir
from pathlib import Path

import pandas as pd
import pytest

import sample
from gitops.scoring import cli

pytestmark = pytest.mark.slow
CONTRACT = sample.contract()
SERVING = sample.settings().serving


@pytest.fixture
def workdir(pipeline_repo: Path, tmp_path: Path) -> Path:
    """A folder with the model, params.yaml and the contract at the path params names."""
    shutil.copy2(pipeline_repo / "models/model.skops", tmp_path / "model.skops")
    shutil.copy2(pipeline_repo / "params.yaml", tmp_path / "params.yaml")
    contract = tmp_path / sample.settings().data.contract
    contract.parent.mkdir(parents=True)
    shutil.copy2(pipeline_repo / sample.settings().data.contract, contract)
    return tmp_path


@pytest.fixture
def export(pipeline_repo: Path) -> pd.DataFrame:
    """The published sample as text, exactly as exported (published headers)."""
    return pd.read_csv(sample.raw_path(pipeline_repo), dtype=str, keep_default_na=False)


def header(name: str) -> str:
    return CONTRACT.field(name).header


def predict_in_process(
    cwd: Path, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, str]:
    """`python -m gitops.scoring.cli predict --model model.skops <args>` in `cwd`, run in this
    process (scikit-learn and the model load once): its exit code and what it printed to
    stderr. The installed command runs as a process in test_wheel and test_second_dataset."""
    with chdir(cwd):
        code = cli.main(["predict", "--model", "model.skops", *args])
    return code, capsys.readouterr().err


def test_ids_pass_through_and_chunks_do_not_change_scores(
    workdir: Path, export: pd.DataFrame, capsys: pytest.CaptureFixture[str]
) -> None:
    with_ids = export.drop(columns=header(CONTRACT.label))
    id_column = CONTRACT.id or "record_id"
    id_header = CONTRACT.field(id_column).header if CONTRACT.id else id_column
    if id_header not in with_ids:  # the sample has no ids: give it some, leading zeros too
        with_ids.insert(0, id_header, [f"0{i:06d}" for i in range(len(with_ids))])
    with_ids.to_csv(workdir / "crm.csv", index=False)
    code, err = predict_in_process(workdir, capsys, "--input", "crm.csv", "--output", "whole.csv")
    assert code == 0, err
    assert "rows scored into whole.csv" in err
    code, err = predict_in_process(
        workdir, capsys, "--input", "crm.csv", "--output", "chunked.csv", "--chunk-rows", "700"
    )
    assert code == 0, err
    whole = (workdir / "whole.csv").read_text()
    assert whole == (workdir / "chunked.csv").read_text()
    scores = pd.read_csv(workdir / "whole.csv", dtype={id_column: str})
    assert list(scores.columns) == [id_column, SERVING.score_column, SERVING.band_column]
    assert list(scores[id_column]) == list(with_ids[id_header])  # as written, zeros kept
    assert scores[SERVING.score_column].between(0, 1).all()


def test_invalid_rows_are_named_and_nothing_is_written(
    workdir: Path, export: pd.DataFrame, capsys: pytest.CaptureFixture[str]
) -> None:
    coded = sample.fields("ordinal", "categorical")[0]
    count = sample.first("numeric", bounded=True)
    value = CONTRACT.value or count.name
    bad = export.copy()
    bad.loc[2, header(coded.name)] = "999"  # line 4
    bad.loc[1500, header(count.name)] = "lots"  # line 1502, a later chunk
    bad.loc[2900, header(value)] = ""  # line 2902
    bad.to_csv(workdir / "bad.csv", index=False)
    output = workdir / "scores.csv"
    output.write_text("earlier scores\n")
    code, err = predict_in_process(
        workdir, capsys, "--input", "bad.csv", "--output", "scores.csv", "--chunk-rows", "1000"
    )
    assert code == 1
    assert "bad.csv: invalid data" in err
    shown = "999.0" if coded.type in ("integer", "number") else "'999'"
    assert f"column '{coded.name}': must be {coded.rule()}: 1 row(s) fail: line 4 ({shown})" in err
    assert f"column '{count.name}': must be a number: 1 row(s) fail: line 1502 ('lots')" in err
    assert f"column '{value}': must not be empty: 1 row(s) fail: line 2902" in err
    assert output.read_text() == "earlier scores\n"
    assert sorted(p.name for p in workdir.iterdir() if p.is_file()) == [
        "bad.csv", "model.skops", "params.yaml", "scores.csv"
    ]  # fmt: skip


def test_missing_column_and_missing_id_column_are_named(
    workdir: Path, export: pd.DataFrame, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = CONTRACT.field(CONTRACT.feature_names[-1])
    export.drop(columns=missing.header).to_csv(workdir / "short.csv", index=False)
    code, err = predict_in_process(workdir, capsys, "--input", "short.csv", "--output", "out.csv")
    assert code == 1
    assert f"column '{missing.name}' (published as '{missing.header}') is missing" in err
    export.to_csv(workdir / "full.csv", index=False)
    code, err = predict_in_process(
        workdir, capsys, "--input", "full.csv", "--output", "out.csv", "--id-column", "crm_id"
    )
    assert code == 1
    assert "column 'crm_id'" in err
    assert not (workdir / "out.csv").exists()


def test_empty_and_missing_files_fail_cleanly(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (workdir / "empty.csv").write_text("")
    (workdir / "header.csv").write_text(f"id,{header(CONTRACT.feature_names[0])}\n")
    for name, why in [
        ("empty.csv", "file is empty"),
        ("absent.csv", "file not found"),
        ("header.csv", "is missing"),
    ]:
        code, err = predict_in_process(workdir, capsys, "--input", name, "--output", "out.csv")
        assert code == 1
        assert f"{name}: invalid data" in err
        assert why in err
    assert not (workdir / "out.csv").exists()
