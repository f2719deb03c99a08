"""The Release workflow's decisions on real repositories with GTO tags, and the GitHub Release.

`decide` is exercised on small real git repositories whose release tags are made by `gto`;
the GitHub Release steps run against the loopback fake of GitHub's REST API, including
failures half-way and the re-run that must finish the job.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from fake_github import FakeGitHub
from gitops.actions.github import GitHub, GitHubError
from gitops.actions.publish import Action, decide_release, publish_release, read_state
from release_support import commit, gto, lock_text, make_repo, write_dist
from runner import Runner
from support import BIN, run

TAG = "churn@v1.0.0"


def head(repo: Path) -> str:
    return run(["git", "rev-parse", "HEAD"], repo).stdout.strip()


def verdict(repo: Path, *, branch_head: str | None = None, published: set[str] = frozenset()):
    sha = head(repo)
    state, artifact = read_state(repo, sha, "main", branch_head or sha, published.__contains__)
    return decide_release(state, artifact)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "repo")


def register(repo: Path, version: str) -> None:
    gto(repo, "register", "churn", "HEAD", "--version", version)


def test_a_first_release_is_due_on_the_branch_head(repo: Path) -> None:
    v = verdict(repo)
    assert (v.action, v.version, v.tag) == (Action.PUBLISH, "1.0.0", TAG)


def test_a_tagged_commit_without_a_published_release_is_finished(repo: Path) -> None:
    register(repo, "v1.0.0")
    v = verdict(repo)
    assert (v.action, v.version, v.tag) == (Action.FINISH, "1.0.0", TAG)
    assert "no published GitHub Release" in v.reason
    # Finishing creates no new tag, so it is safe even once the branch has moved on.
    assert verdict(repo, branch_head="f" * 40).action is Action.FINISH


def test_a_published_release_is_not_released_again(repo: Path) -> None:
    register(repo, "v1.0.0")
    v = verdict(repo, published={TAG})
    assert v.action is Action.NOTHING
    assert "already released" in v.reason


def test_a_change_that_ships_nothing_is_no_release(repo: Path) -> None:
    register(repo, "v1.0.0")
    commit(repo, "docs", {"docs/usage.md": "# Usage, reworded\n"})
    v = verdict(repo, published={TAG})
    assert v.action is Action.NOTHING
    assert "nothing shipped changed" in v.reason


def test_a_new_model_on_top_of_the_release_is_a_minor_version(repo: Path) -> None:
    register(repo, "v1.0.0")
    commit(repo, "retrain", {"dvc.lock": lock_text("b" * 32)})
    v = verdict(repo, published={TAG})
    assert (v.action, v.version) == (Action.PUBLISH, "1.1.0")


def test_a_commit_that_is_no_longer_the_branch_head_is_refused(repo: Path) -> None:
    commit(repo, "retrain", {"dvc.lock": lock_text("b" * 32)})
    v = verdict(repo, branch_head="e" * 40)
    assert v.action is Action.REFUSE
    assert "not the current head of main (eeeeeeeeeeee)" in v.reason


def test_a_commit_beside_the_latest_release_is_refused(repo: Path) -> None:
    first = head(repo)
    commit(repo, "retrain", {"dvc.lock": lock_text("b" * 32)})
    register(repo, "v1.0.0")
    run(["git", "checkout", "-q", "-b", "rewritten", first], repo)
    commit(repo, "another model", {"dvc.lock": lock_text("c" * 32)})
    v = verdict(repo, published={TAG})
    assert v.action is Action.REFUSE
    assert f"does not descend from the latest release {TAG}" in v.reason


def test_make_release_itself_refuses_foreign_history(repo: Path) -> None:
    first = head(repo)
    commit(repo, "retrain", {"dvc.lock": lock_text("b" * 32)})
    register(repo, "v1.0.0")
    run(["git", "checkout", "-q", "-b", "rewritten", first], repo)
    commit(repo, "another model", {"dvc.lock": lock_text("c" * 32)})
    proc = run([str(BIN / "python"), "-m", "gitops.release.cli", "plan"], repo, check=False)
    assert proc.returncode == 1
    assert "is not a descendant of the latest release v1.0.0" in proc.stderr


# --- The GitHub Release -------------------------------------------------------------------


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    fake = FakeGitHub()
    with fake.serve():
        yield fake


def dist_files(repo: Path) -> list[Path]:
    write_dist(repo, "1.0.0")
    dist = repo / "dist"
    return sorted(p for p in dist.iterdir() if p.is_file())


def api(github: FakeGitHub) -> GitHub:
    return GitHub(github.url, github.repo, github.token)


def test_the_release_is_published_only_with_every_file(github: FakeGitHub, repo: Path) -> None:
    files = dist_files(repo)
    github.tags[TAG] = head(repo)  # pushed by `make release PUSH=1` before this step
    release, uploaded = publish_release(api(github), TAG, head(repo), files, "notes")
    assert release["draft"] is False
    assert sorted(uploaded) == sorted(f.name for f in files)
    assert github.published_with == {TAG: len(files)}, "never public with fewer files"
    assert github.created_tags == [], "GitHub never makes the (lightweight) tag itself"


def test_a_failed_upload_leaves_a_draft_that_the_rerun_completes(
    github: FakeGitHub, repo: Path
) -> None:
    files = dist_files(repo)
    github.tags[TAG] = head(repo)
    github.fail_once("POST", r"/assets$", 502)
    with pytest.raises(GitHubError, match="HTTP 502"):
        publish_release(api(github), TAG, head(repo), files, "notes")
    assert github.release(TAG)["draft"] is True
    assert github.published_with == {}
    release, _ = publish_release(api(github), TAG, head(repo), files, "notes")
    assert release["draft"] is False
    assert github.asset_names(TAG) == sorted(f.name for f in files)
    assert len(github.releases) == 1


def test_a_draft_holding_another_build_gets_this_build(github: FakeGitHub, repo: Path) -> None:
    files = dist_files(repo)
    github.tags[TAG] = head(repo)
    github.fail_once("PATCH", r"/releases/\d+$", 500)
    with pytest.raises(GitHubError):
        publish_release(api(github), TAG, head(repo), files, "notes")
    (repo / "dist/MODEL_CARD.md").write_text("# churn, rebuilt\n")  # a re-run rebuilt it
    _, uploaded = publish_release(api(github), TAG, head(repo), files, "notes")
    assert uploaded == ["MODEL_CARD.md"]
    card = next(a for a in github.release(TAG)["assets"] if a["name"] == "MODEL_CARD.md")
    assert card["size"] == len("# churn, rebuilt\n")


def test_a_published_release_is_never_changed(github: FakeGitHub, repo: Path) -> None:
    files = dist_files(repo)
    github.tags[TAG] = head(repo)
    publish_release(api(github), TAG, head(repo), files, "notes")
    before = len(github.requests)
    (repo / "dist/MODEL_CARD.md").write_text("# tampered\n")
    _, uploaded = publish_release(api(github), TAG, head(repo), files, "notes")
    assert uploaded == []
    assert all(m == "GET" for m, _ in github.requests[before:])


def test_decide_and_release_commands_as_the_workflow_runs_them(
    github: FakeGitHub, repo: Path, runner: Runner
) -> None:
    github.branches["main"] = head(repo)
    job = runner.for_event("workflow_run", {}).with_env(**github.env())
    python = str(BIN / "python")
    proc = job.run(
        [python, "-m", "gitops.actions.publish", "decide", "--sha", head(repo), "--branch", "main"],
        repo,
    )
    assert proc.returncode == 0, proc.stderr
    assert job.outputs() == {"action": "publish", "version": "1.0.0", "tag": TAG}

    register(repo, "v1.0.0")
    github.tags[TAG] = head(repo)
    write_dist(repo, "1.0.0")
    (repo / "dist/RELEASE_NOTES.md").write_text("# churn v1.0.0\n")
    args = ["release", "--tag", TAG, "--commit", head(repo), "--dist", "dist"]
    proc = job.run([python, "-m", "gitops.actions.publish", *args], repo)
    assert proc.returncode == 0, proc.stderr
    assert github.release(TAG)["body"] == "# churn v1.0.0\n"
    assert "SHA256SUMS" in github.asset_names(TAG)
    assert "Released [churn@v1.0.0]" in job.summary

    moved = runner.for_event("workflow_run", {}).with_env(**github.env())
    github.branches["main"] = "d" * 40
    commit(repo, "retrain", {"dvc.lock": lock_text("b" * 32)})
    proc = moved.run(
        [python, "-m", "gitops.actions.publish", "decide", "--sha", head(repo), "--branch", "main"],
        repo,
    )
    assert proc.returncode == 1
    assert "::error title=Release refused::" in proc.stdout
    assert moved.outputs()["action"] == "refuse"
    assert json.dumps(github.requests).count("/branches/main") == 2
