"""Stage commands run tools/python: the project's interpreter, whatever the caller's PATH."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import yaml

from support import ROOT

LAUNCHER = ROOT / "tools/python"


def test_every_stage_command_runs_the_launcher() -> None:
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    for name, stage in stages.items():
        assert stage["cmd"].startswith("tools/python -m gitops."), name
    assert os.access(LAUNCHER, os.X_OK)


def test_the_launcher_finds_the_project_without_it_on_path(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}  # no .venv/bin, nothing activated
    code = "import sys, gitops, churn; print(sys.prefix)"
    proc = subprocess.run(
        [str(LAUNCHER), "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    assert Path(proc.stdout.strip()).resolve() == (ROOT / ".venv").resolve()


def test_an_environment_named_by_uv_comes_first(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "UV_PROJECT_ENVIRONMENT": str(tmp_path / "missing")}
    proc = subprocess.run(
        [str(LAUNCHER), "-c", "import sys; print(sys.prefix)"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    # A named environment that does not exist is skipped: the checkout's .venv is next.
    assert Path(proc.stdout.strip()).resolve() == (ROOT / ".venv").resolve()


def test_openmp_threads_sleep_when_idle_unless_the_caller_says_otherwise(tmp_path: Path) -> None:
    code = "import os; print(os.environ['OMP_WAIT_POLICY'])"
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    run = [str(LAUNCHER), "-c", code]
    quiet = subprocess.run(run, env=env, capture_output=True, text=True, check=True)
    assert quiet.stdout.strip() == "PASSIVE"
    chosen = {**env, "OMP_WAIT_POLICY": "ACTIVE"}
    kept = subprocess.run(run, env=chosen, capture_output=True, text=True, check=True)
    assert kept.stdout.strip() == "ACTIVE"
