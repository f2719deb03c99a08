"""`make check-workflows` passes on our workflows and catches what it is there to catch."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gitops.actions.workflows import main as shellcheck_main
from gitops.actions.workflows import run_steps, with_placeholders, workflow_files
from runner import Checkout, Runner, clone
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


# Valid for the workflow JSON schema and for zizmor; wrong for actionlint: the job it needs
# does not exist, and the step output it reads is of a step that has no id.
NEEDS_A_MISSING_JOB = """\
name: broken
on: [push]
permissions: {}
jobs:
  deploy:
    needs: build
    runs-on: ubuntu-24.04
    timeout-minutes: 5
    permissions: {}
    steps:
      - run: echo "${VERSION}"
        env:
          VERSION: ${{ steps.plan.outputs.version }}
"""


def test_check_workflows_passes_on_the_repository(runner: Runner, merge_checkout: Checkout) -> None:
    """As lint-workflows.yml calls it, online audits asked for, where the token is empty (act,
    a fork owner's laptop): zizmor falls back to its offline audits and every check passes."""
    job = runner.with_env(GH_TOKEN="")
    proc = job.make("check-workflows", merge_checkout.path, "ZIZMOR_FLAGS=")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert "zizmor: no GH_TOKEN, offline audits only" in proc.stderr
    assert "zizmor  --offline .github" in proc.stdout
    assert "No findings to report" in out
    assert "All workflow files passed lint checks" in out  # actionlint
    assert "0 with findings" in out  # shellcheck -o all


def test_actionlint_catches_what_the_schema_and_zizmor_accept(
    runner: Runner, merge_checkout: Checkout, tmp_path: Path
) -> None:
    checkout = clone(merge_checkout.path, tmp_path / "checkout", branch="pull/7/merge")
    (checkout / ".github/workflows/broken.yml").write_text(NEEDS_A_MISSING_JOB)
    proc = runner.make("check-workflows", checkout)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "ok -- validation done" in out, "the JSON schema accepts it"
    assert "broken.yml" in out
    assert 'job "deploy" needs job "build" which does not exist' in out


def test_every_shellcheck_exclusion_says_why_on_its_line() -> None:
    for path in workflow_files(ROOT / ".github/workflows"):
        for n, line in enumerate(path.read_text().splitlines(), start=1):
            m = re.search(r"shellcheck\s+disable=([\w,]+)(.*)$", line)
            if m:
                assert re.match(r"\s*#\s*\S.{9,}", m.group(2)), f"{path.name}:{n}: no reason"


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
    assert "run:2:4: note: Double quote to prevent globbing" in out  # $HOME, line 2
    assert "SC2250" in out  # an optional check: `-o all` is on
    assert "1 with findings" in out


def test_shellcheck_knows_the_variables_a_step_is_given(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "env.yml").write_text(
        "on: [push]\njobs:\n  j:\n    runs-on: ubuntu-24.04\n    steps:\n"
        "      - env:\n          TAG: v1\n"
        '        run: echo "${TAG}" "${GITHUB_SHA}" "${TAGG}"\n'
    )
    assert shellcheck_main(["shellcheck", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "TAGG is referenced but not assigned" in out
    assert "TAG is referenced" not in out.replace("TAGG", "")
    assert "GITHUB_SHA" not in out


def test_zizmor_flags_template_injection(tmp_path: Path) -> None:
    workflows = tmp_path / ".github/workflows"
    workflows.mkdir(parents=True)
    (workflows / "bad.yml").write_text(BAD_WORKFLOW)
    proc = run([str(BIN / "zizmor"), "--offline", str(tmp_path / ".github")], tmp_path, check=False)
    assert proc.returncode != 0
    assert "template-injection" in proc.stdout + proc.stderr
