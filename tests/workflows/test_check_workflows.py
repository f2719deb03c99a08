"""`make check-workflows` passes on our workflows and catches what it is there to catch."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitops.actions.workflows import main as shellcheck_main
from gitops.actions.workflows import run_steps, with_placeholders
from support import BIN, ROOT, run

BAD_WORKFLOW = """\
name: bad
on: [pull_request]
permissions: {}
jobs:
  greet:
    runs-on: ubuntu-24.04
    permissions: {}
    steps:
      - name: Greet
        run: |
          echo "${{ github.event.pull_request.title }}"
          cd $HOME/work
"""


def test_check_workflows_passes_on_the_repository() -> None:
    proc = run(["make", "check-workflows"], ROOT)
    assert "No findings to report" in proc.stdout + proc.stderr
    assert "0 with findings" in proc.stdout


def test_run_scripts_are_extracted_with_placeholders(tmp_path: Path) -> None:
    (tmp_path / "bad.yml").write_text(BAD_WORKFLOW)
    (step,) = run_steps(tmp_path / "bad.yml")
    assert step.job == "greet"
    assert step.shell == "bash"
    assert "${{" not in with_placeholders(step.script)
    assert 'echo "GHA_EXPRESSION"' in with_placeholders(step.script)


def test_shellcheck_flags_a_bad_run_script(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "bad.yml").write_text(BAD_WORKFLOW)
    assert shellcheck_main(["shellcheck", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "SC2086" in out  # $HOME unquoted
    assert "1 with findings" in out


def test_zizmor_flags_template_injection(tmp_path: Path) -> None:
    workflows = tmp_path / ".github/workflows"
    workflows.mkdir(parents=True)
    (workflows / "bad.yml").write_text(BAD_WORKFLOW)
    proc = run([str(BIN / "zizmor"), "--offline", str(tmp_path / ".github")], tmp_path, check=False)
    assert proc.returncode != 0
    assert "template-injection" in proc.stdout + proc.stderr
