"""Shared fixtures: real git checkouts in temp folders, one reproduced pipeline, a runner."""

from __future__ import annotations

import fcntl
import os
import shlex
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from runner import Checkout, Runner, github_commit, merge_clone, toolcache
from support import BIN, ROOT, copy_repo, copy_reproduced, offline

# Longest modules first under parallel workers (tests/module_order.py).
pytest_plugins = ("module_order",)


def _editable_source() -> set[str]:
    pth = (ROOT / ".venv").glob("lib/python3*/site-packages/_editable_impl_*.pth")
    return {line.strip() for p in pth for line in p.read_text().splitlines() if line.strip()}


@pytest.fixture(scope="session", autouse=True)
def environment_stays_this_checkout_s() -> Iterator[None]:
    """Checkouts share this project's .venv: none of them may re-sync it to point at itself."""
    before = _editable_source()
    yield
    assert _editable_source() == before, "a test re-synced the shared .venv against a checkout"


# The fast tier (`make test-fast`): tests/unit and tests/data, less tests marked `process`.
FAST_TIER = ("unit", "data")
# Programs whose start alone costs seconds: a fast-tier test that runs one is in the wrong tier.
SLOW_PROGRAMS = {"make", "dvc", "pre-commit", "gto", "uv"}


def _program(args: Any) -> str:
    """The program a Popen call starts, as its file name."""
    if isinstance(args, str | bytes | os.PathLike):
        text = os.fsdecode(args)
        first = shlex.split(text)[0] if text.strip() else text
    else:
        first = os.fsdecode(next(iter(args))) if args else ""
    return Path(first).name


def _in_fast_tier(item: pytest.Item) -> bool:
    try:
        tier = item.path.relative_to(ROOT / "tests").parts[0]
    except ValueError:
        return False
    return tier in FAST_TIER and item.get_closest_marker("process") is None


@pytest.fixture(autouse=True)
def fast_tier_spawns_no_slow_program(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A unit or data test that starts make, dvc, pre-commit, gto or uv fails, naming it.

    Such a test belongs in a slower tier or carries `@pytest.mark.process`; the fast tier
    stays fast because nothing in it can start them.
    """
    if not _in_fast_tier(request.node):
        return
    real = subprocess.Popen

    class Guarded(real):  # type: ignore[misc,valid-type]
        def __init__(self, args: Any, *rest: Any, **kwargs: Any) -> None:
            name = _program(args)
            if name in SLOW_PROGRAMS:
                raise AssertionError(
                    f"fast-tier test {request.node.nodeid} starts `{name}`: mark it "
                    "@pytest.mark.process (or move it out of tests/unit and tests/data)"
                )
            super().__init__(args, *rest, **kwargs)

    monkeypatch.setattr(subprocess, "Popen", Guarded)


#: What `dvc repro -v` of the shared pipeline said, next to the repo it reproduced.
REPRODUCE_LOG = "reproduce.log"


def _reproduce(dest: Path) -> Path:
    """The project copied to `dest` and its pipeline reproduced from scratch, offline.

    No network and no DVC_* variables (support.offline): the run every test reads also
    shows that the pipeline needs no network and that DVC stays quiet by the repository's
    own config. Its verbose log is kept beside the repo (`pipeline_log`).
    """
    repo = copy_repo(dest, with_results=False)
    prefix, offline_env, how = offline()
    proc = subprocess.run(
        [*prefix, str(BIN / "dvc"), "repro", "-v"],
        cwd=repo,
        env=offline_env,
        capture_output=True,
        text=True,
        check=False,
    )
    log = f"# offline: {how}\n{proc.stdout}{proc.stderr}"
    if proc.returncode != 0:
        raise AssertionError(f"dvc repro from scratch, offline, exited {proc.returncode}:\n{log}")
    (dest.parent / REPRODUCE_LOG).write_text(log)
    return repo


@pytest.fixture(scope="session")
def pipeline_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A git repo holding the project with the pipeline reproduced from scratch by DVC.

    Shared by every test that only reads the results; tests that change the repo copy it.
    Under pytest-xdist the pipeline is reproduced once for the whole run: the first worker
    to take the lock reproduces it next to the workers' temp folders, and each worker reads
    its own copy of that, so no two processes ever run DVC in the same repo.
    """
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return _reproduce(tmp_path_factory.mktemp("pipeline") / "repo")
    shared = tmp_path_factory.getbasetemp().parent / "shared-pipeline"
    shared.mkdir(exist_ok=True)
    with (shared / "lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not (shared / "done").exists():
            shutil.rmtree(shared / "repo", ignore_errors=True)  # a worker that failed half-way
            _reproduce(shared / "repo")
            (shared / "done").touch()
    mine = tmp_path_factory.mktemp("pipeline")
    shutil.copy2(shared / REPRODUCE_LOG, mine / REPRODUCE_LOG)
    return copy_reproduced(shared / "repo", mine / "repo")


@pytest.fixture(scope="session")
def pipeline_log(pipeline_repo: Path) -> str:
    """What `dvc repro -v` said while it reproduced `pipeline_repo`, offline, from scratch."""
    return (pipeline_repo.parent / REPRODUCE_LOG).read_text()


@pytest.fixture
def repo_copy(pipeline_repo: Path, tmp_path: Path) -> Path:
    """A private copy of the reproduced repo (git history, DVC cache and outputs included)."""
    return copy_reproduced(pipeline_repo, tmp_path / "repo")


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
