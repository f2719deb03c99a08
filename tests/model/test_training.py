"""The train stage's output is a function of the commit, not of the machine that ran it."""

from __future__ import annotations

from pathlib import Path

import pytest
from threadpoolctl import threadpool_limits

from gitops.pipeline import train


def _train(repo: Path, out: Path, machine_threads: int) -> bytes:
    """The train stage in this process, on a machine that would give a fit `machine_threads`."""
    out.mkdir()
    with threadpool_limits(limits=machine_threads):
        code = train.main(
            [
                "--train",
                str(repo / "data/processed/train.parquet"),
                "--model",
                str(out / "model.skops"),
                "--input-schema",
                str(out / "input_schema.json"),
                "--params",
                str(repo / "params.yaml"),
            ]
        )
    assert code == 0
    return (out / "model.skops").read_bytes()


def test_the_model_bytes_do_not_depend_on_the_cores_of_the_runner(
    pipeline_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 1-core and a 4-core runner record the model the suite's `dvc repro` recorded.

    Without `train.threads` the booster's gradient sums run in one chunk per thread, and the
    three runs below give three different files (measured: 650438, 650432, 650441 bytes).
    """
    monkeypatch.chdir(pipeline_repo)  # params.yaml names the contract relative to the checkout
    reproduced = (pipeline_repo / "models/model.skops").read_bytes()
    assert _train(pipeline_repo, tmp_path / "one", machine_threads=1) == reproduced
    assert _train(pipeline_repo, tmp_path / "four", machine_threads=4) == reproduced
