"""Where a CI job's minutes go: step start times, and a timeline in the job summary.

The report job is the one a pull request waits for, so its time is worth seeing on every
run, not only in a log nobody opens. Each step starts with a mark; the last step writes the
summary: one row per step (start offset, duration, share of the job) and a Mermaid Gantt
chart GitHub draws. Only the standard library is used and nothing is installed first, so
the first mark comes before the environment is set up and the install is measured too.

    python -m gitops.actions.timeline mark "Reproduce the pipeline"
    python -m gitops.actions.timeline summary

Marks go to TIMELINE_FILE, default $RUNNER_TEMP/timeline.jsonl (reports/timeline.jsonl
outside Actions): one JSON object per line, appended, so a step that dies loses nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from gitops import gha


@dataclass(frozen=True)
class Step:
    """One step of the job: when it started and how long it ran, in seconds."""

    name: str
    start: float
    seconds: float


def default_path() -> Path:
    """The marks' file: a variable names it, else the runner's temp folder, else reports/."""
    named = os.environ.get("TIMELINE_FILE")
    if named:
        return Path(named)
    temp = os.environ.get("RUNNER_TEMP")
    return Path(temp) / "timeline.jsonl" if temp else Path("reports/timeline.jsonl")


def mark(path: Path, step: str, *, at: float | None = None) -> None:
    """Record that `step` starts now (or `at`); it ends where the next mark starts."""
    if not step.strip():
        raise ValueError("timeline mark: the step needs a name")
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps({"step": step, "at": time.time() if at is None else at})
    with path.open("a", encoding="utf-8") as fh:
        fh.write(line + "\n")


def read_marks(path: Path) -> list[tuple[str, float]]:
    """The marks in order of time; a line that is not a mark is an error naming its line."""
    marks = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            marks.append((str(item["step"]), float(item["at"])))
        except (ValueError, KeyError, TypeError) as exc:
            reason = f"{path}: line {number}: not a timeline mark ({exc}): {line!r}"
            raise ValueError(reason) from exc
    return sorted(marks, key=lambda m: m[1])


def steps(marks: list[tuple[str, float]], end: float) -> list[Step]:
    """Each mark becomes a step lasting until the next mark; the last one until `end`."""
    out = []
    for i, (name, start) in enumerate(marks):
        stop = marks[i + 1][1] if i + 1 < len(marks) else max(end, start)
        out.append(Step(name, start, stop - start))
    return out


def _clock(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes}:{secs:02d}"


def _label(name: str) -> str:
    """A step's name as a Gantt task: `:`, `;` and `#` would end or break the line."""
    return "".join(" " if c in ":;#" else c for c in name).strip() or "step"


def render(timeline: list[Step]) -> str:
    """The job summary's section: a table of the steps and a Gantt chart of the same."""
    if not timeline:
        return "### Timeline\n\nNo step was marked.\n"
    origin = timeline[0].start
    total = sum(s.seconds for s in timeline)
    rows = [
        f"| {s.name} | +{_clock(s.start - origin)} | {_clock(s.seconds)} | "
        f"{100 * s.seconds / total if total else 0:.0f}% |"
        for s in timeline
    ]
    # Mermaid's Gantt takes seconds since the epoch (dateFormat X) and durations in seconds.
    bars = [
        f"    {_label(s.name)} : {round(s.start)}, {max(1, round(s.seconds))}s" for s in timeline
    ]
    return "\n".join(
        [
            f"### Timeline: {_clock(total)} from the first mark",
            "",
            "| step | started | took | share |",
            "|---|---:|---:|---:|",
            *rows,
            "",
            "```mermaid",
            "gantt",
            "    dateFormat X",
            "    axisFormat %M:%S",
            *bars,
            "```",
            "",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", type=Path, default=None, help="the marks (default: see above)")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("mark", help="a step starts now").add_argument("step")
    sub.add_parser("summary", help="write the timeline to the job summary (and stdout)")
    args = parser.parse_args(argv)
    path = args.file or default_path()
    if args.command == "mark":
        try:
            mark(path, args.step)
        except ValueError as exc:
            print(f"timeline: {exc}", file=sys.stderr)
            return 2
        return 0
    try:
        marks = read_marks(path) if path.is_file() else []
    except ValueError as exc:
        # The summary only reports: a damaged file is shown, never a reason to fail the job.
        print(gha.annotation("warning", f"timeline: {exc}"), file=sys.stderr)
        return 0
    text = render(steps(marks, time.time()))
    print(text, end="")
    gha.add_summary(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
