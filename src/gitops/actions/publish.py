"""The Release workflow's two decisions: whether to release this commit, and the GitHub Release.

    python -m gitops.actions.publish decide --sha SHA --branch main
    python -m gitops.actions.publish release --tag churn@v1.3.0 --commit SHA --dist dist

`decide` answers one of four ways, from git, GTO's tags and the GitHub API:

- publish: a new version is due on the branch's current head, which builds on the last release;
- finish: this commit already has its release tag but no published GitHub Release (a run
  that stopped after tagging): rebuild and publish it, tag nothing new;
- nothing: nothing shipped changed, or the release is already published;
- refuse: the commit is not the branch's current head, or does not descend from the latest
  release tag; releasing it would put an older or foreign history after a newer version.

`release` creates the GitHub Release as a draft, uploads every file SHA256SUMS lists, then
publishes it in one step, so nobody ever sees a release with half its files; a re-run
completes a draft (or a published release missing files) instead of failing on it.
"""

from __future__ import annotations

import argparse
import mimetypes
import re
import sys
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

from gitops import gha, git
from gitops.actions.deploy import CHECKSUMS, DeployError, verify_checksums
from gitops.actions.github import GitHub, GitHubError
from gitops.files import digest
from gitops.release import registry
from gitops.release.cli import ReleaseError, load_config, make_plan

SHA_RE = re.compile(r"[0-9a-f]{40}")


class Action(Enum):
    PUBLISH = "publish"
    FINISH = "finish"
    NOTHING = "nothing"
    REFUSE = "refuse"


@dataclass(frozen=True)
class ReleaseState:
    """What the decision needs, gathered from git, GTO and the GitHub API."""

    commit: str
    branch: str
    branch_head: str
    latest_tag: str | None  # the latest registered release tag, e.g. churn@v1.2.0
    latest_commit: str | None
    descends: bool  # commit is latest_commit or has it in its history (True without a release)
    tag_at_commit: str | None  # a release tag already on this commit
    published: bool  # tag_at_commit has a published (non-draft) GitHub Release
    due_version: str | None  # what `make release` would publish, None when nothing is due


@dataclass(frozen=True)
class Verdict:
    action: Action
    reason: str
    version: str | None = None
    tag: str | None = None


def decide_release(state: ReleaseState, artifact: str) -> Verdict:
    """The release decision: pure, so every branch of it is tested on real repositories."""
    short = state.commit[:12]
    if state.tag_at_commit:
        version = state.tag_at_commit.rpartition("@v")[2]
        if state.published:
            return Verdict(Action.NOTHING, f"{state.tag_at_commit} is already released")
        return Verdict(
            Action.FINISH,
            f"{state.tag_at_commit} tags {short} but has no published GitHub Release: finishing it",
            version,
            state.tag_at_commit,
        )
    if state.commit != state.branch_head:
        return Verdict(
            Action.REFUSE,
            f"{short} is not the current head of {state.branch} ({state.branch_head[:12]}); "
            "the run for the newer commit releases what is due",
        )
    if state.latest_tag and not state.descends:
        return Verdict(
            Action.REFUSE,
            f"{short} does not descend from the latest release {state.latest_tag} "
            f"({(state.latest_commit or '')[:12]}); was history rewritten?",
        )
    if state.due_version is None:
        return Verdict(Action.NOTHING, "nothing shipped changed since the last release")
    tag = f"{artifact}@v{state.due_version}"
    return Verdict(Action.PUBLISH, f"{tag} is due", state.due_version, tag)


def read_state(
    repo: Path, commit: str, branch: str, branch_head: str, published: Callable[[str], bool]
) -> tuple[ReleaseState, str]:
    """(The state of `commit`, the artifact name), from the clone and `published(tag)`."""
    config = load_config(repo)
    commit = git.resolve(commit, repo)
    at_commit = registry.versions_at(config.artifact, commit, repo)
    tag_at_commit = config.tag(at_commit[-1]) if at_commit else None
    latest = registry.latest_version(config.artifact, repo)
    latest_tag = config.tag(latest.removeprefix("v")) if latest else None
    latest_commit = git.resolve(f"refs/tags/{latest_tag}", repo) if latest_tag else None
    descends = latest_commit is None or git.is_ancestor(latest_commit, commit, repo)
    due = None
    if tag_at_commit is None and descends and commit == branch_head:
        plan = make_plan(config, repo, commit)
        due = plan.decision.version
    state = ReleaseState(
        commit=commit,
        branch=branch,
        branch_head=branch_head,
        latest_tag=latest_tag,
        latest_commit=latest_commit,
        descends=descends,
        tag_at_commit=tag_at_commit,
        published=published(tag_at_commit) if tag_at_commit else False,
        due_version=due,
    )
    return state, config.artifact


def find_release(api: GitHub, tag: str) -> dict[str, Any] | None:
    """The release (draft or published) for `tag`; drafts are only found by listing."""
    for release in api.paginate(api.repo_path("releases")):
        if release.get("tag_name") == tag:
            return release
    return None


def branch_head(api: GitHub, branch: str) -> str:
    data = api.get(api.repo_path("branches", branch))
    sha = ((data or {}).get("commit") or {}).get("sha") if isinstance(data, dict) else None
    if not isinstance(sha, str) or not SHA_RE.fullmatch(sha):
        raise GitHubError("GET", api.repo_path("branches", branch), None, "no commit SHA in reply")
    return sha


def _upload_url(release: dict[str, Any], name: str) -> str:
    """The release's `upload_url` with its `{?name,label}` template filled in."""
    template = str(release.get("upload_url") or "")
    base = template.split("{", 1)[0]
    if not base:
        raise GitHubError("POST", "upload_url", None, f"release {release.get('id')} has none")
    return f"{base}?{urllib.parse.urlencode({'name': name})}"


def sync_assets(api: GitHub, release: dict[str, Any], files: list[Path]) -> list[str]:
    """Make a draft's assets exactly `files`; returns the names uploaded.

    An asset is kept only when GitHub's `digest` of it is the local file's SHA-256; anything
    else (another build's file, a half-finished upload, a stray name) is deleted first.
    """
    wanted = {f.name: f for f in files}
    uploaded = []
    for asset in release.get("assets") or []:
        local = wanted.get(asset.get("name"))
        same = local is not None and asset.get("digest") == f"sha256:{digest(local)}"
        if same and asset.get("state", "uploaded") == "uploaded" and local is not None:
            wanted.pop(local.name)
        else:
            api.request("DELETE", api.repo_path("releases", "assets", asset["id"]))
    for name, path in sorted(wanted.items()):
        kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
        api.request("POST", _upload_url(release, name), data=path.read_bytes(), content_type=kind)
        uploaded.append(name)
    return uploaded


def publish_release(
    api: GitHub, tag: str, commit: str, files: list[Path], notes: str
) -> tuple[dict[str, Any], list[str]]:
    """Create or complete the GitHub Release for `tag`: a draft until every file is in.

    A release that is already published is left as it is: what people may have downloaded
    never changes under them.
    """
    release = find_release(api, tag)
    if release is not None and not release.get("draft"):
        return release, []
    if release is None:
        release = api.request(
            "POST",
            api.repo_path("releases"),
            body={
                "tag_name": tag,
                "target_commitish": commit,
                "name": tag,
                "body": notes,
                "draft": True,
            },
        ).data
    uploaded = sync_assets(api, release, files)
    published = api.request(
        "PATCH",
        api.repo_path("releases", release["id"]),
        body={"draft": False, "tag_name": tag, "name": tag, "body": notes},
    ).data
    return published, uploaded


def _decide_main(args: argparse.Namespace) -> int:
    api = GitHub.from_env()
    head = branch_head(api, args.branch)
    state, artifact = read_state(
        args.repo, args.sha, args.branch, head, lambda tag: _is_published(api, tag)
    )
    verdict = decide_release(state, artifact)
    gha.set_outputs(
        {"action": verdict.action.value, "version": verdict.version or "", "tag": verdict.tag or ""}
    )
    gha.add_summary(f"Release: **{verdict.action.value}**: {verdict.reason}")
    if verdict.action is Action.REFUSE:
        print(f"::error title=Release refused::{verdict.reason}")
        return 1
    print(f"{verdict.action.value}: {verdict.reason}")
    return 0


def _is_published(api: GitHub, tag: str) -> bool:
    release = find_release(api, tag)
    return release is not None and not release.get("draft")


def _release_main(args: argparse.Namespace) -> int:
    if not SHA_RE.fullmatch(args.commit):
        raise DeployError(f"--commit {args.commit!r} is not a commit SHA")
    files = [args.dist / name for name in verify_checksums(args.dist)] + [args.dist / CHECKSUMS]
    notes = args.notes.read_text(encoding="utf-8")
    api = GitHub.from_env()
    release, uploaded = publish_release(api, args.tag, args.commit, files, notes)
    url = release.get("html_url", "")
    gha.set_outputs({"url": str(url)})
    gha.add_summary(f"Released [{args.tag}]({url}): {len(files)} files ({len(uploaded)} uploaded)")
    print(f"released {args.tag}: {url} ({len(uploaded)} of {len(files)} files uploaded)")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gitops.actions.publish", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    d = sub.add_parser("decide", help="publish, finish, nothing or refuse, for one commit")
    d.add_argument("--sha", required=True, help="the commit CI tested (workflow_run.head_sha)")
    d.add_argument("--branch", required=True, help="the branch it was pushed to")
    d.add_argument("--repo", type=Path, default=Path())
    d.set_defaults(func=_decide_main)
    r = sub.add_parser("release", help="create or complete the GitHub Release of a tag")
    r.add_argument("--tag", required=True)
    r.add_argument("--commit", required=True)
    r.add_argument("--dist", type=Path, default=Path("dist"))
    r.add_argument("--notes", type=Path, default=Path("dist/RELEASE_NOTES.md"))
    r.set_defaults(func=_release_main)
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except (GitHubError, DeployError, ReleaseError, git.GitError, registry.RegistryError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        gha.add_summary(f"Release stopped: {exc}")
        return 1
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
