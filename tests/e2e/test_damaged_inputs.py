"""Damaged exports and broken stages cost nothing that was produced before.

One clone whose stages DVC finds current (its CI cache restored); then every damaged export of
the corpus is put in place of the sample and `dvc repro` is run on it (DVC in this process,
tests/inprocess.py; the failing and the killed stage run the real CLI). DVC deletes a stage's
outputs before running it unless they are `persist` (dvc.yaml), so each case checks the
bytes of every output (git-tracked and DVC-cached), the message (file, column, line, rule)
and that `git status` is clean once the sample is back. A stage that fails and one killed
by SIGKILL mid-training must leave the same bytes, and a forced run must rewrite every
output, so a persisted output can never be a stale one.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

import inprocess
from runner import Runner, clone, copy_pipeline_outputs
from support import ROOT, copy_repo

pytestmark = [pytest.mark.slow, pytest.mark.example]

RAW = "data/raw/iranian_churn.csv"
OUTPUT_FOLDERS = ("data/interim", "data/processed", "models")
TRACKED = ("data/quality.json", "dvc.lock")


def _header_and_rows(data: bytes) -> tuple[bytes, list[bytes]]:
    lines = data.rstrip(b"\n").split(b"\n")
    return lines[0], lines[1:]


def _cells(line: bytes) -> list[bytes]:
    return line.split(b",")


def _join(header: bytes, rows: list[bytes]) -> bytes:
    return b"\n".join([header, *rows]) + b"\n"


def _set(data: bytes, row: int, column: int, value: bytes) -> bytes:
    """`value` in 0-based `column` of data row `row` (row 0 is line 2 of the file)."""
    header, rows = _header_and_rows(data)
    cells = _cells(rows[row])
    cells[column] = value
    rows[row] = b",".join(cells)
    return _join(header, rows)


def _every_row(data: bytes, change: Callable[[list[bytes]], list[bytes]]) -> bytes:
    header, rows = _header_and_rows(data)
    return _join(header, [b",".join(change(_cells(r))) for r in rows])


# Columns of the sample's export, 0-based.
SECONDS, TARIFF, AGE, VALUE, CHURN, DISTINCT = 4, 9, 11, 12, 13, 7


def _damaged(sample: bytes) -> dict[str, tuple[bytes, list[str]]]:
    """Name → (the damaged export, fragments its refusal must hold besides the file name)."""
    header, rows = _header_and_rows(sample)
    line2 = rows[0]
    return {
        "semicolon export": (
            sample.replace(b",", b";"),
            ["line 1 (header)", "looks like ';'-separated", "the contract expects ','"],
        ),
        "renamed header": (
            sample.replace(b"Seconds of Use", b"Seconds of Usage", 1),
            [
                "line 1 (header)",
                "column 'seconds_of_use'",
                "is missing",
                "unexpected column 'Seconds of Usage' — did you mean 'Seconds of Use'?",
            ],
        ),
        "latin-1 byte in a record": (
            _join(header, [line2[:20] + b"\xe9" + line2[20:], *rows[1:]]),
            ["line 2, character 21", "column 'Distinct Called Numbers'", "is not UTF-8"],
        ),
        "latin-1 byte in the header": (
            sample.replace(b"Age Group", b"\xc2ge Group", 1),
            [f"line 1, character {sample.index(b'Age Group') + 1}", "header field 9", "not UTF-8"],
        ),
        "duplicated header": (
            _every_row(sample, lambda c: [*c, c[CHURN]]).replace(b"Churn\n", b"Churn,Churn\n", 1),
            ["line 1 (header), columns 14 and 15", "column 'churn'", "appears more than once"],
        ),
        "implausible seconds of use": (
            _set(sample, 0, SECONDS, b"1000000000000"),
            ["column 'seconds_of_use'", "must be <= 23700000", "line 2"],
        ),
        "negative count": (
            _set(sample, 3, DISTINCT, b"-4"),
            ["column 'distinct_numbers_called'", "must be >= 0", "line 5"],
        ),
        "thousands separator": (
            _set(sample, 1, SECONDS, b'"1,318"'),
            ["column 'seconds_of_use'", "without thousands separators", "line 3", "'1,318'"],
        ),
        "word in a number": (
            _set(sample, 4, SECONDS, b"n/a"),
            ["column 'seconds_of_use'", "must be a number", "line 6", "'n/a'"],
        ),
        "fraction in a count": (
            _set(sample, 5, SECONDS, b"12.5"),
            ["column 'seconds_of_use'", "must be a whole number", "line 7"],
        ),
        "unknown category": (
            _set(sample, 6, TARIFF, b"3"),
            ["column 'tariff_plan'", "must be one of", "line 8"],
        ),
        "unknown label": (
            _set(sample, 7, CHURN, b"2"),
            ["column 'churn'", "must be one of", "line 9"],
        ),
        "blank required value": (
            _set(sample, 8, VALUE, b""),
            ["column 'customer_value'", "must not be empty", "line 10"],
        ),
        "age against its group": (
            _set(sample, 9, AGE, b"55"),
            ["column 'age'", "must match age_group", "line 11"],
        ),
        "empty line between records": (
            _join(header, [*rows[:2], b",,,,,,,,,,,,,", *rows[2:]]),
            ["line 4", "empty line(s) between records", "must not be empty"],
        ),
        "column exported empty": (
            _every_row(sample, lambda c: [*c[:VALUE], b"", *c[VALUE + 1 :]]),
            ["column 'customer_value'", "blank on every line", f"lines 2-{len(rows) + 1}"],
        ),
        "label of one class": (
            _every_row(sample, lambda c: [*c[:CHURN], b"0"]),
            ["column 'churn'", "must hold at least two classes", f"lines 2-{len(rows) + 1}"],
        ),
        "ragged row": (
            _set(sample, 3, CHURN, b"0,1,1"),
            ["line 5", "16 values where the header has 14 columns", "one value per column"],
        ),
        "missing label column": (
            _every_row(sample, lambda c: c[:CHURN]).replace(b",Churn\n", b"\n", 1),
            ["line 1 (header)", "column 'churn'", "is missing"],
        ),
        "header only": (header + b"\n", ["line 2", "no data rows"]),
        "empty file": (b"", ["line 1", "file is empty"]),
    }


SAMPLE_BYTES = (ROOT / RAW).read_bytes()
CASES = _damaged(SAMPLE_BYTES)


def outputs(repo: Path) -> dict[str, str]:
    """sha256 of every stage output (cached and git-tracked) and of dvc.lock."""
    files = [repo / p for p in TRACKED]
    for folder in OUTPUT_FOLDERS:
        files += [p for p in (repo / folder).rglob("*") if p.is_file() and p.name != ".gitignore"]
    return {str(p.relative_to(repo)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


def porcelain(job: Runner, repo: Path) -> str:
    return job.run(["git", "status", "--porcelain", "--untracked-files=all"], repo).stdout


def in_venv(job: Runner, repo: Path) -> Runner:
    """The job with the checkout's environment first on PATH, as the Makefile exports it."""
    return job.with_env(PATH=f"{repo / '.venv/bin'}{os.pathsep}{job.env['PATH']}")


def dvc(job: Runner, repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return in_venv(job, repo).run([str(repo / ".venv/bin/dvc"), *args], repo)


@pytest.fixture(scope="module")
def reproduced(
    pipeline_repo: Path, tmp_path_factory: pytest.TempPathFactory, runner_tools: Path
) -> tuple[Runner, Path, dict[str, str]]:
    """A CI checkout after its pipeline step: every output in place, its hashes, git clean.

    The outputs and DVC cache are the suite's reproduced pipeline's, as `make pull-cache`
    restores them; `dvc repro` (in this process) must find every stage current. `make run`
    itself after a restore, and a run from scratch in a CI checkout, are test_remote_cache's.
    """
    tmp = tmp_path_factory.mktemp("damaged")
    origin = copy_repo(tmp / "origin", with_results=False)
    repo = clone(origin, tmp / "clone")
    copy_pipeline_outputs(pipeline_repo, repo, with_cache=True)
    job = Runner.create(tmp / "runner", runner_tools)
    ran = inprocess.reproduce(repo)
    assert "Running stage" not in ran, ran
    assert porcelain(job, repo) == "", "the pipeline must reproduce the committed results"
    before = outputs(repo)
    assert {"data/interim/customers.parquet", "data/processed/train.parquet"} <= set(before)
    assert "models/model.skops" in before
    assert "models/plots/roc.csv" in before
    return job, repo, before


def _restore(job: Runner, repo: Path, path: str) -> None:
    job.run(["git", "checkout", "--", path], repo, check=True)


def _unchanged(job: Runner, repo: Path, before: dict[str, str]) -> None:
    after = outputs(repo)
    changed = sorted(p for p in before.keys() | after.keys() if before.get(p) != after.get(p))
    assert changed == [], f"outputs changed or lost: {changed}"
    assert porcelain(job, repo) == ""
    leftovers = [p for f in OUTPUT_FOLDERS for p in (repo / f).rglob(".*.tmp")]
    assert leftovers == [], leftovers


@pytest.mark.parametrize("case", list(CASES))
def test_damaged_export_is_refused_and_nothing_is_lost(
    case: str, reproduced: tuple[Runner, Path, dict[str, str]]
) -> None:
    job, repo, before = reproduced
    data, fragments = CASES[case]
    (repo / RAW).write_bytes(data)
    try:
        proc = inprocess.dvc(repo, "repro")
    finally:
        _restore(job, repo, RAW)
    said = proc.stdout + proc.stderr
    assert proc.returncode != 0, f"{case}: accepted\n{said}"
    assert "Running stage 'validate'" in said
    assert f"{RAW}: invalid data" in said, said
    for fragment in fragments:
        assert fragment in said, f"{case}: {fragment!r} not in:\n{said}"
    assert "kept unchanged: data/interim/customers.parquet, data/quality.json" in said, said
    _unchanged(job, repo, before)


def _set_param(repo: Path, old: str, new: str) -> None:
    params = repo / "params.yaml"
    text = params.read_text()
    assert text.count(old) == 1, old
    params.write_text(text.replace(old, new))


def test_a_failing_stage_keeps_every_output(
    reproduced: tuple[Runner, Path, dict[str, str]],
) -> None:
    job, repo, before = reproduced
    _set_param(repo, "learning_rate: 0.05", "learning_rate: -1")
    try:
        proc = dvc(job, repo, "repro")
    finally:
        _restore(job, repo, "params.yaml")
    said = proc.stdout + proc.stderr
    assert proc.returncode != 0, said
    assert "Running stage 'train'" in said, said
    assert "learning_rate" in said, said
    _unchanged(job, repo, before)
    assert "up to date" in dvc(job, repo, "status").stdout


def _train_process(repo: Path, timeout: float) -> int:
    """The pid of the train stage's python, run by DVC in `repo`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for proc in Path("/proc").iterdir():
            if not proc.name.isdigit():
                continue
            try:
                cmdline = (proc / "cmdline").read_bytes()
                cwd = str((proc / "cwd").readlink())
            except OSError:
                continue
            argv = cmdline.split(b"\0")
            # The interpreter itself, not the shell DVC runs the command in (`sh -c ...`),
            # nor tools/python before it execs: killing a shell would orphan the fit.
            if (
                argv
                and Path(argv[0].decode(errors="replace")).name.startswith("python")
                and b"gitops.pipeline.train" in argv
                and cwd == str(repo)
            ):
                return int(proc.name)
        time.sleep(0.05)
    pytest.fail(f"no train stage started within {timeout} s")


def test_train_killed_midway_keeps_every_output(
    reproduced: tuple[Runner, Path, dict[str, str]],
) -> None:
    job, repo, before = reproduced
    # Long enough that the kill lands mid-training, whatever the machine.
    _set_param(repo, "max_iter: 300", "max_iter: 1000000")
    try:
        dvc_proc = subprocess.Popen(
            [str(repo / ".venv/bin/dvc"), "repro"],
            cwd=repo,
            env=in_venv(job, repo).env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            pid = _train_process(repo, timeout=120)
            time.sleep(1.0)  # into the fit: the model file is open or about to be
            os.kill(pid, signal.SIGKILL)
            out, _ = dvc_proc.communicate(timeout=120)
        finally:
            if dvc_proc.poll() is None:
                dvc_proc.kill()
                dvc_proc.wait()
    finally:
        _restore(job, repo, "params.yaml")
    assert dvc_proc.returncode != 0, out
    assert "Running stage 'train'" in out, out
    _unchanged(job, repo, before)
    assert "up to date" in dvc(job, repo, "status").stdout


def test_a_forced_run_rewrites_every_output(
    reproduced: tuple[Runner, Path, dict[str, str]],
) -> None:
    """Persisted outputs are not deleted first, so each must be replaced by its stage: spoil
    them all, and a forced run must bring back exactly the bytes of the first run."""
    job, repo, before = reproduced
    lock = (repo / "dvc.lock").read_bytes()
    for path in before:
        if path != "dvc.lock":
            target = repo / path
            target.unlink()  # DVC may have linked it to its cache: never write through that
            target.write_bytes(b"stale\n")
    ran = inprocess.dvc(repo, "repro", "--force")
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert (repo / "dvc.lock").read_bytes() == lock
    _unchanged(job, repo, before)
