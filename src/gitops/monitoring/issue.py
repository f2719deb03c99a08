"""One GitHub issue that says whether the model's inputs drifted, kept up to date by `gh`.

The scheduled monitor opens the issue when a batch crosses a threshold, rewrites it while
the drift lasts and closes it once the data is back in range, so the team sees one living
issue instead of a new one every run. The decision is the pure `issue_action`; `main` only
reads the report and runs `gh`. Standard library only: the job holding the write token
needs no project dependencies installed.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

Kind = Literal["open", "update", "close", "none"]
TITLE = "Model inputs drifted: monitoring thresholds crossed"
#: GitHub refuses issue bodies over 65,536 characters.
MAX_BODY = 60_000


@dataclass(frozen=True)
class IssueAction:
    kind: Kind
    number: int | None
    why: str


def issue_action(crossed: bool, existing: dict[str, Any] | None) -> IssueAction:
    """What to do with the drift issue given this run's verdict and the issue found, if any.

    Only an open issue counts as existing: after a closed one, new drift opens a new issue
    (closed history stays as it was).
    """
    is_open = existing is not None and str(existing.get("state", "OPEN")).upper() == "OPEN"
    number = int(existing["number"]) if is_open and existing is not None else None
    if crossed and number is None:
        return IssueAction("open", None, "thresholds crossed and no drift issue is open")
    if crossed:
        return IssueAction("update", number, "thresholds still crossed")
    if number is not None:
        return IssueAction("close", number, "the data is back in range")
    return IssueAction("none", None, "in range and no drift issue is open")


def commands(action: IssueAction, *, label: str, body_file: str, note: str) -> list[list[str]]:
    """The `gh` calls (without the program name) that carry out `action`."""
    if action.kind == "open":
        return [
            ["label", "create", label, "--color", "B60205", "--force",
             "--description", "Monitoring: model inputs no longer look like the training data"],
            ["issue", "create", "--title", TITLE, "--label", label, "--body-file", body_file],
        ]  # fmt: skip
    if action.kind == "update":
        n = str(action.number)
        return [
            ["issue", "edit", n, "--body-file", body_file],
            ["issue", "comment", n, "--body", f"Still out of range. {note}".strip()],
        ]
    if action.kind == "close":
        comment = f"Back in range: no monitoring threshold is crossed. {note}".strip()
        return [
            ["issue", "close", str(action.number), "--reason", "completed", "--comment", comment]
        ]
    return []


def body(markdown: str, note: str) -> str:
    text = markdown if len(markdown) <= MAX_BODY else markdown[:MAX_BODY] + "\n\n… (truncated)\n"
    return f"{text.rstrip()}\n\n---\n{note}\n" if note else text


def _gh(gh: str, args: list[str]) -> str:
    proc = subprocess.run([gh, *args], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{gh} {' '.join(args[:2])} failed: {proc.stderr.strip()}")
    return proc.stdout


def find_open(gh: str, label: str) -> dict[str, Any] | None:
    """The oldest open issue with `label`, if any."""
    out = _gh(
        gh,
        ["issue", "list", "--label", label, "--state", "open",
         "--json", "number,state,title,url", "--limit", "20"],
    )  # fmt: skip
    issues = json.loads(out or "[]")
    return min(issues, key=lambda i: int(i["number"])) if issues else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--report", default="reports/monitor.json")
    parser.add_argument("--label", default="model-drift")
    parser.add_argument("--run-url", default="", help="link to the run, added to the issue")
    parser.add_argument("--gh", default="gh", help="GitHub CLI to call")
    args = parser.parse_args(argv)
    report_path = Path(args.report)
    # The Markdown report sits beside the JSON one with the same stem; a stem with a dot
    # (`mon_0.6.json`) keeps it, which `with_suffix` would not for a path given without `.json`.
    stem = report_path.name.removesuffix(".json")
    md_path = report_path.with_name(stem + ".md")
    try:
        crossed = json.loads(report_path.read_text(encoding="utf-8"))["crossed"]
        markdown = md_path.read_text(encoding="utf-8")
    except (OSError, ValueError, KeyError) as exc:
        print(f"drift-issue: {report_path}: no usable monitor report ({exc})", file=sys.stderr)
        return 2
    note = f"Monitoring run: {args.run_url}" if args.run_url else ""
    try:
        action = issue_action(bool(crossed), find_open(args.gh, args.label))
        body_file = report_path.with_name("issue_body.md")
        body_file.write_text(body(markdown, note), encoding="utf-8")
        for call in commands(action, label=args.label, body_file=str(body_file), note=note):
            _gh(args.gh, call)
    except (OSError, RuntimeError, ValueError) as exc:
        print(f"drift-issue: {exc}", file=sys.stderr)
        return 1
    target = f" #{action.number}" if action.number else ""
    print(f"drift-issue: {action.kind}{target}: {action.why}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
