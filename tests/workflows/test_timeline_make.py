"""The report job's timeline targets run on a bare runner, before anything is installed."""

from __future__ import annotations

from pathlib import Path

from runner import Runner
from support import copy_repo


def test_timeline_marks_and_summarises_without_an_environment(
    runner: Runner, tmp_path: Path
) -> None:
    repo = copy_repo(tmp_path / "repo", with_results=False)
    first = runner.make("timeline", repo, "STEP=Install the pipeline group")
    assert first.returncode == 0, first.stderr
    assert runner.make("timeline", repo, "STEP=Reproduce the pipeline").returncode == 0
    assert not (repo / ".venv").exists(), "marking a step must not install anything"
    marks = (runner.tmp / "temp" / "timeline.jsonl").read_text().splitlines()
    assert len(marks) == 2
    done = runner.make("timeline-summary", repo)
    assert done.returncode == 0, done.stderr
    assert "| Install the pipeline group | +0:00 |" in runner.summary
    assert "| Reproduce the pipeline |" in runner.summary
    assert not (repo / ".venv").exists()
    refused = runner.make("timeline", repo)
    assert refused.returncode != 0
    assert 'usage: make timeline STEP="<step name>"' in refused.stderr
