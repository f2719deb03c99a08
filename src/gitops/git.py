"""Reading files as they were at a git revision: how every comparison gets its base.

Results are git-tracked, so a base revision's metrics, predictions and lock file are read
straight from git objects: no checkout, no remote, and it works in a shallow clone as long
as the base commit itself was fetched.
"""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator
from pathlib import Path


class GitError(RuntimeError):
    """A git command failed; the message says what to run or fetch."""


def _git(args: list[str], cwd: Path, *, check: bool = True) -> subprocess.CompletedProcess[bytes]:
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, check=False)
    if check and proc.returncode != 0:
        err = proc.stderr.decode(errors="replace").strip()
        raise GitError(f"git {' '.join(args)} failed in {cwd}: {err}")
    return proc


def resolve(rev: str, cwd: Path = Path()) -> str:
    """Full commit SHA of `rev`, or an error that says how to make it available."""
    proc = _git(["rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"], cwd, check=False)
    if proc.returncode != 0:
        raise GitError(
            f"revision '{rev}' is not in this clone. Fetch it first, e.g. "
            f"`git fetch --depth=2 origin {rev}` (or `git fetch --unshallow` for full history)."
        )
    return proc.stdout.decode().strip()


def show(rev: str, path: str, cwd: Path = Path()) -> bytes | None:
    """Contents of `path` at `rev`, or None when the file did not exist there."""
    sha = resolve(rev, cwd)
    proc = _git(["show", f"{sha}:{path}"], cwd, check=False)
    return proc.stdout if proc.returncode == 0 else None


def show_text(rev: str, path: str, cwd: Path = Path()) -> str | None:
    data = show(rev, path, cwd)
    return None if data is None else data.decode("utf-8")


def merge_base(a: str, b: str, cwd: Path = Path()) -> str:
    proc = _git(["merge-base", a, b], cwd, check=False)
    if proc.returncode != 0:
        raise GitError(
            f"no merge base of '{a}' and '{b}' in this clone; fetch more history "
            "(`git fetch --unshallow`) or pass the base explicitly (BASE=<rev>)."
        )
    return proc.stdout.decode().strip()


def changed_files(a: str, b: str, cwd: Path = Path(), paths: list[str] | None = None) -> list[str]:
    """Paths that differ between two revisions (optionally limited to `paths`)."""
    args = ["diff", "--name-only", resolve(a, cwd), resolve(b, cwd)]
    if paths:
        args += ["--", *paths]
    return [line for line in _git(args, cwd).stdout.decode().splitlines() if line]


def tags(pattern: str, cwd: Path = Path(), *, points_at: str | None = None) -> list[str]:
    """Tags matching `pattern`, optionally only those on commit `points_at`."""
    args = ["tag", "--list", pattern, *(["--points-at", points_at] if points_at else [])]
    return [t for t in _git(args, cwd).stdout.decode().splitlines() if t]


def is_ancestor(ancestor: str, descendant: str, cwd: Path = Path()) -> bool:
    """Whether `ancestor` is `descendant` or in its history (needs both in this clone)."""
    a, d = resolve(ancestor, cwd), resolve(descendant, cwd)
    proc = _git(["merge-base", "--is-ancestor", a, d], cwd, check=False)
    if proc.returncode not in (0, 1):
        err = proc.stderr.decode(errors="replace").strip()
        raise GitError(f"cannot tell whether {a[:12]} is an ancestor of {d[:12]}: {err}")
    return proc.returncode == 0


def config_value(key: str, cwd: Path = Path()) -> str | None:
    """A git config value as git itself resolves it (env, repo, global, GIT_CONFIG_*)."""
    proc = _git(["config", "--get", key], cwd, check=False)
    value = proc.stdout.decode().strip()
    return value or None


def commit_time(rev: str, cwd: Path = Path()) -> int:
    """The committer time of `rev`, in seconds since the epoch."""
    return int(_git(["show", "-s", "--format=%ct", resolve(rev, cwd)], cwd).stdout.decode())


def dirty(cwd: Path = Path()) -> bool:
    """Whether tracked files differ from HEAD (the workspace holds uncommitted changes)."""
    out = _git(["status", "--porcelain", "--untracked-files=no"], cwd).stdout
    return bool(out.strip())


def remote_url(name: str = "origin", cwd: Path = Path()) -> str | None:
    """The URL of remote `name`, or None when there is no such remote (or no repository)."""
    proc = _git(["remote", "get-url", name], cwd, check=False)
    if proc.returncode != 0:
        return None
    return proc.stdout.decode().strip() or None


def refs(prefix: str, cwd: Path = Path()) -> dict[str, str]:
    """Refs under `prefix` (e.g. `refs/exps/`, where `dvc exp run` keeps experiments) → SHA."""
    out = _git(["for-each-ref", "--format=%(refname) %(objectname)", prefix], cwd).stdout
    pairs = (line.split(" ", 1) for line in out.decode().splitlines() if line)
    return {name: sha for name, sha in pairs}  # noqa: C416 (each line is "<ref> <sha>")


@contextlib.contextmanager
def worktree(rev: str, dest: Path, cwd: Path = Path()) -> Iterator[Path]:
    """`rev` checked out, detached, at `dest` for the duration; removed afterwards.

    A second working tree shares the repository's objects and refs, so it costs a checkout,
    not a clone, and the caller's workspace is never touched.
    """
    sha = resolve(rev, cwd)
    _git(["worktree", "add", "--quiet", "--detach", str(dest), sha], cwd)
    try:
        yield dest
    finally:
        _git(["worktree", "remove", "--force", str(dest)], cwd, check=False)
        _git(["worktree", "prune"], cwd, check=False)
