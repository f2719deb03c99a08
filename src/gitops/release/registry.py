"""The model registry is the git tags GTO reads and writes; this module goes through GTO.

Reading versions through GTO's `show` (rather than parsing tags ourselves) means the version
we bump from is exactly the one `gto show`, `gto history` and DVC's artifact commands report,
and tags we create go through `gto register`, so they carry GTO's format by construction.
Reads and registrations call GTO's Python API in this process (what `gto show --json`
prints and `gto register` writes, without the second a `gto` process takes to start), with
the git identity `tagger` resolves.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from gitops import git


class RegistryError(RuntimeError):
    """A GTO or git call on the registry failed; the message says what to do."""


@dataclass(frozen=True)
class Identity:
    """Who the annotated release tag names as its tagger."""

    name: str
    email: str


def tagger(repo: Path) -> Identity:
    """The identity git would commit with, handed to gto explicitly.

    gto writes tags through scmrepo (pygit2, dulwich), which reads GIT_COMMITTER_NAME/EMAIL
    and the config files those libraries know, but not GIT_CONFIG_COUNT/GIT_CONFIG_GLOBAL the
    way git does. Resolving the identity with git and passing it as GTO's tag author makes both
    agree, and a runner without any identity gets this message before anything is built,
    not scmrepo's after.
    """
    name = os.environ.get("GIT_COMMITTER_NAME") or git.config_value("user.name", repo)
    email = os.environ.get("GIT_COMMITTER_EMAIL") or git.config_value("user.email", repo)
    if not name or not email:
        raise RegistryError(
            "no git identity to write the release tag with: set user.name and user.email "
            "(`git config`), or GIT_COMMITTER_NAME and GIT_COMMITTER_EMAIL (release.yml sets "
            "them to github-actions[bot])"
        )
    return Identity(name, email)


def _run(cmd: list[str], repo: Path) -> str:
    proc = subprocess.run(cmd, cwd=repo, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        detail = (proc.stderr.strip() or proc.stdout.strip())[-2000:]
        raise RegistryError(f"`{' '.join(cmd)}` failed in {repo}: {detail}")
    return proc.stdout


def _gto_api() -> ModuleType:
    try:
        from gto import api
    except ImportError:
        raise RegistryError(
            "`gto` is not installed; run `make install` (it is a dev dependency)"
        ) from None
    return api


@contextmanager
def _no_date_overrides() -> Iterator[None]:
    """GIT_COMMITTER_DATE / GIT_AUTHOR_DATE unset meanwhile: scmrepo, which writes GTO's tags,
    fails to tag at all when one is set (git's own rebase exports them)."""
    saved = {
        v: os.environ.pop(v) for v in ("GIT_COMMITTER_DATE", "GIT_AUTHOR_DATE") if v in os.environ
    }
    try:
        yield
    finally:
        os.environ.update(saved)


def latest_version(artifact: str, repo: Path) -> str | None:
    """Greatest registered version of `artifact` per `gto show` (e.g. 'v1.2.0'), or None."""
    try:
        state = _gto_api().show(str(repo), table=False)
    except Exception as exc:  # GTO's own errors, and git's through scmrepo
        raise RegistryError(f"`gto show` failed in {repo}: {exc}") from exc
    entry = state.get(artifact) if isinstance(state, dict) else None
    if not entry or not entry.get("registered") or not entry.get("version"):
        return None
    return str(entry["version"])


def check_ref(ref: str, repo: Path) -> dict[str, Any] | None:
    """The event GTO reads in tag `ref` (what `gto check-ref --json` prints), or None.

    A registration, an assignment or a deprecation: `artifact`, `version`, `event`, `stage`
    (for an assignment) and the tag's details, as JSON-ready values.
    """
    api = _gto_api()
    from gto.utils import make_ready_to_serialize

    try:
        events = api.check_ref(str(repo), ref)
    except Exception as exc:  # GTO's own errors, and git's through scmrepo
        raise RegistryError(f"`gto check-ref {ref}` failed in {repo}: {exc}") from exc
    if len(events) != 1:
        return None
    return make_ready_to_serialize(events[0].dict_state(exclude={"priority", "addition"}))


def is_shallow(repo: Path) -> bool:
    out = _run(["git", "rev-parse", "--is-shallow-repository"], repo)
    return out.strip() == "true"


def tag_exists(tag: str, repo: Path) -> bool:
    proc = subprocess.run(
        ["git", "rev-parse", "--verify", "--quiet", f"refs/tags/{tag}"],
        cwd=repo,
        capture_output=True,
        check=False,
    )
    return proc.returncode == 0


def used_versions(artifact: str, repo: Path) -> set[str]:
    """Every X.Y.Z that has a registration tag, withdrawn or not (git refs, not GTO state)."""
    prefix = f"{artifact}@v"
    return {t[len(prefix) :].rstrip("!") for t in git.tags(f"{prefix}*", repo)}


def versions_at(artifact: str, commit: str, repo: Path) -> list[str]:
    """X.Y.Z of every registration tag on `commit` (deregistrations `...!` left out)."""
    prefix = f"{artifact}@v"
    found = git.tags(f"{prefix}*", repo, points_at=commit)
    return sorted(t[len(prefix) :] for t in found if not t.endswith("!"))


def tag_type(tag: str, repo: Path) -> str:
    """'tag' for an annotated tag, 'commit' for a lightweight one."""
    return _run(["git", "cat-file", "-t", f"refs/tags/{tag}"], repo).strip()


def register(
    artifact: str, version: str, message: str, repo: Path, identity: Identity, ref: str = "HEAD"
) -> str:
    """Create GTO's annotated registration tag `artifact@vX.Y.Z` on `ref`; returns the tag."""
    tag = f"{artifact}@v{version}"
    api = _gto_api()
    try:
        with _no_date_overrides():
            api.register(
                str(repo), artifact, ref, version=f"v{version}", message=message,
                author=identity.name, author_email=identity.email,
            )  # fmt: skip
    except Exception as exc:  # GTO's own errors, and git's through scmrepo
        raise RegistryError(f"`gto register {artifact} {ref}` failed in {repo}: {exc}") from exc
    if tag_type(tag, repo) != "tag":
        raise RegistryError(f"`gto register` did not create an annotated tag {tag}")
    return tag


def push_tag(tag: str, remote: str, repo: Path) -> None:
    """Push one tag (never branches or other tags) to `remote`."""
    try:
        _run(["git", "push", remote, f"refs/tags/{tag}"], repo)
    except RegistryError as err:
        raise RegistryError(
            f"{err}\nThe tag exists locally; fix the remote and run `git push {remote} {tag}`, "
            f"or delete it with `git tag -d {tag}`."
        ) from None
