"""`churn predict` on files a CRM exports: good ones scored, bad ones named and nothing written."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from churn import cli
from support import BIN, run

pytestmark = pytest.mark.slow


@pytest.fixture
def workdir(pipeline_repo: Path, tmp_path: Path) -> Path:
    shutil.copy2(pipeline_repo / "models/model.skops", tmp_path / "model.skops")
    shutil.copy2(pipeline_repo / "params.yaml", tmp_path / "params.yaml")
    return tmp_path


@pytest.fixture
def sample(pipeline_repo: Path) -> pd.DataFrame:
    """The published sample as text, exactly as exported (published headers)."""
    return pd.read_csv(pipeline_repo / "data/raw/iranian_churn.csv", dtype=str)


def predict(cwd: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    cmd = [str(BIN / "churn"), "predict", "--model", "model.skops", *args]
    return run(cmd, cwd, check=check)


def test_ids_pass_through_and_chunks_do_not_change_scores(
    workdir: Path, sample: pd.DataFrame
) -> None:
    with_ids = sample.drop(columns="Churn")
    with_ids.insert(0, "customer_id", [f"0{i:06d}" for i in range(len(with_ids))])
    with_ids.to_csv(workdir / "crm.csv", index=False)
    predict(workdir, "--input", "crm.csv", "--output", "whole.csv")
    predict(workdir, "--input", "crm.csv", "--output", "chunked.csv", "--chunk-rows", "700")
    whole = (workdir / "whole.csv").read_text()
    assert whole == (workdir / "chunked.csv").read_text()
    scores = pd.read_csv(workdir / "whole.csv", dtype={"customer_id": str})
    assert list(scores.columns) == ["customer_id", "churn_probability", "risk_band"]
    assert list(scores["customer_id"]) == list(with_ids["customer_id"])  # leading zeros kept
    assert scores["churn_probability"].between(0, 1).all()


def test_invalid_rows_are_named_and_nothing_is_written(workdir: Path, sample: pd.DataFrame) -> None:
    bad = sample.copy()
    bad.loc[2, "Complains"] = "2"  # line 4
    bad.loc[1500, "Seconds of Use"] = "lots"  # line 1502, a later chunk
    bad.loc[2900, "Customer Value"] = None  # line 2902
    bad.to_csv(workdir / "bad.csv", index=False)
    output = workdir / "scores.csv"
    output.write_text("earlier scores\n")
    proc = predict(
        workdir, "--input", "bad.csv", "--output", "scores.csv", "--chunk-rows", "1000",
        check=False,
    )  # fmt: skip
    assert proc.returncode == 1
    err = proc.stderr
    assert "bad.csv: invalid data" in err
    assert "column 'complained': must be one of 0, 1: 1 row(s) fail: line 4 (2.0)" in err
    assert "column 'seconds_of_use': must be a number: 1 row(s) fail: line 1502 ('lots')" in err
    assert "column 'customer_value': must not be empty: 1 row(s) fail: line 2902" in err
    assert output.read_text() == "earlier scores\n"
    assert sorted(p.name for p in workdir.iterdir()) == [
        "bad.csv", "model.skops", "params.yaml", "scores.csv"
    ]  # fmt: skip


def predict_in_process(
    cwd: Path, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, str]:
    """The same command line, run in this process (the import cost paid once)."""
    import os

    here = Path.cwd()
    os.chdir(cwd)
    try:
        code = cli.main(["predict", "--model", "model.skops", *args])
    finally:
        os.chdir(here)
    return code, capsys.readouterr().err


def test_missing_column_and_missing_id_column_are_named(
    workdir: Path, sample: pd.DataFrame, capsys: pytest.CaptureFixture[str]
) -> None:
    sample.drop(columns="Tariff Plan").to_csv(workdir / "short.csv", index=False)
    code, err = predict_in_process(workdir, capsys, "--input", "short.csv", "--output", "out.csv")
    assert code == 1
    assert "column 'tariff_plan' (published as 'Tariff Plan') is missing" in err
    sample.to_csv(workdir / "full.csv", index=False)
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
    (workdir / "header.csv").write_text("customer_id,Complains\n")
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
