"""What a CI run tested, written next to its report so later workflows can trust-check it.

The PR comment workflow runs without the PR's code and reads this file from an artifact: it
needs the PR number (fork PRs carry none in the `workflow_run` event) and the head commit,
which it confirms against the GitHub API before posting.

    python -m gitops.actions.metadata metadata --output reports/ci_metadata.json
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from pathlib import Path
from typing import Any

from gitops import gha
from gitops.files import write_text
from gitops.git import GitError, resolve

SHA_RE = re.compile(r"[0-9a-f]{40}")
SCHEMA_VERSION = 1


def _sha(value: object, field: str) -> str:
    if not isinstance(value, str) or not SHA_RE.fullmatch(value):
        raise ValueError(f"event field {field}: expected a 40-character commit SHA, got {value!r}")
    return value


def _pr_number(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"event field pull_request.number: not a positive integer: {value!r}")
    return value


def run_metadata(
    event_name: str, payload: dict[str, Any], *, tested_sha: str, compared_base: str
) -> dict[str, Any]:
    """Metadata of one run: which PR, which commits were built and compared.

    `tested_sha` is the checkout's HEAD (the merge commit for a PR), `compared_base` its first
    parent, the base the report compares against.
    """
    meta: dict[str, Any] = {
        "schema": SCHEMA_VERSION,
        "event": event_name,
        "pr_number": None,
        "tested_sha": _sha(tested_sha, "HEAD"),
        "compared_base": _sha(compared_base, "HEAD^1"),
    }
    if event_name == "pull_request":
        pr = payload.get("pull_request")
        if not isinstance(pr, dict):
            raise ValueError("event field pull_request: missing from a pull_request event")
        meta["pr_number"] = _pr_number(pr.get("number"))
        meta["head_sha"] = _sha((pr.get("head") or {}).get("sha"), "pull_request.head.sha")
        meta["base_sha"] = _sha((pr.get("base") or {}).get("sha"), "pull_request.base.sha")
    elif event_name == "push":
        meta["head_sha"] = _sha(payload.get("after"), "after")
        before = payload.get("before")
        # A branch's first push has no parent: GitHub sends forty zeros.
        meta["base_sha"] = compared_base if before == "0" * 40 else _sha(before, "before")
    else:
        meta["head_sha"] = tested_sha
        meta["base_sha"] = compared_base
    return meta


def summary_markdown(meta: dict[str, Any]) -> str:
    pr = f"PR #{meta['pr_number']}" if meta["pr_number"] else meta["event"]
    return (
        f"**{pr}**: tested `{meta['tested_sha'][:12]}` (head `{meta['head_sha'][:12]}`), "
        f"compared with `{meta['compared_base'][:12]}` (HEAD^1)\n"
    )


def _metadata_main(args: argparse.Namespace) -> int:
    event_name = os.environ.get("GITHUB_EVENT_NAME", "local")
    try:
        payload = gha.event()
        tested = resolve("HEAD", args.repo)
        base = resolve("HEAD^1", args.repo)
        meta = run_metadata(event_name, payload, tested_sha=tested, compared_base=base)
    except (ValueError, GitError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    write_text(args.output, json.dumps(meta, indent=2, sort_keys=True) + "\n")
    gha.add_summary(summary_markdown(meta))
    print(f"wrote {args.output}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gitops.actions.metadata", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    meta = sub.add_parser("metadata", help="write the run's metadata (PR number, head, base)")
    meta.add_argument("--output", type=Path, required=True)
    meta.add_argument("--repo", type=Path, default=Path())
    meta.set_defaults(func=_metadata_main)
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
