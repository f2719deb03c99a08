"""The data scientist's loop: `make exp`, `make exp-show`, `make report EXP=<name>`.

Run as on a laptop whose shell has no activated environment: the project's `.venv/bin` is
not on PATH (the runner fixture removes it), so the stage commands must find the project's
interpreter themselves (tools/python).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import inprocess
from gitops.files import digest
from gitops.review import experiment
from runner import Runner, clone, copy_pipeline_outputs
from support import ROOT, run

pytestmark = [pytest.mark.slow, pytest.mark.process]

IDENTITY = {
    "GIT_AUTHOR_NAME": "Data Scientist",
    "GIT_AUTHOR_EMAIL": "ds@example.com",
    "GIT_COMMITTER_NAME": "Data Scientist",
    "GIT_COMMITTER_EMAIL": "ds@example.com",
}


def test_an_experiment_runs_lists_and_gets_a_report_against_main(
    pipeline_repo: Path, runner: Runner, tmp_path: Path
) -> None:
    checkout = clone(pipeline_repo, tmp_path / "checkout", depth=None)
    copy_pipeline_outputs(pipeline_repo, checkout, with_cache=True)  # a laptop after `make run`
    laptop = runner.with_env(**IDENTITY)
    assert str(ROOT / ".venv/bin") not in laptop.env["PATH"].split(":")

    ran = laptop.make("exp", checkout, "ARGS=-S train.model=random_forest -n rf-try")
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "No module named" not in ran.stderr
    assert "exp: set train.model in params.yaml" in ran.stdout
    shown = laptop.make("exp-show", checkout)
    assert shown.returncode == 0, shown.stderr
    assert "rf-try" in shown.stdout

    kept = {p: digest(checkout / p) for p in ("params.yaml", "models/metrics.json", "dvc.lock")}
    done = laptop.make("report", checkout, "EXP=rf-try")
    assert "experiment rf-try (" in done.stdout, done.stdout + done.stderr
    assert done.returncode in (0, 2)  # 2: make's status when a gate fails (report exits 1)
    report = json.loads((checkout / "reports/pr_report.json").read_text())
    # The param that changed, and only it (dvc's own -S would rewrite the whole file).
    assert [(c["key"], c["base"], c["change"]) for c in report["params"]] == [
        ("train.model", "hist_gradient_boosting", "random_forest")
    ]
    assert "random_forest" in (checkout / "reports/pr_report.md").read_text()
    assert report["revisions"]["change"]["sha"] == experiment.find("rf-try", checkout)
    assert (
        report["revisions"]["base"]["sha"]
        == run(["git", "rev-parse", "main"], checkout).stdout.strip()
    )
    # The report ran in a temporary worktree: this workspace and its worktrees are as before.
    assert {p: digest(checkout / p) for p in kept} == kept
    worktrees = run(["git", "worktree", "list", "--porcelain"], checkout).stdout
    assert worktrees.count("worktree ") == 1

    # What `make report EXP=no-such-run` runs, in this process: the message is under test.
    args = ["report", "--name", "no-such-run"]
    missing = inprocess.python_m("gitops.review.experiment", args, checkout, laptop.env)
    assert missing.returncode != 0
    assert "no experiment named 'no-such-run'" in missing.stderr
    assert "rf-try" in missing.stderr
