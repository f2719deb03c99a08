"""`make report` end to end: real git repositories, real DVC, the report as CI runs it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import sample
from inprocess import python_m, reproduce
from support import env, run, set_params

REPORT = "gitops.review.report"


def commit_all(repo: Path, message: str) -> None:
    run(["git", "add", "-A"], repo)
    run(["git", "commit", "-q", "--allow-empty", "-m", message], repo)


def repro(repo: Path) -> None:
    """DVC reproduces the change, in this process (tests/inprocess.py)."""
    reproduce(repo, "--quiet")


def report(
    repo: Path, *args: str, extra_env: dict[str, str] | None = None
) -> tuple[int, str, dict]:
    """Run the report like CI does; return its exit code, markdown and JSON.

    `python -m gitops.review.report`, in this process (tests/inprocess.py): `make report` as
    a CI step runs it is test_report_trust's."""
    proc = python_m(REPORT, list(args), repo, env() | (extra_env or {}))
    assert proc.returncode in (0, 1), proc.stderr
    text = (repo / "reports/pr_report.md").read_text()
    data = json.loads((repo / "reports/pr_report.json").read_text())
    return proc.returncode, text, data


@pytest.fixture
def branch(repo_copy: Path) -> Path:
    """The reproduced repo with its results committed on main and a `change` branch out."""
    commit_all(repo_copy, "results")
    run(["git", "checkout", "-q", "-b", "change"], repo_copy)
    return repo_copy


@pytest.mark.slow
def test_seed_change_is_noise_and_stale_results_fail_until_committed(branch: Path) -> None:
    set_params(branch, **{"train.seed": 7})
    repro(branch)
    code, text, data = report(branch)
    # Reproduced but not committed: the branch's results are stale.
    assert code == 1
    assert data["failing"] == ["Committed results match what the pipeline reproduces"]
    assert any("train.seed" in d for d in data["stale"]["differences"])
    assert "git add dvc.lock models/ data/quality.json && git commit" in text

    commit_all(branch, "train with another seed")
    code, text, data = report(branch)
    assert code == 0, data["failing"]
    assert data["verdict"] == "pass"
    assert data["comparison"]["mode"] == "paired"
    assert not any(m["significant"] for m in data["metrics"])
    assert [p["key"] for p in data["params"]] == ["train.seed"]
    assert text.startswith("## ✅")


@pytest.mark.slow
@pytest.mark.example  # a linear model falls below the example's average-precision floor
def test_weaker_model_fails_also_from_a_depth_2_clone_of_the_merge_commit(
    branch: Path, tmp_path: Path
) -> None:
    set_params(branch, **{"train.model": "logistic_regression"})
    repro(branch)
    commit_all(branch, "try a linear model")
    code, text, data = report(branch)
    assert code == 1
    verdict_line = text.splitlines()[0]
    assert verdict_line.startswith("## ❌")
    assert "Average precision" in verdict_line
    assert "min.average_precision" in {g["id"] for g in data["gates"] if g["verdict"] == "fail"}
    headings = re.findall(r"^### (\w+)", text, flags=re.M)
    assert headings == ["Gates", "Metrics", "Params", "Data", "Charts"]
    assert text.count("```mermaid") == 4
    ap = next(m for m in data["metrics"] if m["name"] == "average_precision")
    assert ap["significant"]
    assert ap["direction"] == "worse"

    # What a pull_request workflow sees: a merge commit, fetched with depth 2.
    run(["git", "checkout", "-q", "main"], branch)
    run(["git", "merge", "-q", "--no-ff", "-m", "Merge change", "change"], branch)
    clone = tmp_path / "clone"
    run(["git", "clone", "-q", "--depth", "2", f"file://{branch}", str(clone)], tmp_path)
    summary = tmp_path / "summary.md"
    summary.write_text("# Earlier step\n")
    github = {
        "GITHUB_STEP_SUMMARY": str(summary),
        "GITHUB_SERVER_URL": "https://github.example",
        "GITHUB_REPOSITORY": "team/churn",
        "GITHUB_RUN_ID": "42",
    }
    code, text, data = report(clone, "--base", "HEAD^1", extra_env=github)
    assert code == 1
    assert "Average precision" in text.splitlines()[0]
    assert "https://github.example/team/churn/actions/runs/42" in text
    assert text.rstrip().endswith("<!-- gitops-report -->")
    appended = summary.read_text()
    assert appended.startswith("# Earlier step\n")
    assert text in appended

    missing = python_m(REPORT, ["--base", "0" * 40], clone, env())
    assert missing.returncode == 2
    assert "git fetch" in missing.stderr


@pytest.mark.slow
def test_a_changed_raw_file_is_new_data_shown_side_by_side(branch: Path) -> None:
    raw = sample.raw_path(branch)
    lines = raw.read_text().splitlines(keepends=True)
    raw.write_text("".join(lines[:1] + lines[1:-400]))
    repro(branch)
    commit_all(branch, "drop the last 400 raw rows")
    _, text, data = report(branch)
    assert data["comparison"]["mode"] == "new data"
    assert data["new_data"][0].startswith("raw data `data/raw/")
    assert "🆕 **New data.**" in text
    rows = data["data"]["summary"]["rows_in"]
    assert rows["change"] == rows["base"] - 400
    assert data["data"]["changed"]
    assert "The data changed." in text
    assert all(m["interval"] is None and m["base"] is not None for m in data["metrics"])


@pytest.mark.slow
def test_a_new_split_of_the_same_data_is_compared_unpaired(branch: Path) -> None:
    set_params(branch, **{"split.test_size": 0.25})
    repro(branch)
    commit_all(branch, "a larger test set")
    _, text, data = report(branch)
    assert data["comparison"]["mode"] == "unpaired"
    assert data["new_data"] == []
    assert "unpaired" in text
    assert not data["data"]["changed"]
    assert all(m["interval"] is not None for m in data["metrics"])


def test_loosened_gates_are_a_policy_change(branch: Path) -> None:
    set_params(branch, **{"gates.min.roc_auc": 0.5})
    commit_all(branch, "loosen the ROC AUC floor")
    code, text, data = report(branch)
    assert code == 0
    assert data["policy"]["changed"]
    assert data["policy"]["keys"] == ["gates.min.roc_auc"]
    assert data["policy"]["verdict_under_base_gates"] == "pass"
    assert "**Policy change.**" in text
    assert "`gates.min.roc_auc` ⚠️ policy" in text


def test_no_base_metrics_shows_absolute_values_and_gates_only(branch: Path) -> None:
    run(["git", "rm", "-q", "--cached", "models/metrics.json"], branch)
    run(["git", "commit", "-q", "-m", "a repository before the template's results"], branch)
    run(["git", "tag", "before"], branch)
    run(["git", "add", "models/metrics.json"], branch)
    commit_all(branch, "adopt the template")
    code, text, data = report(branch, "--base", "before")
    assert code == 0, data["failing"]
    assert data["comparison"]["mode"] == "no base"
    assert all(m["base"] is None and m["interval"] is None for m in data["metrics"])
    regression = [g for g in data["gates"] if g["id"].startswith("max_regression.")]
    assert regression
    assert all(g["verdict"] == "skip" for g in regression)
    assert "No metrics at the base" in text


def test_over_long_report_is_cut_and_says_so(branch: Path) -> None:
    set_params(branch, **{"report.max_chars": 6000})
    commit_all(branch, "a tight comment limit")
    _, text, data = report(branch)
    assert len(text) <= 6000
    assert "charts" in data["omitted"]
    assert "Trimmed to fit" in text
    assert "```mermaid" not in text
    assert text.rstrip().endswith("<!-- gitops-report -->")
