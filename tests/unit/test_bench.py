"""Measuring commands: real child processes, real memory, real CPU time."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from gitops import bench

ALLOCATE = "b = bytearray(300 * 1024 * 1024); b[::4096] = b'x' * len(b[::4096]); print('done')"


def test_measure_reports_peak_memory_cpu_and_output(tmp_path: Path) -> None:
    spin = "import time\nt = time.process_time()\nwhile time.process_time() - t < 0.3: pass\n"
    m = bench.measure([sys.executable, "-c", spin + ALLOCATE], tmp_path)
    assert m.returncode == 0
    assert m.peak_mib >= 300
    assert m.cpu_s >= 0.3
    assert m.wall_s >= m.cpu_s * 0.5
    assert "done" in m.output


def test_measure_counts_grandchildren_like_a_stage_under_dvc(tmp_path: Path) -> None:
    parent = textwrap.dedent(
        f"""
        import subprocess, sys
        subprocess.run([sys.executable, "-c", {ALLOCATE!r}], check=True)
        """
    )
    m = bench.measure([sys.executable, "-c", parent], tmp_path)
    assert m.peak_mib >= 300
    assert "done" in m.output


def test_failed_step_raises_with_its_output(tmp_path: Path) -> None:
    cmd = [sys.executable, "-c", "import sys; print('broken input'); sys.exit(3)"]
    with pytest.raises(bench.StepFailedError, match=r"exited 3[\s\S]*broken input"):
        bench.measure(cmd, tmp_path)
    assert bench.measure(cmd, tmp_path, check=False).returncode == 3


def test_timeout_kills_the_step(tmp_path: Path) -> None:
    m = bench.measure(
        [sys.executable, "-c", "import time; time.sleep(30)"], tmp_path, check=False, timeout_s=0.5
    )
    assert m.returncode != 0
    assert m.wall_s < 10


def test_table_and_doc_section() -> None:
    table = bench.markdown_table(["step", "wall s"], [["train", 12.345], ["report", None]])
    assert table.splitlines()[1] == "| --- | ---: |"
    assert "| train | 12.35 |" in table
    assert "| report | – |" in table
    doc = "# Title\n<!-- a -->\nold\n<!-- b -->\nafter\n"
    assert bench.replace_between(doc, "<!-- a -->", "<!-- b -->", "new") == (
        "# Title\n<!-- a -->\nnew\n<!-- b -->\nafter\n"
    )
    with pytest.raises(ValueError, match="markers"):
        bench.replace_between("no markers", "<!-- a -->", "<!-- b -->", "new")


def test_machine_and_versions_describe_this_host() -> None:
    info = bench.machine()
    assert int(info["cores"]) >= 1
    assert info["Python"].startswith("3.")
    versions = bench.versions(["numpy", "surely-not-a-package-name"])
    assert versions["numpy"][0].isdigit()
    assert versions["surely-not-a-package-name"] == "not installed"
