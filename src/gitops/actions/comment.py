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
import os
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gitops import gha
from gitops.actions.artifact import REPO_RE, SHA_RE, ArtifactError, confirm_pull
from gitops.actions.github import GitHub, GitHubError
from gitops.review.marker import MARKER, MAX_COMMENT_CHARS, has_marker, too_long_body

BOT = "github-actions[bot]"  # who GITHUB_TOKEN writes as
MAX_BODY_CHARS = MAX_COMMENT_CHARS  # characters (code points); GitHub refuses more (422)
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


def with_marker(body: str, run_url: str | None = None) -> str:
    """The body as posted: the marker line appended when absent, within GitHub's size limit.

    A body over the limit becomes a short comment that says so and links the run: the PR
    then still learns that a report exists and where, instead of getting nothing.
    """
    body = marked(body)
    if len(body) > MAX_BODY_CHARS:
        return too_long_body(len(body), run_url)
    return body


def marked(body: str) -> str:
    """The body with the marker line appended when absent."""
    return body if has_marker(body) else body.rstrip("\n") + "\n\n" + MARKER + "\n"


def run_url(environ: dict[str, str] | None = None) -> str | None:
    """This workflow run's page, from the variables every Actions step has."""
    env = os.environ if environ is None else environ
    keys = ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID")
    if all(env.get(k) for k in keys):
        return "{}/{}/actions/runs/{}".format(*(env[k] for k in keys))
    return None


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
        full = marked(args.body.read_text(encoding="utf-8"))
        body = with_marker(full, run_url())
        if body != full:
            print(
                f"warning: {args.body}: {len(full):,} characters, over GitHub's "
                f"{MAX_BODY_CHARS:,}; posting a note that links the run instead",
                file=sys.stderr,
            )
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
