"""Shared fixtures: real git checkouts in temp folders and one reproduced pipeline."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from support import BIN, copy_repo, run


@pytest.fixture(scope="session")
def pipeline_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A git repo holding the project with the pipeline reproduced from scratch by DVC.

    Shared by every test that only reads the results; tests that change the repo copy it.
    """
    repo = copy_repo(tmp_path_factory.mktemp("pipeline") / "repo", with_results=False)
    run([str(BIN / "dvc"), "repro"], repo)
    return repo


@pytest.fixture
def repo_copy(pipeline_repo: Path, tmp_path: Path) -> Path:
    """A private copy of the reproduced repo (git history, DVC cache and outputs included)."""
    dest = tmp_path / "repo"
    shutil.copytree(pipeline_repo, dest, symlinks=True)
    return dest
