"""The test tiers: the fast tier cannot start slow programs, and the tools point at it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

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
    assert xdist == "-n $(shell expr $(CORES) + 1) --dist loadscope --no-loadscope-reorder"
    assert re.search(r"^PYTEST := PYTHONDONTWRITEBYTECODE= \$\(BIN\)/pytest$", makefile, re.M)
    assert re.search(r"^tests: install .*\n\t\$\(PYTEST\) \$\(XDIST\)$", makefile, re.M)


MODULES = {
    "test_a.py": "import time\n\ndef test_a():\n    time.sleep(0.3)\n",
    "test_b.py": "import pytest\n\n@pytest.mark.slow\ndef test_b():\n    pass\n",
    "test_c.py": "def test_c1():\n    pass\n\ndef test_c2():\n    pass\n",
}


def _ran(folder: Path) -> list[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-v", "-p", "module_order", "-o", "markers=slow: s",
         "--rootdir", str(folder), str(folder)],
        cwd=folder, capture_output=True, text=True, check=True,
        env={**os.environ, "PYTHONPATH": str(ROOT / "tests"),
             "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"},
    )  # fmt: skip
    return re.findall(r"^(test_\w+\.py::\w+) PASSED", proc.stdout, re.MULTILINE)


def test_modules_run_longest_first_by_the_last_runs_times(tmp_path: Path) -> None:
    for name, text in MODULES.items():
        (tmp_path / name).write_text(text)
    # Not timed yet: the slow-marked module first, the others in file order.
    assert _ran(tmp_path) == ["test_b.py::test_b", "test_a.py::test_a",
                              "test_c.py::test_c1", "test_c.py::test_c2"]  # fmt: skip
    # Timed: the module that took 0.3 s first; a module's tests stay together, in order.
    timed = _ran(tmp_path)
    assert timed[0] == "test_a.py::test_a"
    assert timed[1:] in (
        ["test_b.py::test_b", "test_c.py::test_c1", "test_c.py::test_c2"],
        ["test_c.py::test_c1", "test_c.py::test_c2", "test_b.py::test_b"],
    )
