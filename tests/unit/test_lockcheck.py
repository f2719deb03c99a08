"""The commit-time consistency check between dvc.lock and the workspace."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from gitops import lockcheck
from support import copy_repo


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return copy_repo(tmp_path / "repo", with_results=False)


def test_committed_project_is_consistent(repo: Path) -> None:
    assert not (repo / "models/model.skops").exists()  # absent outputs are not flagged
    assert lockcheck.problems(repo) == []
    assert lockcheck.main(["--root", str(repo)]) == 0


def test_changed_param_is_named(repo: Path) -> None:
    params = yaml.safe_load((repo / "params.yaml").read_text())
    params["split"]["seed"] = 7
    params["train"]["new_knob"] = 1
    (repo / "params.yaml").write_text(yaml.safe_dump(params))
    found = lockcheck.problems(repo)
    assert any("split.seed is 7" in p for p in found)
    assert any("train.new_knob is new" in p for p in found)


def test_hand_edited_metrics_and_code_are_named(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    metrics = repo / "models/metrics.json"
    data = json.loads(metrics.read_text())
    data["roc_auc"] = 0.999
    metrics.write_text(json.dumps(data))
    with (repo / "src/churn/model.py").open("a") as fh:
        fh.write("\n# tweak\n")
    assert lockcheck.main(["--root", str(repo)]) == 1
    err = capsys.readouterr().err
    assert "models/metrics.json differs" in err
    assert "src/churn/model.py differs" in err
    assert "make run" in err


def test_stage_missing_from_lock(repo: Path) -> None:
    (repo / "dvc.lock").unlink()
    assert lockcheck.problems(repo) == ["dvc.lock is missing: run `make run` and commit dvc.lock"]
