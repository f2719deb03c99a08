"""The CI job timeline: marks appended to a file, steps measured between them, the summary."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gitops.actions import timeline


def test_each_step_lasts_until_the_next_mark_and_the_last_until_the_end(tmp_path: Path) -> None:
    path = tmp_path / "t" / "timeline.jsonl"
    timeline.mark(path, "Install", at=1000.0)
    timeline.mark(path, "Reproduce the pipeline", at=1012.5)
    timeline.mark(path, "Review report", at=1072.0)
    steps = timeline.steps(timeline.read_marks(path), end=1080.0)
    assert [(s.name, s.seconds) for s in steps] == [
        ("Install", 12.5),
        ("Reproduce the pipeline", 59.5),
        ("Review report", 8.0),
    ]


def test_marks_are_appended_so_an_earlier_step_is_never_lost(tmp_path: Path) -> None:
    path = tmp_path / "timeline.jsonl"
    timeline.mark(path, "a", at=1.0)
    first = path.read_bytes()
    timeline.mark(path, "b", at=2.0)
    assert path.read_bytes().startswith(first)
    assert [json.loads(line)["step"] for line in path.read_text().splitlines()] == ["a", "b"]


def test_the_summary_has_a_row_per_step_and_a_gantt_chart() -> None:
    steps = [timeline.Step("Install: pipeline", 100.0, 30.0), timeline.Step("Run", 130.0, 90.0)]
    text = timeline.render(steps)
    assert "### Timeline: 2:00 from the first mark" in text
    assert "| Install: pipeline | +0:00 | 0:30 | 25% |" in text
    assert "| Run | +0:30 | 1:30 | 75% |" in text
    assert "```mermaid\ngantt\n    dateFormat X" in text
    # A colon would end the task's name in Mermaid: it is replaced in the chart only.
    assert "    Install  pipeline : 100, 30s" in text
    assert "    Run : 130, 90s" in text


def test_a_damaged_line_is_named_by_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "timeline.jsonl"
    path.write_text('{"step": "a", "at": 1}\nnot json\n')
    with pytest.raises(ValueError, match=r"timeline\.jsonl: line 2: not a timeline mark"):
        timeline.read_marks(path)


def test_a_step_needs_a_name(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="needs a name"):
        timeline.mark(tmp_path / "t.jsonl", "  ")
    assert not (tmp_path / "t.jsonl").exists()


def test_the_command_writes_the_job_summary_and_warns_on_damage(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    summary = tmp_path / "summary.md"
    summary.write_text("# Report\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    monkeypatch.setenv("RUNNER_TEMP", str(tmp_path))
    monkeypatch.delenv("TIMELINE_FILE", raising=False)
    assert timeline.main(["mark", "Reproduce the pipeline"]) == 0
    assert (tmp_path / "timeline.jsonl").is_file()
    assert timeline.main(["summary"]) == 0
    text = summary.read_text()
    assert text.startswith("# Report\n### Timeline")  # appended, the report is kept
    assert "| Reproduce the pipeline | +0:00 |" in text
    (tmp_path / "timeline.jsonl").write_text("{}\n")
    capsys.readouterr()
    assert timeline.main(["summary"]) == 0  # a summary never fails the job
    assert "::warning::timeline:" in capsys.readouterr().err
    assert timeline.main(["mark", ""]) == 2


def test_no_marks_say_so(tmp_path: Path) -> None:
    assert "No step was marked" in timeline.render([])
    assert timeline.default_path().name == "timeline.jsonl"
