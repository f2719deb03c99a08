"""Helpers for tests of the GitHub workflows' commands: a runner-like environment and make."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from support import ROOT

# The uv the Makefile would use: one on PATH (CI's setup-uv), else the bootstrapped one.
UV = shutil.which("uv") or str(ROOT / ".tools/bin/uv")


@dataclass(frozen=True)
class Checkout:
    path: Path
    merge: str  # what CI tests: the PR merged into its base
    base: str  # HEAD^1, the base branch the merge was built on
    head: str  # HEAD^2, the PR's own head commit


def github_env(tmp_path: Path, event_name: str, payload: dict[str, object]) -> dict[str, str]:
    """Environment of a step on a GitHub runner, with its event, output and summary files."""
    event = tmp_path / "event.json"
    event.write_text(json.dumps(payload))
    (tmp_path / "summary.md").touch()
    (tmp_path / "output.txt").touch()
    env = {k: v for k, v in os.environ.items() if not k.startswith("GITHUB_")}
    env.update(
        GITHUB_ACTIONS="true",
        GITHUB_EVENT_NAME=event_name,
        GITHUB_EVENT_PATH=str(event),
        GITHUB_STEP_SUMMARY=str(tmp_path / "summary.md"),
        GITHUB_OUTPUT=str(tmp_path / "output.txt"),
        GITHUB_REPOSITORY="acme/churn",
        GITHUB_SERVER_URL="https://github.com",
        GITHUB_RUN_ID="4242",
    )
    return env


def make(
    target: str, repo: Path, env: dict[str, str], *args: str
) -> subprocess.CompletedProcess[str]:
    """`make <target>` in a checkout that shares this project's installed environment."""
    return subprocess.run(
        ["make", "-o", ".venv/.synced", target, f"UV={UV}", *args],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
