"""The drift issue: open, update, close or leave alone, and the `gh` calls that do it."""

from __future__ import annotations

import json
import stat
import sys
from pathlib import Path

import pytest

from gitops.monitoring.issue import IssueAction, commands, issue_action, main

OPEN = {"number": 7, "state": "OPEN", "title": "Model inputs drifted"}


@pytest.mark.parametrize(
    ("crossed", "existing", "kind", "number"),
    [
        (True, None, "open", None),
        (True, OPEN, "update", 7),
        (False, OPEN, "close", 7),
        (False, None, "none", None),
        (True, OPEN | {"state": "CLOSED"}, "open", None),  # closed history stays closed
        (False, OPEN | {"state": "closed"}, "none", None),
    ],
)
def test_issue_action_covers_every_case(
    crossed: bool, existing: dict | None, kind: str, number: int | None
) -> None:
    action = issue_action(crossed, existing)
    assert (action.kind, action.number) == (kind, number)
    assert action.why


def test_commands_for_each_action() -> None:
    kw = {"label": "model-drift", "body_file": "b.md", "note": "run 1"}
    opened = commands(IssueAction("open", None, ""), **kw)
    assert opened[0][:3] == ["label", "create", "model-drift"]
    assert opened[1][:2] == ["issue", "create"]
    assert opened[1][4:6] == ["--label", "model-drift"]
    updated = commands(IssueAction("update", 7, ""), **kw)
    assert [c[:3] for c in updated] == [["issue", "edit", "7"], ["issue", "comment", "7"]]
    closed = commands(IssueAction("close", 7, ""), **kw)
    assert closed[0][:3] == ["issue", "close", "7"]
    assert "Back in range" in closed[0][-1]
    assert commands(IssueAction("none", None, ""), **kw) == []


FAKE_GH = """#!{python}
# Stands in for the GitHub CLI: logs each call, answers `issue list` from a file.
import json, os, sys
with open(os.environ["GH_LOG"], "a") as log:
    log.write(json.dumps(sys.argv[1:]) + "\\n")
if sys.argv[1:3] == ["issue", "list"]:
    print(open(os.environ["GH_ISSUES"]).read())
"""


@pytest.fixture
def fake_gh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    gh = tmp_path / "gh"
    gh.write_text(FAKE_GH.format(python=sys.executable))
    gh.chmod(gh.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("GH_LOG", str(tmp_path / "calls.jsonl"))
    monkeypatch.setenv("GH_ISSUES", str(tmp_path / "issues.json"))
    return gh


def _calls(tmp_path: Path) -> list[list[str]]:
    log = tmp_path / "calls.jsonl"
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def _reports(tmp_path: Path, crossed: bool) -> Path:
    report = tmp_path / "reports" / "monitor.json"
    report.parent.mkdir(exist_ok=True)
    report.write_text(json.dumps({"crossed": crossed}))
    report.with_suffix(".md").write_text("## Model monitoring\n")
    return report


@pytest.mark.parametrize(
    ("crossed", "issues", "verbs"),
    [
        (True, [], [["issue", "list"], ["label", "create"], ["issue", "create"]]),
        (True, [OPEN], [["issue", "list"], ["issue", "edit"], ["issue", "comment"]]),
        (False, [OPEN], [["issue", "list"], ["issue", "close"]]),
        (False, [], [["issue", "list"]]),
    ],
)
def test_main_runs_the_gh_calls_of_the_decision(
    tmp_path: Path, fake_gh: Path, crossed: bool, issues: list, verbs: list
) -> None:
    (tmp_path / "issues.json").write_text(json.dumps(issues))
    report = _reports(tmp_path, crossed)
    code = main(["--report", str(report), "--gh", str(fake_gh), "--run-url", "https://run/1"])
    assert code == 0
    calls = _calls(tmp_path)
    assert [c[:2] for c in calls] == verbs
    if crossed:
        body = (tmp_path / "reports" / "issue_body.md").read_text()
        assert body.startswith("## Model monitoring")
        assert "https://run/1" in body


def test_main_without_a_report_touches_no_issue(tmp_path: Path, fake_gh: Path) -> None:
    code = main(["--report", str(tmp_path / "missing.json"), "--gh", str(fake_gh)])
    assert code == 2
    assert _calls(tmp_path) == []


def test_main_reports_a_failing_gh(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    failing = tmp_path / "gh"
    failing.write_text("#!/bin/sh\necho 'HTTP 403: Resource not accessible' >&2\nexit 1\n")
    failing.chmod(0o755)
    report = _reports(tmp_path, True)
    assert main(["--report", str(report), "--gh", str(failing)]) == 1
    assert "HTTP 403" in capsys.readouterr().err
