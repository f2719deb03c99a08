"""The one report comment on a pull request: found again, updated, or created once.

    python3 -m gitops.actions.comment post --pr 7 --body comment.md \
        --head-sha SHA --head-repo OWNER/NAME [--author github-actions[bot]]

Why not `cml comment update`: CML 0.20.6 looks for its comment by watermark text alone and
only on the first page of 30 comments, with no check of who wrote it, and cannot be pointed
at a comment id. On a long PR it posts a second report; any comment that quotes the
watermark gets overwritten. Here every page is read (100 at a time, following `Link`), and
a comment counts as the report only when the workflow's own bot wrote it (login and
account type, and the app it acted through when GitHub says) and it carries the marker
line. Everything else on the PR is left alone.

Standard library only: the comment workflow runs this with a bare `python3`, never the
pull request's code or dependencies.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gitops import gha
from gitops.actions.artifact import REPO_RE, SHA_RE, ArtifactError, confirm_pull
from gitops.actions.github import GitHub, GitHubError
from gitops.review.marker import MARKER, has_marker

BOT = "github-actions[bot]"  # who GITHUB_TOKEN writes as
MAX_BODY_CHARS = 65_536  # GitHub refuses longer comment bodies (422)
LOGIN_RE = re.compile(r"[A-Za-z0-9-]+(\[bot\])?")


@dataclass(frozen=True)
class Posted:
    action: str  # "created" or "updated"
    comment_id: int
    url: str
    ignored: int  # comments carrying the marker that are not ours (quotes, impostors)


def is_ours(comment: dict[str, Any], author: str) -> bool:
    """Written by our bot and carrying the marker: the report comment, and nothing else."""
    user = comment.get("user") or {}
    if user.get("login") != author or user.get("type") != "Bot":
        return False
    app = comment.get("performed_via_github_app")
    if isinstance(app, dict) and app.get("slug") != author.removesuffix("[bot]"):
        return False
    return has_marker(str(comment.get("body") or ""))


def find_report(comments: Iterable[dict[str, Any]], author: str) -> tuple[dict | None, int]:
    """(The oldest report comment of ours or None, how many other comments quote the marker).

    The oldest, so the report keeps its place in the conversation if duplicates exist.
    """
    ours: dict[str, Any] | None = None
    ignored = 0
    for comment in comments:
        if is_ours(comment, author):
            ours = ours or comment
        elif has_marker(str(comment.get("body") or "")):
            ignored += 1
    return ours, ignored


def with_marker(body: str) -> str:
    """The body as posted: the marker line appended when absent, within GitHub's size limit."""
    if not has_marker(body):
        body = body.rstrip("\n") + "\n\n" + MARKER + "\n"
    if len(body) > MAX_BODY_CHARS:
        raise ValueError(f"comment body: {len(body)} characters, over GitHub's {MAX_BODY_CHARS}")
    return body


def upsert(api: GitHub, pr: int, body: str, author: str = BOT) -> Posted:
    """Update the PR's report comment, or create it when there is none yet."""
    comments = api.paginate(api.repo_path("issues", pr, "comments"))
    found, ignored = find_report(comments, author)
    if found is not None:
        resp = api.request(
            "PATCH", api.repo_path("issues", "comments", found["id"]), body={"body": body}
        )
        action = "updated"
    else:
        resp = api.request("POST", api.repo_path("issues", pr, "comments"), body={"body": body})
        action = "created"
    data = resp.data if isinstance(resp.data, dict) else {}
    return Posted(action, int(data.get("id", 0)), str(data.get("html_url", "")), ignored)


def _post_main(args: argparse.Namespace) -> int:
    if not LOGIN_RE.fullmatch(args.author):
        print(f"error: --author {args.author!r} is not a GitHub login", file=sys.stderr)
        return 2
    if not REPO_RE.fullmatch(args.head_repo) or not SHA_RE.fullmatch(args.head_sha):
        print("error: --head-repo must be owner/name and --head-sha a commit SHA", file=sys.stderr)
        return 2
    try:
        body = with_marker(args.body.read_text(encoding="utf-8"))
        api = GitHub.from_env()
        pull = api.get(api.repo_path("pulls", args.pr))
        if not isinstance(pull, dict):
            raise ArtifactError(f"the API's answer for PR #{args.pr} is not an object")
        post, reason = confirm_pull(
            pull, pr_number=args.pr, head_sha=args.head_sha, head_repo=args.head_repo
        )
        if not post:
            gha.add_summary(reason)
            print(reason)
            return 0
        posted = upsert(api, args.pr, body, args.author)
    except (ArtifactError, GitHubError, OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        gha.add_summary(f"No comment posted: {exc}")
        return 2
    note = (
        f" ({posted.ignored} other comment(s) quote the marker; left alone)"
        if posted.ignored
        else ""
    )
    message = f"Report comment {posted.action} on PR #{args.pr}: {posted.url}{note}"
    gha.set_outputs({"comment_id": str(posted.comment_id), "action": posted.action})
    gha.add_summary(message)
    print(message)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m gitops.actions.comment", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("post", help="confirm the PR head, then update or create the comment")
    p.add_argument("--pr", type=int, required=True)
    p.add_argument("--body", type=Path, required=True, help="markdown file to post")
    p.add_argument("--head-sha", required=True, help="the commit the CI run built")
    p.add_argument("--head-repo", required=True, help="owner/name the run's head came from")
    p.add_argument("--author", default=BOT, help=f"login the workflow posts as (default {BOT})")
    p.set_defaults(func=_post_main)
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
