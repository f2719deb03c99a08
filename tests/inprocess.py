"""`dvc` run in the test's own process, and the project's stage commands with it.

A real `dvc repro` starts DVC, then a Python per stage that imports pandas, scipy and
scikit-learn again: 1-4 CPU-seconds of imports per stage, where the work on the sample is a
fraction of that. Scenario tests (a report after a change, a damaged export) need what the
pipeline makes of the change, not the process boundary, so they run DVC's own command-line
entry point here: DVC parses the arguments, decides what is stale, removes what it removes,
runs the stages, hashes the outputs, writes dvc.lock and prints what its CLI prints. Only a
stage command of the form `tools/python -m <module> <args>` (every stage of dvc.yaml) runs
as `<module>.main(<args>)` in this process, in the stage's working directory; DVC runs any
other command as it always does.

What crosses a process boundary keeps tests of its own with the real CLI: the pipeline from
scratch with no network (tests/conftest.py), a stage killed mid-write (test_failure_modes,
test_damaged_inputs), `make run` on a runner (test_remote_cache) and an experiment
(test_experiment). Project commands (`python_m`) and GTO's command line (`gto`) run here
the same way; `make release` (test_release_make) still starts them as CI does.
"""

from __future__ import annotations

import importlib
import io
import logging
import os
import shlex
import subprocess
import sys
import traceback
from collections.abc import Iterator
from contextlib import chdir, contextmanager, redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any
from unittest import mock

LAUNCHER = "tools/python"  # what every stage command of dvc.yaml starts with
DVC_LOGGERS = ("dvc", "dvc_objects", "dvc_data")


def dvc(
    repo: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`dvc <args>` in `repo`, as the CLI would run it; stdout holds all it printed, in order.

    DVC's messages, the stages' output and the error DVC ends with all go to one stream, as
    `2>&1` would show them; stderr is empty. `env`: variables set for this run only (a
    remote's credentials, as a shell would export them).
    """
    from dvc.cli import main  # imported once per process: the cost every CLI run pays
    from dvc.stage import run as stage_run

    said = io.StringIO()
    shell_run = stage_run._run

    def run_command(executable: str | None, cmd: str, **kwargs: Any) -> None:
        argv = shlex.split(cmd)
        if argv[:2] != [LAUNCHER, "-m"]:
            shell_run(executable, cmd, **kwargs)
            return
        code = _call(argv[2], argv[3:], Path(kwargs["cwd"]))
        if code != 0:
            from dvc.stage.exceptions import StageCmdFailedError

            raise StageCmdFailedError(cmd, code)

    with (
        chdir(repo),
        _dvc_logs_into(said),
        redirect_stdout(said),
        redirect_stderr(said),
        mock.patch.object(stage_run, "_run", run_command),
        mock.patch.dict(os.environ, env or {}),
    ):
        code = main(list(args))
    return subprocess.CompletedProcess(["dvc", *args], code, said.getvalue(), "")


def python_m(
    module: str, args: list[str], cwd: Path, env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    """`python -m <module> <args>` in `cwd` with exactly `env`, run in this process.

    For a project command whose imports cost more than its work (the report: ~1 CPU-s of
    imports per run); what it prints to stdout and stderr comes back apart, as from a process.
    """
    out, err = io.StringIO(), io.StringIO()
    with (
        mock.patch.dict(os.environ, env, clear=True),
        redirect_stdout(out),
        redirect_stderr(err),
    ):
        code = _call(module, args, cwd)
    return subprocess.CompletedProcess(["python", "-m", module, *args], code, out.getvalue(),
                                       err.getvalue())  # fmt: skip


def gto(repo: Path, args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`gto <args>` in `repo` with exactly `env`: GTO's own command line (its click app), run
    in this process. Reading the registry back through the CLI is under test, not the second
    a `gto` process takes to start; test_release_make keeps a `gto` process of its own."""
    from click.testing import CliRunner
    from gto.cli import app

    with mock.patch.dict(os.environ, env, clear=True), chdir(repo):
        result = CliRunner().invoke(app, args)
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return subprocess.CompletedProcess(["gto", *args], result.exit_code, result.stdout,
                                       result.stderr)  # fmt: skip


def _call(module: str, args: list[str], cwd: Path) -> int:
    """`python -m module args` in `cwd`, in this process: its exit code, its traceback printed."""
    with chdir(cwd):
        try:
            return _exit_code(importlib.import_module(module).main(args))
        except SystemExit as exc:  # argparse's usage errors, a stage that exits
            return _exit_code(exc.code)
        except Exception:  # what the interpreter prints before it exits 1
            traceback.print_exc()
            return 1


def _exit_code(code: object) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


@contextmanager
def _dvc_logs_into(stream: io.StringIO) -> Iterator[None]:
    """DVC's console handlers hold the streams of the moment DVC was imported: point them here."""
    handlers = {
        h
        for name in DVC_LOGGERS
        for h in logging.getLogger(name).handlers
        if isinstance(h, logging.StreamHandler)
    }
    previous = {h: h.stream for h in handlers}
    for handler in handlers:
        handler.setStream(stream)
    try:
        yield
    finally:
        for handler, old in previous.items():
            handler.setStream(old)


def reproduce(repo: Path, *args: str) -> str:
    """`dvc repro <args>` in `repo`, the pipeline step of `make run`; what DVC printed.

    A failure fails the test with DVC's whole output.
    """
    proc = dvc(repo, "repro", *args)
    assert proc.returncode == 0, f"dvc repro exited {proc.returncode}:\n{proc.stdout}"
    return proc.stdout
