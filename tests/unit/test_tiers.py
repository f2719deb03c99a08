"""The test tiers: the fast tier cannot start slow programs, and the tools point at it."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
import yaml

from conftest import FAST_TIER, SLOW_PROGRAMS, _program
from support import ROOT


@pytest.mark.parametrize("program", ["make", "dvc", "pre-commit"])
def test_a_fast_tier_test_that_starts_a_slow_program_fails(program: str) -> None:
    with pytest.raises(AssertionError, match=rf"starts `{program}`: mark it @pytest.mark.process"):
        subprocess.run([f"/usr/bin/{program}", "--version"], capture_output=True, check=False)


def test_other_programs_still_run_in_the_fast_tier() -> None:
    proc = subprocess.run([sys.executable, "-c", "print(42)"], capture_output=True, text=True)
    assert proc.stdout == "42\n"


def test_the_program_is_read_from_lists_and_shell_strings() -> None:
    assert _program(["/x/.venv/bin/dvc", "repro"]) == "dvc"
    assert _program("make --no-print-directory check-lock") == "make"
    assert _program([ROOT / ".venv/bin/pre-commit", "run"]) == "pre-commit"
    assert {"make", "dvc", "pre-commit"} <= SLOW_PROGRAMS


def test_make_test_fast_and_the_hook_run_the_tier_the_guard_holds() -> None:
    makefile = (ROOT / "Makefile").read_text()
    (tier,) = re.findall(r"^FAST_TIER := (.+)$", makefile, re.MULTILINE)
    assert tier.split()[:2] == [f"tests/{t}" for t in FAST_TIER]
    assert '-m "not process"' in tier
    assert re.search(r"^test-fast: install ## ", makefile, re.MULTILINE)
    hooks = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())["repos"][0]["hooks"]
    (fast,) = [h for h in hooks if h["id"] == "test-fast"]
    assert fast["entry"] == "make --no-print-directory test-fast"
    assert fast["pass_filenames"] is False
    assert re.match(fast["files"], "src/gitops/metrics.py")
    assert not re.match(fast["files"], "docs/report.md")


def test_the_whole_suite_runs_a_worker_more_than_cores_keeping_modules_together() -> None:
    makefile = (ROOT / "Makefile").read_text()
    (cores,) = re.findall(r"^CORES := (.+)$", makefile, re.MULTILINE)
    assert cores == "$(shell getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2)"
    (xdist,) = re.findall(r"^XDIST \?= (.+)$", makefile, re.MULTILINE)
    assert xdist == "-n $(shell expr $(CORES) + 1) --dist loadscope"
    assert re.search(r"^tests: install .*\n\t\$\(BIN\)/pytest \$\(XDIST\)$", makefile, re.M)
