"""The Release workflow's decisions on real repositories with GTO tags, and the GitHub Release.

`decide` is exercised on small real git repositories whose release tags are made by `gto`;
the GitHub Release steps run against the loopback fake of GitHub's REST API, including
failures half-way and the re-run that must finish the job.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from fake_github import FakeGitHub
from gitops.actions.github import GitHub, GitHubError
from gitops.actions.publish import Action, decide_release, publish_release, read_state
from release_support import commit, gto, lock_text, make_repo, release_cli, write_dist
from runner import Runner, link_environment
from support import BIN, ROOT, run

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
    proc = release_cli(repo, "plan", check=False)
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


# --- The publish job: the image's files and digest join the release -----------------------

DIGEST = "sha256:" + "7e" * 32


def publish_job_checkout(dest: Path) -> Path:
    """The publish job's checkout of the project (Makefile, params.yaml, environment)."""
    dest.mkdir(parents=True)
    for name in ("Makefile", "params.yaml", "pyproject.toml", "uv.lock"):
        shutil.copy2(ROOT / name, dest / name)
    link_environment(dest)
    return dest


def download_artifacts(checkout: Path, artifacts: Path) -> None:
    """actions/download-artifact of `dist` and `image` into dist/, afresh on every attempt."""
    shutil.rmtree(checkout / "dist", ignore_errors=True)
    shutil.copytree(artifacts, checkout / "dist")


def artifacts_of_the_release(tmp_path: Path) -> Path:
    """What the release job (dist/) and the image job (image.json, the SBOM) uploaded."""
    (tmp_path / "release-job").mkdir()
    wheel = write_dist(tmp_path / "release-job", "1.0.0")
    dist = wheel.parent
    (dist / "RELEASE_NOTES.md").write_text("# churn v1.0.0\n\nFirst release.\n")
    repository = "ghcr.io/acme/churn/churn"
    (dist / "image.json").write_text(json.dumps({
        "name": "churn", "version": "1.0.0", "tag": "churn:1.0.0", "engine": "podman",
        "id": "sha256:" + "1d" * 32, "revision": "c0" * 20, "user": "10001:10001",
        "wheel": wheel.name, "wheel_sha256": hashlib.sha256(wheel.read_bytes()).hexdigest(),
        "pushed": {"repository": repository, "tag": "1.0.0", "digest": DIGEST,
                   "reference": f"{repository}@{DIGEST}"},
    }))  # fmt: skip
    (dist / "sbom.spdx.json").write_text(json.dumps({
        "spdxVersion": "SPDX-2.3", "name": f"{repository}@{DIGEST}",
        "packages": [{"name": "churn-model", "versionInfo": "1.0.0"}],
    }))  # fmt: skip
    return dist


def test_the_publish_job_releases_the_image_and_a_rerun_finishes_it(
    github: FakeGitHub, repo: Path, runner: Runner, tmp_path: Path
) -> None:
    artifacts = artifacts_of_the_release(tmp_path)
    checkout = publish_job_checkout(tmp_path / "publish-job")
    github.tags[TAG] = head(repo)
    publish = [
        str(BIN / "python"), "-m", "gitops.actions.publish", "release", "--tag", TAG,
        "--commit", head(repo), "--dist", "dist", "--notes", "dist/RELEASE_NOTES.md",
    ]  # fmt: skip
    github.fail_once("PATCH", r"/releases/\d+$", 502)  # the first attempt fails at the end
    for attempt in (1, 2):
        job = runner.for_event("workflow_run", {}).with_env(**github.env())
        download_artifacts(checkout, artifacts)
        for target in ("image-assets", "image-notes"):
            proc = job.make(target, checkout)
            assert proc.returncode == 0, proc.stdout + proc.stderr
        proc = job.run(publish, checkout)
        if attempt == 1:
            assert proc.returncode == 1
            assert "HTTP 502" in proc.stderr
            assert github.release(TAG)["draft"] is True
            assert github.published_with == {}, "nothing is public after a failed attempt"
    assert proc.returncode == 0, proc.stderr
    release = github.release(TAG)
    assert release["draft"] is False
    listed = (checkout / "dist/SHA256SUMS").read_text()
    assert "  image.json\n" in listed
    assert "  sbom.spdx.json\n" in listed
    assert github.asset_names(TAG) == sorted(
        ["MODEL_CARD.md", "SHA256SUMS", "churn_model-1.0.0-py3-none-any.whl", "image.json",
         "sbom.spdx.json"]
    )  # fmt: skip
    assert github.published_with == {TAG: 5}
    body = release["body"]
    assert body.startswith("# churn v1.0.0\n\nFirst release.\n")
    assert body.count("## Container image") == 1
    assert f"podman pull ghcr.io/acme/churn/churn@{DIGEST}" in body
    assert "release file `sbom.spdx.json`" in body
