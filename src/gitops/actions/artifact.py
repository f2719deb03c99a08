"""Checks on the CI artifact before the PR comment workflow trusts a byte of it.

The artifact was written by code from the pull request, possibly from a fork: anything in it
may be hostile. This module runs with the standard library alone (the comment workflow has no
project environment) and accepts only: a flat folder, the expected file names, regular files,
bounded sizes, UTF-8 text, an integer PR number and the head commit GitHub says the run built.

    python -m gitops.actions.artifact verify --dir DIR --head-sha SHA --comment OUT.md

`confirm_pull` (used by gitops.actions.comment) then checks the API's view of the PR.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import stat
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gitops import gha
from gitops.files import write_text
from gitops.review.marker import MARKER, MAX_COMMENT_CHARS, too_long_body

METADATA = "ci_metadata.json"
REPORT = "pr_report.md"
REPORT_JSON = "pr_report.json"
ALLOWED = frozenset({METADATA, REPORT, REPORT_JSON})
# GitHub rejects comment bodies over 65,536 characters (code points, not bytes); leave room
# for the note above the report when the run failed.
MAX_REPORT_CHARS = MAX_COMMENT_CHARS - 1_000
#: UTF-8 spends at most 4 bytes on a character: a file larger than this cannot fit anyway.
UTF8_MAX = 4
MAX_METADATA_BYTES = 4_096
MAX_TOTAL_BYTES = 1_048_576
SHA_RE = re.compile(r"[0-9a-f]{40}")
REPO_RE = re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+")


class ArtifactError(ValueError):
    """The artifact breaks a rule; the message names the file and the rule."""


@dataclass(frozen=True)
class Verified:
    pr_number: int
    head_sha: str
    report: str | None
    #: Characters of a report too long to post (its text is then dropped), else None.
    too_long: int | None = None


def _regular_files(root: Path) -> dict[str, int]:
    """Name → size of every entry, refusing anything but regular files directly in `root`."""
    if root.is_symlink() or not root.is_dir():
        raise ArtifactError(f"{root}: the artifact must be a plain folder")
    sizes: dict[str, int] = {}
    with os.scandir(root) as entries:
        for entry in entries:
            st = entry.stat(follow_symlinks=False)
            if stat.S_ISLNK(st.st_mode):
                raise ArtifactError(f"{entry.name}: symbolic links are not accepted")
            if stat.S_ISDIR(st.st_mode):
                raise ArtifactError(f"{entry.name}/: nested folders are not accepted")
            if not stat.S_ISREG(st.st_mode):
                raise ArtifactError(f"{entry.name}: not a regular file")
            if entry.name not in ALLOWED:
                allowed = ", ".join(sorted(ALLOWED))
                raise ArtifactError(f"{entry.name!r}: unexpected file (allowed: {allowed})")
            sizes[entry.name] = st.st_size
    return sizes


def _read_text(root: Path, name: str, limit: int) -> str:
    data = (root / name).read_bytes()
    if len(data) > limit:
        raise ArtifactError(f"{name}: {len(data)} bytes, over the {limit}-byte limit")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ArtifactError(f"{name}: not UTF-8 text (byte {exc.start}: {exc.reason})") from exc


def parse_metadata(text: str) -> tuple[int, str]:
    """(PR number, head SHA) from the metadata file, strictly typed."""
    try:
        meta = json.loads(text)
    except ValueError as exc:
        raise ArtifactError(f"{METADATA}: not valid JSON ({exc})") from exc
    if not isinstance(meta, dict):
        raise ArtifactError(f"{METADATA}: expected a JSON object")
    if meta.get("event") != "pull_request":
        raise ArtifactError(f"{METADATA}: field event must be 'pull_request'")
    pr = meta.get("pr_number")
    if isinstance(pr, bool) or not isinstance(pr, int) or not 0 < pr < 2**31:
        raise ArtifactError(f"{METADATA}: pr_number must be a positive integer, got {pr!r}")
    head = meta.get("head_sha")
    if not isinstance(head, str) or not SHA_RE.fullmatch(head):
        raise ArtifactError(f"{METADATA}: field head_sha must be a 40-character hex SHA")
    return pr, head


def verify_artifact(
    root: Path,
    *,
    run_head_sha: str,
    max_report_chars: int = MAX_REPORT_CHARS,
    max_total_bytes: int = MAX_TOTAL_BYTES,
) -> Verified:
    """Accept the artifact only if it is what our CI writes, for the commit GitHub ran.

    A report over `max_report_chars` characters is not an error of the artifact: it is
    accepted without its text, so the comment can say it was too long and link the run.
    """
    sizes = _regular_files(root)
    total = sum(sizes.values())
    if total > max_total_bytes:
        raise ArtifactError(f"artifact: {total} bytes in all, over the {max_total_bytes} limit")
    if METADATA not in sizes:
        raise ArtifactError(f"{METADATA}: missing")
    pr, head = parse_metadata(_read_text(root, METADATA, MAX_METADATA_BYTES))
    if head != run_head_sha:
        raise ArtifactError(
            f"{METADATA}: head_sha {head} is not the commit the workflow run built ({run_head_sha})"
        )
    report = _read_text(root, REPORT, max_total_bytes) if REPORT in sizes else None
    if REPORT_JSON in sizes:
        _read_text(root, REPORT_JSON, max_total_bytes)
    if report is not None and len(report) > max_report_chars:
        return Verified(pr_number=pr, head_sha=head, report=None, too_long=len(report))
    return Verified(pr_number=pr, head_sha=head, report=report)


def comment_body(verified: Verified, *, conclusion: str, run_url: str) -> str:
    """The report as written, or a short note when the run stopped before writing one.

    The report job does not wait for the tests, so a report can stand next to a failed run:
    the comment then says, above the report, that the run failed and where to look.
    """
    if verified.too_long is not None:
        return too_long_body(
            verified.too_long, run_url, f"The report for `{verified.head_sha[:12]}`"
        )
    if verified.report is None:
        return (
            "## Model report\n\n"
            f"The CI run for `{verified.head_sha[:12]}` finished with **{conclusion}** before "
            f"the report was written (the pipeline or the report step failed). "
            f"Details: {run_url}\n\n{MARKER}\n"
        )
    if conclusion == "success":
        return verified.report
    return (
        f"> [!WARNING]\n> The CI run finished with **{conclusion}**: a gate, the tests or lint "
        f"failed. Details: {run_url}\n\n{verified.report}"
    )


def confirm_pull(
    pull: dict[str, Any], *, pr_number: int, head_sha: str, head_repo: str
) -> tuple[bool, str]:
    """Whether to post on PR `pr_number`, from the API's view of it.

    A PR that moved on to a newer commit is skipped (that commit's run will post); a PR whose
    head lives in another repository than the run's is refused: the number was forged.
    """
    if pull.get("number") != pr_number:
        raise ArtifactError(f"API answer is for PR {pull.get('number')!r}, not #{pr_number}")
    head = pull.get("head") or {}
    repo = ((head.get("repo") or {}).get("full_name")) or ""
    if repo.lower() != head_repo.lower():
        raise ArtifactError(
            f"PR #{pr_number} comes from {repo or 'a deleted repository'}, "
            f"but the run built a commit of {head_repo}"
        )
    if pull.get("state") != "open":
        return False, f"PR #{pr_number} is {pull.get('state')}; no comment posted"
    if head.get("sha") != head_sha:
        return False, (
            f"PR #{pr_number} has moved on to {str(head.get('sha'))[:12]}; "
            "the run for that commit will post its own report"
        )
    return True, f"PR #{pr_number} head is {head_sha[:12]}, the commit this run built"


def _verify_main(args: argparse.Namespace) -> int:
    if not SHA_RE.fullmatch(args.head_sha):
        print(f"error: --head-sha {args.head_sha!r} is not a commit SHA", file=sys.stderr)
        return 2
    try:
        verified = verify_artifact(
            args.dir, run_head_sha=args.head_sha, max_report_chars=args.max_report_chars
        )
    except (ArtifactError, OSError) as exc:
        print(f"error: artifact rejected: {exc}", file=sys.stderr)
        gha.add_summary(f"Artifact rejected, no comment posted: {exc}")
        return 2
    if args.comment.resolve().is_relative_to(args.dir.resolve()):
        print("error: --comment must be written outside the artifact folder", file=sys.stderr)
        return 2
    body = comment_body(verified, conclusion=args.conclusion, run_url=args.run_url)
    write_text(args.comment, body)
    gha.set_outputs({"pr": str(verified.pr_number), "head_sha": verified.head_sha})
    print(f"artifact accepted: PR #{verified.pr_number}, head {verified.head_sha}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gitops.actions.artifact", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    v = sub.add_parser("verify", help="check the downloaded artifact and write the comment body")
    v.add_argument("--dir", type=Path, required=True)
    v.add_argument("--head-sha", required=True, help="workflow_run.head_sha, from GitHub")
    v.add_argument("--comment", type=Path, required=True)
    v.add_argument("--conclusion", default="failure")
    v.add_argument("--run-url", default="")
    v.add_argument(
        "--max-report-chars",
        type=int,
        default=MAX_REPORT_CHARS,
        help="characters, as GitHub counts",
    )
    v.set_defaults(func=_verify_main)
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
