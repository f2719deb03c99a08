"""`make push-cache` / `make pull-cache` against a real S3-compatible server on loopback.

What CI relies on: outputs and the run-cache pushed after one run are restored in a fresh
clone instead of recomputed, and a remote that cannot be used (wrong bucket or endpoint,
missing or rejected keys, a malformed URL) costs a warning and a full run, never a job.
Every make target runs with what a GitHub runner has: no git identity, no cloud config in
HOME, uv only from PATH, and only the variables the workflow step passes.
"""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

import inprocess
from runner import Runner, clone, link_environment
from s3_support import S3
from support import ROOT

pytestmark = pytest.mark.slow

RESULT_DIRS = ("data", "models")  # where the pipeline writes, git-tracked or DVC-cached


def output(proc: subprocess.CompletedProcess[str]) -> str:
    return f"exit {proc.returncode}\n--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}"


def warnings(proc: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in proc.stdout.splitlines() if line.startswith("::warning::")]


def result_files(repo: Path) -> dict[str, bytes]:
    """Every file the pipeline reads or writes, by path: what a restore must reproduce."""
    return {
        str(p.relative_to(repo)): p.read_bytes()
        for d in RESULT_DIRS
        for p in sorted((repo / d).rglob("*"))
        if p.is_file()
    }


def closed_port() -> int:
    """A loopback port nothing listens on: connections to it are refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Pushed:
    repo: Path  # the repo that ran the pipeline and pushed
    prefix: str  # where in the bucket
    files: dict[str, bytes]  # its results


@pytest.fixture(scope="module")
def pushed(
    pipeline_repo: Path, s3: S3, runner_tools: Path, tmp_path_factory: pytest.TempPathFactory
) -> Pushed:
    """The session's reproduced pipeline, pushed by `make push-cache` as main's CI does."""
    tmp = tmp_path_factory.mktemp("pushed")
    repo = tmp / "repo"
    shutil.copytree(pipeline_repo, repo, symlinks=True)
    link_environment(repo)
    job = Runner.create(tmp / "runner", runner_tools).with_env(**s3.env("main"))
    proc = job.make("push-cache", repo)
    assert proc.returncode == 0, output(proc)
    assert not warnings(proc), output(proc)
    assert re.search(r"^\d+ files pushed$", proc.stdout, re.MULTILINE), output(proc)
    stored = s3.keys("main")
    # Every stage output is `persist` (dvc.yaml), which DVC keeps out of the run-cache.
    assert not any(k.startswith("main/runs/") for k in stored), stored
    assert any(k.startswith("main/files/md5/") for k in stored), stored  # the outputs
    return Pushed(repo, "main", result_files(repo))


def test_a_fresh_clone_restores_every_stage_instead_of_recomputing(
    pushed: Pushed, s3: S3, runner: Runner, tmp_path: Path
) -> None:
    job = runner.with_env(**s3.env(pushed.prefix))
    repo = clone(pushed.repo, tmp_path / "clone")
    assert not (repo / ".dvc/cache").exists()
    absent = sorted(set(pushed.files) - set(result_files(repo)))
    assert "models/model.skops" in absent

    pulled = job.make("pull-cache", repo)
    assert pulled.returncode == 0, output(pulled)
    assert not warnings(pulled), output(pulled)
    for path in absent:
        assert re.search(rf"^A\s+{re.escape(path)}$", pulled.stdout, re.MULTILINE), path
    assert f"{len(absent)} files fetched" in pulled.stdout, output(pulled)

    ran = job.make("run", repo)
    assert ran.returncode == 0, output(ran)
    for stage in yaml.safe_load((repo / "dvc.yaml").read_text())["stages"]:
        assert f"Stage '{stage}' didn't change, skipping" in ran.stdout, output(ran)
    assert "Running stage" not in ran.stdout, output(ran)
    assert result_files(repo) == pushed.files


def _change_test_size(repo: Path) -> None:
    params = repo / "params.yaml"
    text = params.read_text()
    assert "test_size: 0.2\n" in text
    params.write_text(text.replace("test_size: 0.2\n", "test_size: 0.25\n"))


@pytest.fixture(scope="module")
def pushed_variant(
    pushed: Pushed, s3: S3, runner_tools: Path, tmp_path_factory: pytest.TempPathFactory
) -> Pushed:
    """A larger test set, split and pushed elsewhere first (a colleague, an experiment)."""
    tmp = tmp_path_factory.mktemp("variant")
    repo = tmp / "repo"
    shutil.copytree(pushed.repo, repo, symlinks=True)  # its .venv link included
    _change_test_size(repo)
    job = Runner.create(tmp / "runner", runner_tools).with_env(**s3.env(pushed.prefix))
    split = inprocess.reproduce(repo, "split")
    assert "Running stage 'split'" in split, split
    proc = job.make("push-cache", repo)
    assert proc.returncode == 0, output(proc)
    assert not warnings(proc), output(proc)
    return Pushed(repo, pushed.prefix, result_files(repo))


def test_a_stage_that_dvc_lock_does_not_describe_runs_here(
    pushed_variant: Pushed, s3: S3, runner: Runner, tmp_path: Path
) -> None:
    """The same change in a new checkout: dvc.lock still says 0.2, a colleague pushed 0.25.

    `dvc pull` fetches the outputs dvc.lock records; the colleague's split is not in the
    run-cache (its outputs are `persist`), so it runs here and lands on the same bytes.
    """
    job = runner.with_env(**s3.env(pushed_variant.prefix))
    repo = clone(pushed_variant.repo, tmp_path / "clone")
    _change_test_size(repo)

    pulled = job.make("pull-cache", repo)
    assert pulled.returncode == 0, output(pulled)
    assert not warnings(pulled), output(pulled)
    # By hand, the keys exported in the shell; DVC's CLI in this process (tests/inprocess.py).
    ran = inprocess.dvc(repo, "repro", "--pull", "split", env=s3.env(pushed_variant.prefix))
    assert ran.returncode == 0, output(ran)
    assert "Stage 'validate' didn't change, skipping" in ran.stdout, output(ran)
    assert "Running stage 'split'" in ran.stdout, output(ran)
    for path in ("data/processed/train.parquet", "data/processed/test.parquet"):
        assert (repo / path).read_bytes() == pushed_variant.files[path], path


def test_the_run_cache_holds_no_stage_with_persisted_outputs(pushed: Pushed, s3: S3) -> None:
    """What docs/remote.md says: DVC keeps a stage out of the run-cache when an output is
    `persist` or a plain output is `cache: false`; here every output is persisted."""
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    for name, stage in stages.items():
        for out in stage.get("outs", []):
            assert isinstance(out, dict), f"{name}: {out} is not persisted"
            assert next(iter(out.values())).get("persist") is True, f"{name}: {out}"
    runs = [k for k in s3.keys(pushed.prefix) if k.startswith(f"{pushed.prefix}/runs/")]
    assert runs == []


def _no_keys(s3: S3, prefix: str) -> dict[str, str]:
    env = s3.env(prefix)
    del env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]
    return env


BROKEN = {
    "no such bucket": (
        lambda s3: {**s3.env("main"), "DVC_REMOTE_URL": "s3://no-such-bucket/main"},
        "The specified bucket does not exist",
    ),
    "endpoint refuses connections": (
        lambda s3: {**s3.env("main"), "DVC_REMOTE_ENDPOINT": f"http://127.0.0.1:{closed_port()}"},
        "Could not connect to the endpoint URL",
    ),
    "no credentials": (lambda s3: _no_keys(s3, "main"), "Unable to locate credentials"),
    "missing plugin": (
        lambda s3: {
            **s3.env("main"),
            "DVC_REMOTE_URL": "azure://container/main",
            "DVC_REMOTE_ENDPOINT": "",
        },
        "requires 'dvc-azure' to be installed",
    ),
    # S3 answers a HEAD request with a bad key by a bare 403: no error code to quote.
    "unknown key id": (
        lambda s3: {**s3.env("main"), "AWS_ACCESS_KEY_ID": "AKIAUNKNOWNKEY000000"},
        "the storage refused the credentials",
    ),
    "wrong secret": (
        lambda s3: {**s3.env("main"), "AWS_SECRET_ACCESS_KEY": "not-the-secret"},
        "the storage refused the credentials",
    ),
    "URL without a scheme": (
        lambda s3: {**s3.env("main"), "DVC_REMOTE_URL": f"{s3.bucket}/main"},
        "is neither a URL (s3://bucket/prefix",
    ),
    "endpoint without a scheme": (
        lambda s3: {**s3.env("main"), "DVC_REMOTE_ENDPOINT": s3.endpoint.removeprefix("http://")},
        "is not an http:// or https:// URL",
    ),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_an_unusable_remote_warns_and_pulls_nothing(
    case: str, pushed: Pushed, s3: S3, runner: Runner, tmp_path: Path
) -> None:
    variables, expected = BROKEN[case]
    # Each case checks the warning's wording; botocore's retries with back-off only delay it
    # (11 s for the refused endpoint alone), so one attempt.
    job = runner.with_env(**variables(s3), AWS_MAX_ATTEMPTS="1")
    repo = clone(pushed.repo, tmp_path / "clone")
    before = result_files(repo)

    # The rule under test is the helper's; `make pull-cache` runs it as CI does in the
    # restore and failed-pull tests. Here it runs in this process with the step's variables.
    pulled = inprocess.python_m("gitops.actions.remote", ["pull"], repo, job.env)
    assert pulled.returncode == 0, output(pulled)
    found = warnings(pulled)
    assert len(found) == 1, output(pulled)
    assert expected in found[0], output(pulled)
    assert "runs here instead" in found[0], output(pulled)
    assert result_files(repo) == before  # nothing fetched, nothing lost
    secret = s3.secret_access_key
    stored = [p.read_text(errors="replace") for p in (repo / ".dvc").rglob("*") if p.is_file()]
    assert not any(secret in text for text in stored)  # keys stay in the environment


def test_after_a_failed_pull_the_pipeline_computes_the_stages_itself(
    pushed: Pushed, s3: S3, runner: Runner, tmp_path: Path
) -> None:
    job = runner.with_env(**_no_keys(s3, pushed.prefix))
    repo = clone(pushed.repo, tmp_path / "clone")
    pulled = job.make("pull-cache", repo)
    assert pulled.returncode == 0, output(pulled)
    assert warnings(pulled), output(pulled)

    ran = inprocess.reproduce(repo)  # make run's pipeline step, in this process
    # Stages whose outputs DVC caches rerun; the rest find their git-tracked results current.
    for stage in ("validate", "split", "train"):
        assert f"Running stage '{stage}'" in ran, ran
    assert result_files(repo) == pushed.files
    # A run from scratch in a CI checkout reproduces what is committed: nothing to commit.
    status = job.run(["git", "status", "--porcelain", "--untracked-files=all"], repo, check=True)
    assert status.stdout == "", status.stdout


def test_a_rejected_push_warns_and_leaves_the_job_green(
    pushed: Pushed, s3: S3, runner: Runner, tmp_path: Path
) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(pushed.repo, repo, symlinks=True)
    variables = {**s3.env("rejected"), "AWS_SECRET_ACCESS_KEY": "not-the-secret"}
    proc = runner.with_env(**variables).make("push-cache", repo)
    assert proc.returncode == 0, output(proc)
    found = warnings(proc)
    assert len(found) == 1, output(proc)
    assert "could not push" in found[0], output(proc)
    assert "the storage refused the credentials" in found[0], output(proc)
    assert s3.keys("rejected") == []


def test_without_a_remote_both_targets_say_so_and_touch_nothing(
    pushed: Pushed, runner: Runner, tmp_path: Path
) -> None:
    repo = clone(pushed.repo, tmp_path / "clone")
    said = {"pull-cache": "every stage runs here", "push-cache": "nothing to push"}
    for target, what in said.items():
        proc = runner.make(target, repo)
        assert proc.returncode == 0, output(proc)
        assert f"DVC_REMOTE_URL is not set: no DVC remote, {what}" in proc.stdout, output(proc)
        assert not warnings(proc), output(proc)
    assert not (repo / ".dvc/config.local").exists()


def test_a_remote_that_never_answers_is_given_up_at_the_timeout(
    pushed: Pushed, s3: S3, runner: Runner, tmp_path: Path
) -> None:
    """A firewall that drops packets: the connection opens, no answer ever comes."""
    env_vars = s3.env(pushed.prefix)
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)  # accepted by the kernel, never read: every request hangs
        env_vars["DVC_REMOTE_ENDPOINT"] = f"http://127.0.0.1:{silent.getsockname()[1]}"
        repo = clone(pushed.repo, tmp_path / "clone")
        params = repo / "params.yaml"
        # Long enough for dvc to start (about 1.5 s) and hang on the socket, short for a test.
        params.write_text(params.read_text().replace("timeout_seconds: 600", "timeout_seconds: 3"))
        pulled = runner.with_env(**env_vars).make("pull-cache", repo)
        silent.setblocking(False)
        try:  # the timeout stopped a dvc that was waiting on the socket, not one still starting
            silent.accept()[0].close()
        except BlockingIOError:
            pytest.fail("dvc was stopped before it connected: the timeout is too short")
    assert pulled.returncode == 0, output(pulled)
    found = warnings(pulled)
    assert len(found) == 1, output(pulled)
    assert "`dvc pull` gave no answer within 3 s and was stopped" in found[0], output(pulled)
    assert not (repo / ".dvc/config.local").read_text().strip()  # the remote is gone again
