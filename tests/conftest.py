"""Shared fixtures: real git checkouts in temp folders, one reproduced pipeline, a runner."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from runner import Checkout, Runner, github_commit, merge_clone, toolcache
from support import BIN, ROOT, copy_repo, run


def _editable_source() -> set[str]:
    pth = (ROOT / ".venv").glob("lib/python3*/site-packages/_editable_impl_*.pth")
    return {line.strip() for p in pth for line in p.read_text().splitlines() if line.strip()}


@pytest.fixture(scope="session", autouse=True)
def environment_stays_this_checkout_s() -> Iterator[None]:
    """Checkouts share this project's .venv: none of them may re-sync it to point at itself."""
    before = _editable_source()
    yield
    assert _editable_source() == before, "a test re-synced the shared .venv against a checkout"


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


@pytest.fixture(scope="session")
def runner_tools(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return toolcache(tmp_path_factory.mktemp("hostedtoolcache"))


@pytest.fixture
def runner(tmp_path: Path, runner_tools: Path) -> Runner:
    """A job on a GitHub-hosted runner: uv on PATH only, empty HOME, no git identity.

    Every test that runs a make target runs it through this (`runner.make(...)`), in a
    checkout made as actions/checkout makes it (`merge_checkout`, or `runner.clone`).
    """
    return Runner.create(tmp_path / "runner", runner_tools)


@pytest.fixture(scope="session")
def merge_checkout(tmp_path_factory: pytest.TempPathFactory) -> Checkout:
    """A PR's checkout: a depth-2 clone whose HEAD merges a params change into a moved main.

    Shared and read-only: tests that write into a checkout make their own with merge_clone.
    """
    origin = copy_repo(tmp_path_factory.mktemp("origin") / "repo", with_results=False)
    github_commit(origin, "checkout", "-q", "-b", "feature")
    params = origin / "params.yaml"
    params.write_text(params.read_text().replace("test_size: 0.2", "test_size: 0.25"))
    github_commit(origin, "commit", "-q", "-am", "PR: a larger test set")
    github_commit(origin, "checkout", "-q", "main")
    (origin / "NOTES.md").write_text("main moved on\n")
    github_commit(origin, "add", "NOTES.md")
    github_commit(origin, "commit", "-q", "-m", "main: unrelated change")
    return merge_clone(origin, tmp_path_factory.mktemp("checkout") / "repo")
