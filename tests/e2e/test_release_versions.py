"""Versions decided on real git repos with real GTO tags, pushed to a real bare remote."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from gitops.release import registry
from release_support import SCHEMA, commit, gto, lock_text, make_repo, release_cli, write_dist
from support import run

# Every test here writes and reads GTO tags several times (GTO in this process, git not).
pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def no_workflow_outputs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests running inside a workflow must not write into that workflow's outputs."""
    monkeypatch.delenv("GITHUB_OUTPUT", raising=False)


def with_origin(repo: Path) -> Path:
    origin = repo.parent / "origin.git"
    run(["git", "init", "-q", "--bare", str(origin)], repo.parent)
    run(["git", "remote", "add", "origin", str(origin)], repo)
    run(["git", "push", "-q", "origin", "main"], repo)
    return origin


def release(repo: Path, *, push: bool = True) -> str:
    """What `make release` does: plan, package, publish; returns the version published."""
    version = release_cli(repo, "plan").stdout.strip()
    assert version, "a release was expected"
    write_dist(repo, version)
    release_cli(repo, "publish", "--version", version, *(["--push"] if push else []))
    return version


def tags_at(repo: Path) -> list[str]:
    return run(["git", "tag", "--list"], repo).stdout.split()


@pytest.fixture(scope="module")
def released(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A repo whose first release, churn@v1.0.0, is tagged and pushed to its origin."""
    repo = make_repo(tmp_path_factory.mktemp("released") / "repo")
    with_origin(repo)
    assert release(repo) == "1.0.0"
    return repo


@pytest.fixture
def repo(released: Path, tmp_path: Path) -> Path:
    """A private copy of the released repo and of its origin (the remote path is relative)."""
    shutil.copytree(released.parent, tmp_path / "w", symlinks=True)
    repo = tmp_path / "w" / "repo"
    run(["git", "remote", "set-url", "origin", str(tmp_path / "w" / "origin.git")], repo)
    return repo


def test_first_release_is_tagged_pushed_and_read_back_by_gto(released: Path) -> None:
    tag = "churn@v1.0.0"
    assert json.loads(gto(released, "show", "--json").stdout)["churn"]["version"] == "v1.0.0"
    history = json.loads(gto(released, "history", "churn", "--json").stdout)
    assert [(e["event"], e["version"], e["ref"]) for e in history] == [
        ("registration", "v1.0.0", tag)
    ]
    assert "(first): first release of 'churn'" in history[0]["message"]
    origin = released.parent / "origin.git"
    assert run(["git", "cat-file", "-t", f"refs/tags/{tag}"], origin).stdout.strip() == "tag"
    head = run(["git", "rev-parse", "HEAD"], released).stdout.strip()
    assert run(["git", "rev-parse", f"{tag}^{{commit}}"], origin).stdout.strip() == head
    notes = (released / "dist/RELEASE_NOTES.md").read_text()
    assert notes.startswith("# churn v1.0.0\n\n**First release.**")
    assert "| ROC AUC | 0.9000 |" in notes


def test_only_docs_and_tests_changed_is_no_release(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    commit(repo, "docs", {"docs/usage.md": "# Usage, reworded\n", "tests/test_model.py": "x=1\n"})
    out = tmp_path / "github_output"
    out.write_text("earlier=kept\n")
    monkeypatch.setenv("GITHUB_OUTPUT", str(out))
    proc = release_cli(repo, "plan")
    assert proc.stdout == ""
    assert "nothing shipped changed since churn@v1.0.0" in proc.stderr
    assert "no release is due" in proc.stderr
    assert out.read_text().splitlines() == [
        "earlier=kept",
        "release=false",
        "version=",
        "tag=",
        "bump=none",
        "previous=1.0.0",
        "pushed=false",
        "notes=",
    ]


@pytest.mark.parametrize(
    ("change", "version", "reason"),
    [
        ({"src/churn/model.py": "def fit():\n    return 2\n"}, "1.0.1", "packaged code changed"),
        ({"dvc.lock": lock_text("b" * 32)}, "1.1.0", "model changed"),
        (
            {
                "models/input_schema.json": json.dumps(
                    {**SCHEMA, "properties": {**SCHEMA["properties"], "age": {"type": "integer"}}}
                )
            },
            "2.0.0",
            "input schema changed",
        ),
    ],
    ids=["code-patch", "model-minor", "schema-major"],
)
def test_each_change_bumps_its_part_and_gto_agrees(
    repo: Path, tmp_path: Path, change: dict[str, str], version: str, reason: str
) -> None:
    commit(repo, "change", change)
    plan = release_cli(repo, "plan")
    assert plan.stdout.strip() == version
    assert reason in plan.stderr
    write_dist(repo, version)
    out = release_cli(repo, "publish", "--version", version, "--push").stdout
    assert f"Published churn@v{version}" in out
    shown = json.loads(gto(repo, "show", "--json").stdout)["churn"]["version"]
    assert shown == f"v{version}"
    assert registry.latest_version("churn", repo) == shown  # GTO's API in-process agrees
    origin = tmp_path / "w" / "origin.git"
    assert f"churn@v{version}" in tags_at(origin)
    notes = (repo / "dist/RELEASE_NOTES.md").read_text()
    assert reason in notes
    assert "| Metric | v1.0.0 | v" + version + " | Change |" in notes


def test_metric_deltas_against_the_previous_release(repo: Path) -> None:
    commit(
        repo,
        "retrain",
        {
            "dvc.lock": lock_text("c" * 32),
            "models/metrics.json": json.dumps({"roc_auc": 0.93, "log_loss": 0.31}),
        },
    )
    assert release(repo, push=False) == "1.1.0"
    notes = (repo / "dist/RELEASE_NOTES.md").read_text()
    # No test predictions at either release: the move is shown, no better or worse claimed.
    assert "| ROC AUC | 0.9000 | 0.9300 | +0.0300 |" in notes
    assert "| Log loss | 0.3000 | 0.3100 | +0.0100 |" in notes
    assert "churn@v1.1.0" not in tags_at(repo), "a dry run must not tag"


def test_dry_run_writes_outputs_and_no_tag(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    commit(repo, "fix", {"pyproject.toml": '[project]\nname = "x"\nversion = "2"\n'})
    out = tmp_path / "github_output"
    monkeypatch.setenv("GITHUB_OUTPUT", str(out))
    version = release_cli(repo, "plan").stdout.strip()
    write_dist(repo, version)
    proc = release_cli(repo, "publish", "--version", version)
    assert "Dry run: would publish churn@v1.0.1" in proc.stdout
    assert out.read_text().splitlines() == [
        "release=true",
        "version=1.0.1",
        "tag=churn@v1.0.1",
        "bump=patch",
        "previous=1.0.0",
        "pushed=false",
        "notes=dist/RELEASE_NOTES.md",
    ]
    assert tags_at(repo) == ["churn@v1.0.0"]


def test_push_refuses_a_wheel_of_another_version_and_tags_nothing(repo: Path) -> None:
    commit(repo, "fix", {"src/churn/model.py": "def fit():\n    return 3\n"})
    write_dist(repo, "1.0.1", metadata_version="1.0.0")
    proc = release_cli(repo, "publish", "--version", "1.0.1", "--push", check=False)
    assert proc.returncode == 1
    assert "METADATA Version is '1.0.0', expected '1.0.1'" in proc.stderr
    assert tags_at(repo) == ["churn@v1.0.0"]


def test_push_refuses_uncommitted_shipped_files(repo: Path) -> None:
    commit(repo, "fix", {"src/churn/model.py": "def fit():\n    return 3\n"})
    (repo / "src/churn/model.py").write_text("def fit():\n    return 4\n")
    write_dist(repo, "1.0.1")
    proc = release_cli(repo, "publish", "--version", "1.0.1", "--push", check=False)
    assert proc.returncode == 1
    assert "uncommitted changes to shipped files: src/churn/model.py" in proc.stderr
    assert tags_at(repo) == ["churn@v1.0.0"]


def test_publish_refuses_a_stale_version(repo: Path) -> None:
    commit(repo, "retrain", {"dvc.lock": lock_text("d" * 32)})
    proc = release_cli(repo, "publish", "--version", "1.0.1", "--no-wheel", check=False)
    assert proc.returncode == 1
    assert "asked to publish 1.0.1, but the repository now calls for 1.1.0" in proc.stderr


def test_a_shallow_clone_without_tags_is_not_a_first_release(repo: Path, tmp_path: Path) -> None:
    commit(repo, "fix", {"src/churn/model.py": "def fit():\n    return 5\n"})
    shallow = tmp_path / "shallow"
    run(["git", "clone", "-q", "--depth=1", "--no-tags", f"file://{repo}", str(shallow)], tmp_path)
    proc = release_cli(shallow, "plan", check=False)
    assert proc.returncode == 1
    assert "no churn@v* tag in this shallow clone" in proc.stderr
    run(["git", "fetch", "-q", "--unshallow", "--tags", "origin"], shallow)
    assert release_cli(shallow, "plan").stdout.strip() == "1.0.1"


def test_artifact_must_be_declared_in_dvc_yaml(repo: Path) -> None:
    commit(repo, "rename", {"dvc.yaml": "artifacts:\n  model:\n    path: models/model.skops\n"})
    proc = release_cli(repo, "plan", check=False)
    assert proc.returncode == 1
    assert "dvc.yaml: no 'artifacts: churn:' entry" in proc.stderr


def test_promotion_rollback_and_history_with_gto(repo: Path) -> None:
    commit(repo, "retrain", {"dvc.lock": lock_text("e" * 32)})
    gto(repo, "register", "churn", "--version", "v1.1.0")
    gto(repo, "assign", "churn", "--version", "v1.1.0", "--stage", "prod")
    # Roll back: production gets v1.0.0 again, and v1.1.0 is withdrawn.
    gto(repo, "assign", "churn", "--version", "v1.0.0", "--stage", "prod", "-m", "roll back")
    gto(repo, "deprecate", "churn", "v1.1.0", "-m", "worse on new customers")
    assert {"churn#prod#1", "churn#prod#2", "churn@v1.1.0!"} <= set(tags_at(repo))
    history = json.loads(gto(repo, "history", "churn", "--json").stdout)
    # gto orders events by tag time, which has one-second resolution: compare as a set.
    assert sorted((e["event"], e["version"], e["stage"] or "") for e in history) == sorted(
        [
            ("deregistration", "v1.1.0", ""),
            ("assignment", "v1.0.0", "prod"),
            ("assignment", "v1.1.0", "prod"),
            ("registration", "v1.1.0", ""),
            ("registration", "v1.0.0", ""),
        ]
    )
    # The next release compares with v1.0.0 (the latest active version) but never reuses
    # the withdrawn number.
    commit(repo, "retrain again", {"dvc.lock": lock_text("f" * 32)})
    plan = release_cli(repo, "plan")
    assert plan.stdout.strip() == "1.1.1"
    assert "last release v1.0.0" in plan.stderr
    assert "v1.1.0 used before by a withdrawn registration, so v1.1.1" in plan.stderr


def test_registering_under_a_date_override_tags_and_leaves_the_override_set(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """git's own rebase exports GIT_COMMITTER_DATE; GTO's tag writer refuses to tag under it.
    The registration runs in this process, so it must set the date aside and put it back."""
    commit(repo, "fix", {"pyproject.toml": '[project]\nname = "x"\nversion = "2"\n'})
    monkeypatch.setenv("GIT_COMMITTER_DATE", "2020-01-01T00:00:00")
    who = registry.Identity("Release Bot", "release@example.com")
    tag = registry.register("churn", "1.0.1", "a patch", repo, who)
    assert tag == "churn@v1.0.1"
    fields = "--format=%(taggername) %(taggeremail)"
    tagger = run(["git", "for-each-ref", fields, f"refs/tags/{tag}"], repo).stdout.strip()
    assert tagger == "Release Bot <release@example.com>"
    assert registry.latest_version("churn", repo) == "v1.0.1"
    assert os.environ["GIT_COMMITTER_DATE"] == "2020-01-01T00:00:00"
