"""`make release` as the Release workflow runs it: on a runner with no git identity.

The checkout is what release.yml's actions/checkout leaves (full history and tags, no
`.tools/`, uv on PATH), the remote a local bare repository, and the tag is read back from a
fresh clone of that remote with `gto show`, as anyone pulling the repository would see it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from gitops.actions.workflows import load
from runner import Runner, clone, copy_pipeline_outputs
from support import BIN, ROOT, run

EXPRESSION = re.compile(r"\$\{\{.*\}\}")


def release_step_env() -> dict[str, str]:
    """The literal `env:` of the release.yml step that runs `make release PUSH=1`."""
    workflow = load(ROOT / ".github/workflows/release.yml")
    steps = [s for job in workflow["jobs"].values() for s in job["steps"]]
    (step,) = [s for s in steps if "make release PUSH=1" in s.get("run", "")]
    return {k: str(v) for k, v in (step.get("env") or {}).items() if not EXPRESSION.search(str(v))}


@pytest.fixture
def release_checkout(pipeline_repo: Path, tmp_path: Path) -> tuple[Path, Path]:
    """(checkout, bare remote): main pushed to the remote, checked out with fetch-depth 0."""
    origin = tmp_path / "origin.git"
    run(["git", "init", "-q", "--bare", str(origin)], tmp_path)
    run(["git", "push", "-q", str(origin), "main"], pipeline_repo)
    checkout = clone(origin, tmp_path / "checkout", depth=None)
    copy_pipeline_outputs(pipeline_repo, checkout)  # the job's `make run`
    return checkout, origin


def remote_tags(origin: Path) -> list[str]:
    return run(["git", "tag", "--list"], origin).stdout.split()


@pytest.mark.slow
def test_release_refuses_before_building_when_the_runner_has_no_git_identity(
    release_checkout: tuple[Path, Path], runner: Runner
) -> None:
    checkout, origin = release_checkout
    proc = runner.make("release", checkout, "PUSH=1")
    assert proc.returncode != 0
    assert "no git identity to write the release tag with" in proc.stderr
    assert not (checkout / "dist").exists(), "nothing may be built before the refusal"
    assert remote_tags(origin) == []


@pytest.mark.slow
def test_make_release_push_tags_with_the_workflow_identity_and_a_rerun_finishes(
    release_checkout: tuple[Path, Path], runner: Runner, tmp_path: Path
) -> None:
    checkout, origin = release_checkout
    job = runner.with_env(**release_step_env())
    assert job.env["GIT_COMMITTER_NAME"] == "github-actions[bot]"

    dry = job.make("release", checkout)
    assert dry.returncode == 0, dry.stderr
    assert "Dry run: would publish churn@v1.0.0 (version 1.0.0)" in dry.stdout
    assert "first release of 'churn'" in dry.stderr
    notes = (checkout / "dist/RELEASE_NOTES.md").read_text()
    assert notes.startswith("# churn v1.0.0")
    assert "| ROC AUC |" in notes
    assert remote_tags(origin) == [], "a dry run must not tag"

    push = job.make("release", checkout, "PUSH=1")
    assert push.returncode == 0, push.stderr
    assert re.search(r"Wheel dist/churn_model-1\.0\.0-.*\.whl: version 1\.0\.0", push.stderr)
    assert "Published churn@v1.0.0" in push.stdout
    assert "release=true" in (job.tmp / "output.txt").read_text()

    reader = clone(origin, tmp_path / "reader", depth=None)
    state = json.loads(run([str(BIN / "gto"), "show", "--json"], reader).stdout)
    assert state["churn"]["version"] == "v1.0.0"
    assert state["churn"]["registered"] is True
    fmt = "--format=%(objecttype) %(taggername) %(taggeremail)"
    tag = run(["git", "for-each-ref", fmt, "refs/tags/churn@v1.0.0"], reader).stdout.split()
    bot_email = "<41898282+github-actions[bot]@users.noreply.github.com>"
    assert tag == ["tag", "github-actions[bot]", bot_email]

    # The job failed after tagging (say, at the GitHub Release) and is re-run: the same
    # version is rebuilt and nothing new is tagged.
    again = job.make("release", checkout, "PUSH=1")
    assert again.returncode == 0, again.stderr
    assert "churn@v1.0.0 already tags" in again.stderr
    assert "churn@v1.0.0 was already tagged here" in again.stdout
    assert (checkout / "dist/RELEASE_NOTES.md").read_text().startswith("# churn v1.0.0")
    assert remote_tags(origin) == ["churn@v1.0.0"]
