"""A GitHub-like checkout: a depth-2 clone whose HEAD is a merge commit, as CI gets for a PR."""

from __future__ import annotations

from pathlib import Path

import pytest

from gha_support import Checkout
from support import ROOT, copy_repo, run


def _sha(repo: Path, rev: str = "HEAD") -> str:
    return run(["git", "rev-parse", rev], repo).stdout.strip()


@pytest.fixture(scope="session")
def merge_checkout(tmp_path_factory: pytest.TempPathFactory) -> Checkout:
    origin = copy_repo(tmp_path_factory.mktemp("origin") / "repo", with_results=False)
    run(["git", "checkout", "-q", "-b", "feature"], origin)
    params = origin / "params.yaml"
    params.write_text(params.read_text().replace("test_size: 0.2", "test_size: 0.25"))
    run(["git", "commit", "-q", "-am", "PR: a larger test set"], origin)
    run(["git", "checkout", "-q", "main"], origin)
    (origin / "NOTES.md").write_text("main moved on\n")
    run(["git", "add", "NOTES.md"], origin)
    run(["git", "commit", "-q", "-m", "main: unrelated change"], origin)
    run(["git", "checkout", "-q", "-b", "pull/7/merge"], origin)
    run(["git", "merge", "-q", "--no-ff", "-m", "Merge feature into main", "feature"], origin)
    clone = tmp_path_factory.mktemp("checkout") / "repo"
    run(
        [
            "git",
            "clone",
            "-q",
            "--depth",
            "2",
            "--branch",
            "pull/7/merge",
            f"file://{origin}",
            str(clone),
        ],
        origin,
    )
    # The project environment, as `make install` would have made it in CI.
    (clone / ".venv").symlink_to(ROOT / ".venv")
    return Checkout(
        path=clone, merge=_sha(clone), base=_sha(clone, "HEAD^1"), head=_sha(clone, "HEAD^2")
    )
