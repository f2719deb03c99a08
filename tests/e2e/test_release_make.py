"""`make release` on a checkout of the project itself: dry run first, then PUSH=1."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from support import ROOT, run


@pytest.fixture(autouse=True)
def no_workflow_outputs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GITHUB_OUTPUT", raising=False)


def has_package_target(repo: Path) -> bool:
    return re.search(r"^package:", (repo / "Makefile").read_text(), re.MULTILINE) is not None


@pytest.mark.slow
def test_make_release_dry_run_then_push(repo_copy: Path, tmp_path: Path) -> None:
    # The project's environment stands in for `make install` (-o install: don't re-sync it).
    (repo_copy / ".venv").symlink_to(ROOT / ".venv")
    origin = tmp_path / "origin.git"
    run(["git", "init", "-q", "--bare", str(origin)], tmp_path)
    run(["git", "remote", "add", "origin", str(origin)], repo_copy)
    make = ["make", "-o", "install", "release"]

    dry = run(make, repo_copy)
    assert "Dry run: would publish churn@v1.0.0 (version 1.0.0)" in dry.stdout
    assert "first release of 'churn'" in dry.stderr
    notes = (repo_copy / "dist/RELEASE_NOTES.md").read_text()
    assert notes.startswith("# churn v1.0.0")
    assert "| ROC AUC |" in notes
    assert run(["git", "tag", "--list"], repo_copy).stdout == "", "a dry run must not tag"

    push = run([*make, "PUSH=1"], repo_copy, check=False)
    if has_package_target(repo_copy):
        assert push.returncode == 0, push.stderr
        assert re.search(r"Wheel dist/churn_model-1\.0\.0-.*\.whl: version 1\.0\.0", push.stderr)
        assert "Published churn@v1.0.0" in push.stdout
        tag_type = run(["git", "cat-file", "-t", "refs/tags/churn@v1.0.0"], origin).stdout
        assert tag_type.strip() == "tag"
    else:
        # Without a package step there is no checked wheel, and nothing may be tagged.
        assert push.returncode != 0
        assert "refusing to tag without a checked wheel" in push.stderr
        assert run(["git", "tag", "--list"], repo_copy).stdout == ""
