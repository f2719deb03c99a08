"""What a step on a GitHub-hosted runner sees, for every test that runs a make target.

A developer's machine hides what breaks on a runner: a git identity in ~/.gitconfig, uv
bootstrapped into .tools/, a full clone. A runner has none of that: uv is on PATH (put
there by astral-sh/setup-uv), HOME holds no git configuration, and actions/checkout leaves
a depth-2 clone whose HEAD is the merge commit GitHub built for the pull request. The
`runner` fixture (tests/conftest.py) gives tests exactly that environment, and `make()`
runs targets in it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from gitops.pipeline import outputs
from support import ROOT, checked, run

# Who GitHub says built the merge commit; the runner itself has no identity at all.
GITHUB_IDENTITY = {
    "GIT_AUTHOR_NAME": "GitHub",
    "GIT_AUTHOR_EMAIL": "noreply@github.com",
    "GIT_COMMITTER_NAME": "GitHub",
    "GIT_COMMITTER_EMAIL": "noreply@github.com",
}
# Variables of this machine that a runner step would not have (cloud keys included: a step
# gets those only from its `env:`).
_DROPPED_PREFIXES = (
    "GITHUB_", "RUNNER_", "GIT_", "UV_", "VIRTUAL_ENV", "DVC_", "PYTEST_", "NODE_",
    "AWS_", "AZURE_", "GOOGLE_", "PYTHONDONTWRITEBYTECODE",
)  # fmt: skip


def find_uv() -> str:
    """The uv this project was installed with: on PATH, else the one the Makefile bootstraps."""
    found = shutil.which("uv") or str(ROOT / ".tools/bin/uv")
    if not Path(found).is_file():
        raise RuntimeError("no uv on PATH and none in .tools/: run `make install` first")
    return found


def _runner_path(toolcache: Path) -> str:
    """PATH as setup-uv leaves it: its tool cache first, then the system's directories.

    This checkout's `.venv/bin` and `.tools/bin` are removed: a runner has neither until a
    step makes them, and the Makefile must not find them by accident.
    """
    hidden = {str(ROOT / ".venv/bin"), str(ROOT / ".tools/bin")}
    system = [p for p in os.environ.get("PATH", "").split(os.pathsep) if p and p not in hidden]
    return os.pathsep.join([str(toolcache), *system])


def toolcache(dest: Path) -> Path:
    """A folder holding only `uv`, like setup-uv's entry in /opt/hostedtoolcache."""
    dest.mkdir(parents=True, exist_ok=True)
    link = dest / "uv"
    if not link.exists():
        link.symlink_to(find_uv())
    return dest


@dataclass(frozen=True)
class Runner:
    """One job's environment: an empty HOME, no git identity, uv on PATH, GitHub's files."""

    tmp: Path
    env: dict[str, str] = field(repr=False)

    @classmethod
    def create(cls, tmp: Path, tools: Path) -> Runner:
        home = tmp / "home"
        home.mkdir(parents=True)
        (tmp / "temp").mkdir()
        empty = tmp / "empty.gitconfig"
        empty.touch()
        env = {k: v for k, v in os.environ.items() if not k.startswith(_DROPPED_PREFIXES)}
        env.update(
            HOME=str(home),
            XDG_CONFIG_HOME=str(home / ".config"),
            GIT_CONFIG_GLOBAL=str(empty),
            GIT_CONFIG_NOSYSTEM="1",
            PATH=_runner_path(tools),
            CI="true",
            GITHUB_ACTIONS="true",
            GITHUB_REPOSITORY="acme/churn",
            GITHUB_SERVER_URL="https://github.com",
            GITHUB_API_URL="https://api.github.com",
            GITHUB_RUN_ID="4242",
            RUNNER_TEMP=str(tmp / "temp"),
        )
        return cls(tmp=tmp, env=env).for_event("push", {})

    def for_event(self, event_name: str, payload: dict[str, object]) -> Runner:
        """The same job, triggered by `event_name` with `payload`; fresh output and summary."""
        event = self.tmp / f"event-{event_name}.json"
        event.write_text(json.dumps(payload))
        (self.tmp / "summary.md").write_text("")
        (self.tmp / "output.txt").write_text("")
        env = dict(self.env)
        env.update(
            GITHUB_EVENT_NAME=event_name,
            GITHUB_EVENT_PATH=str(event),
            GITHUB_STEP_SUMMARY=str(self.tmp / "summary.md"),
            GITHUB_OUTPUT=str(self.tmp / "output.txt"),
        )
        return Runner(tmp=self.tmp, env=env)

    def with_env(self, **extra: str) -> Runner:
        """The same job with a step's `env:` added."""
        return Runner(tmp=self.tmp, env={**self.env, **extra})

    @property
    def summary(self) -> str:
        return (self.tmp / "summary.md").read_text()

    def outputs(self) -> dict[str, str]:
        """GITHUB_OUTPUT as name → value (single-line values, as our commands write them)."""
        lines = (self.tmp / "output.txt").read_text().splitlines()
        return dict(line.split("=", 1) for line in lines if "=" in line and "<<" not in line)

    def run(
        self, cmd: list[str], cwd: Path, *, check: bool = False
    ) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            cmd, cwd=cwd, env=self.env, capture_output=True, text=True, check=False
        )
        return checked(proc) if check else proc

    def make(self, target: str, repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
        """`make <target>` as a workflow step runs it, in a checkout whose `.venv` is ready
        (`link_environment`: standing in for the `make install` a job runs first)."""
        return self.run(["make", target, *args], repo)


@dataclass(frozen=True)
class Checkout:
    path: Path
    merge: str  # what CI tests: the PR merged into its base
    base: str  # HEAD^1, the base branch the merge was built on
    head: str  # HEAD^2, the PR's own head commit


def sha(repo: Path, rev: str = "HEAD") -> str:
    return run(["git", "rev-parse", rev], repo).stdout.strip()


def link_environment(checkout: Path) -> None:
    """This project's installed environment, as the job's `make install` would have made it.

    The checkout's pyproject.toml and uv.lock are dated before the environment's stamp, so
    make (and every sub-make, which `-o` would not reach) sees it synced and never re-syncs
    the shared environment against the checkout, which would repoint its editable install.
    """
    venv = ROOT / ".venv"
    (checkout / ".venv").symlink_to(venv)
    stamp = (venv / ".synced").stat().st_mtime
    for name in ("pyproject.toml", "uv.lock"):
        if (checkout / name).exists():
            os.utime(checkout / name, (stamp - 60, stamp - 60))


def github_commit(repo: Path, *args: str) -> None:
    """A git command run on GitHub's side (merges, pushes by the PR author): with an identity."""
    subprocess.run(
        ["git", *args],
        cwd=repo,
        env={**os.environ, **GITHUB_IDENTITY},
        check=True,
        capture_output=True,
    )


def merge_clone(origin: Path, dest: Path, *, branch: str = "feature", number: int = 7) -> Checkout:
    """What actions/checkout gives a PR run: `branch` merged into main, cloned at depth 2.

    `origin` is a git repository whose `main` and `branch` hold the base and the PR.
    """
    merge_ref = f"pull/{number}/merge"
    github_commit(origin, "checkout", "-q", "-B", merge_ref, "main")
    github_commit(origin, "merge", "-q", "--no-ff", "-m", f"Merge {branch} into main", branch)
    github_commit(origin, "checkout", "-q", "main")
    clone(origin, dest, depth=2, branch=merge_ref)
    return Checkout(path=dest, merge=sha(dest), base=sha(dest, "HEAD^1"), head=sha(dest, "HEAD^2"))


def clone(origin: Path, dest: Path, *, depth: int | None = 1, branch: str = "main") -> Path:
    """actions/checkout of `branch` (depth 1 by default; None: full history and tags)."""
    args = ["git", "clone", "-q", "--branch", branch]
    args += ["--depth", str(depth)] if depth else []
    run([*args, f"file://{origin}", str(dest)], origin)
    link_environment(dest)
    return dest


def copy_pipeline_outputs(reproduced: Path, checkout: Path, *, with_cache: bool = False) -> None:
    """Stand in for a job's `make run` step with the outputs of a pipeline reproduced once.

    with_cache: DVC's cache too, as `make pull-cache` leaves a checkout; without it DVC
    counts the cached outputs as changed and reruns their stages.
    """
    outputs.copy_cached(reproduced, checkout)
    if with_cache:
        shutil.copytree(reproduced / ".dvc/cache", checkout / ".dvc/cache")
