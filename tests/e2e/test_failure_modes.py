"""A killed stage, a repeated run and a machine with no network must cost nothing.

A stage killed half-way leaves the previous outputs intact and nothing git or DVC would
pick up; the same inputs give the same bytes; DVC never needs the network.
"""

from __future__ import annotations

import ast
import hashlib
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

import inprocess
import sample
from gitops.contract.synthetic import synthesize
from gitops.pipeline import quality
from support import ROOT, env, run

#: Calls that write a file in place; stages must go through gitops.files / persist instead.
DIRECT_WRITES = {"to_csv", "to_parquet", "to_json", "write_text", "write_bytes", "dump"}
RESULTS = (
    "models/metrics.json",
    "models/predictions.csv",
    "models/plots/roc.csv",
    "models/plots/precision_recall.csv",
    "models/plots/gains.csv",
    "models/plots/calibration.csv",
    "models/input_schema.json",
    "models/reference.json",
    "models/model.skops",
    "data/quality.json",
    "dvc.lock",
)


def stage_modules() -> dict[str, Path]:
    """Every module a dvc.yaml stage runs, found from its command."""
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    found = {}
    for name, stage in stages.items():
        match = re.search(r"python -m ([\w.]+)", stage["cmd"])
        assert match, f"stage {name}: command does not run a module: {stage['cmd']}"
        module = match.group(1)
        found[name] = ROOT / "src" / (module.replace(".", "/") + ".py")
    return found


def direct_writes(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    hits = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            mode = [a.value for a in node.args[1:2] if isinstance(a, ast.Constant)]
            if name in DIRECT_WRITES or (name == "open" and any("w" in str(m) for m in mode)):
                hits.append(f"{path.name}:{node.lineno} {name}()")
    return hits


def test_every_stage_writes_through_atomic_helpers() -> None:
    modules = stage_modules()
    assert set(modules) >= {"validate", "split", "train", "evaluate"}
    for name, path in modules.items():
        assert path.is_file(), f"stage {name}: {path} not found"
        assert direct_writes(path) == [], f"stage {name} writes files in place"
        assert re.search(r"\bwrite_(json|csv|parquet|text)\(|persist\.save", path.read_text()), name


def test_temp_files_are_invisible_to_git_and_dvc(repo_copy: Path) -> None:
    stray = repo_copy / "models/.predictions.csv.abc123.tmp"
    stray.write_text("row_id,label,score,value\n0123")
    assert run(["git", "status", "--porcelain", "--untracked-files=all"], repo_copy).stdout == ""
    assert run(["git", "check-ignore", "-q", str(stray)], repo_copy).returncode == 0
    assert inprocess.dvc(repo_copy, "check-ignore", str(stray)).returncode == 0


#: Rows of the test set the killed evaluate scores: enough that writing its predictions takes
#: far longer than the 5 ms between looks at the folder, so the kill lands mid-write.
KILL_ROWS = 100_000


def _digests(repo: Path) -> dict[str, str]:
    return {p: hashlib.md5((repo / p).read_bytes()).hexdigest() for p in RESULTS}  # noqa: S324


def _big_test_set(repo: Path, rows: int) -> Path:
    """A test split of `rows` synthetic customers, shaped as the split stage writes it."""
    contract = sample.contract(repo)
    frame = synthesize(sample.typed(repo), contract, rows, seed=11)
    frame.insert(0, quality.ROW_ID, quality.row_ids(frame, contract).to_numpy())
    path = repo.parent / "big_test.parquet"
    frame.to_parquet(path, index=False)
    return path


def _wait_for(pattern: str, folder: Path, proc: subprocess.Popen[bytes], timeout: float) -> Path:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        hits = [p for p in folder.glob(pattern) if p.stat().st_size > 0]
        if hits:
            return hits[0]
        if proc.poll() is not None:
            out = proc.stdout.read().decode() if proc.stdout else ""
            pytest.fail(f"stage ended (exit {proc.returncode}) before it started writing\n{out}")
        time.sleep(0.005)
    proc.kill()
    pytest.fail(f"no {pattern} appeared in {folder} within {timeout} s")


@pytest.mark.slow
def test_stage_killed_mid_write_keeps_previous_outputs_and_repro_recovers(
    repo_copy: Path,
) -> None:
    before = _digests(repo_copy)
    big = _big_test_set(repo_copy, KILL_ROWS)
    cmd = [
        sys.executable, "-m", "gitops.pipeline.evaluate", "--model", "models/model.skops",
        "--test", str(big), "--metrics", "models/metrics.json",
        "--predictions", "models/predictions.csv", "--plots", "models/plots",
    ]  # fmt: skip
    proc = subprocess.Popen(
        cmd, cwd=repo_copy, env=env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    partial = _wait_for(".predictions.csv.*.tmp", repo_copy / "models", proc, timeout=120)
    os.kill(proc.pid, signal.SIGKILL)
    assert proc.wait(timeout=30) == -signal.SIGKILL
    assert partial.exists(), "the half-written file should still be where the kill left it"
    written = len(partial.read_bytes().splitlines())
    assert 1 <= written < KILL_ROWS, "the kill should have landed mid-write"

    after = _digests(repo_copy)
    for path in ("models/predictions.csv", "models/metrics.json", "models/model.skops"):
        assert after[path] == before[path], f"{path} changed although its write never finished"
    # The half-written file is invisible to a commit and to DVC.
    assert ".tmp" not in run(["git", "status", "--porcelain", "-uall"], repo_copy).stdout
    run(["git", "add", "-A"], repo_copy)
    assert ".tmp" not in run(["git", "diff", "--cached", "--name-only"], repo_copy).stdout
    # What DVC makes of it next (its CLI in this process: tests/inprocess.py): the stray file
    # is ignored, and the next repro lands on the same results.
    assert inprocess.dvc(repo_copy, "check-ignore", str(partial)).returncode == 0
    inprocess.reproduce(repo_copy)
    assert "up to date" in inprocess.dvc(repo_copy, "status").stdout
    assert _digests(repo_copy) == before


@pytest.mark.slow
def test_the_pipeline_runs_with_no_network_to_the_committed_bytes(
    pipeline_repo: Path, pipeline_log: str
) -> None:
    """The suite's pipeline, reproduced from scratch offline (tests/conftest.py): DVC stayed
    quiet by the repository's own config, and every output hashed as main's dvc.lock says."""
    config = inprocess.dvc(pipeline_repo, "config", "--list", "--project").stdout
    assert "core.analytics=false" in config
    assert "core.check_update=false" in config
    assert pipeline_log.startswith("# offline: "), pipeline_log[:200]
    assert "Analytics is disabled" in pipeline_log
    assert "Analytics is enabled" not in pipeline_log
    # The stages whose outputs only DVC's cache holds ran; the rest found their git-tracked
    # results current (the kill test above and test_damaged_inputs rerun those).
    for stage in ("validate", "split", "train"):
        assert f"Running stage '{stage}'" in pipeline_log, stage
    # dvc.lock records every output's hash, model included: a run elsewhere, same bytes.
    assert (pipeline_repo / "dvc.lock").read_bytes() == (ROOT / "dvc.lock").read_bytes()
    for path in run(["git", "ls-files", "--", *RESULTS], ROOT).stdout.split():  # git's share
        assert (pipeline_repo / path).read_bytes() == (ROOT / path).read_bytes(), path
    assert len(pd.read_csv(pipeline_repo / "models/predictions.csv")) > 500, "real predictions"
