"""`make release`: decide the version (plan), then check the package, write notes and tag.

    python -m gitops.release.cli plan                      # prints the version, or nothing
    python -m gitops.release.cli publish --version 1.3.0   # dry run: checks and notes only
    python -m gitops.release.cli publish --version 1.3.0 --push

The Makefile runs `make package VERSION=<v>` between the two steps. `publish` decides again
from git and GTO rather than trusting a file left by `plan`, and refuses when the answer
differs, so a tag always names the commit that was packaged.

A commit that already carries a release tag plans that same version again: the package and
notes are rebuilt and the tag is pushed if the remote lacks it, nothing new is tagged. That
makes a re-run of a release that stopped after tagging finish it instead of finding
"no release due".
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from gitops import git, yamltext
from gitops.files import write_text
from gitops.release import registry
from gitops.release.dist_check import CheckedWheel, DistError, check_dist
from gitops.release.notes import github_outputs, render
from gitops.release.version import (
    SEMVER,
    Decision,
    ReleaseConfig,
    Snapshot,
    decide,
    model_md5,
    skip_taken,
    strip_v,
)
from gitops.review.report import readings
from gitops.review.snapshot import from_git
from gitops.settings import Wording, section_or_default

LOCK = "dvc.lock"
PIPELINE = "dvc.yaml"


class ReleaseError(RuntimeError):
    """The repository is not in a state to release from; the message says why."""


@dataclass(frozen=True)
class Plan:
    decision: Decision
    commit: str
    previous_commit: str | None
    existing: bool = False  # the version's tag is already on this commit: finish, don't tag


def load_config(repo: Path, params: str = "params.yaml") -> ReleaseConfig:
    path = repo / params
    if not path.is_file():
        raise ReleaseError(f"{path}: not found")
    try:
        data = yamltext.load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as err:
        raise ReleaseError(f"{path}: not valid YAML ({err})") from None
    if not isinstance(data, dict):
        raise ReleaseError(f"{path}: expected a mapping at the top level")
    return ReleaseConfig.from_params(data, source=params)


def check_declared(config: ReleaseConfig, repo: Path, commit: str) -> None:
    """The artifact must be declared in dvc.yaml, pointing at the model we hash."""
    text = git.show_text(commit, PIPELINE, repo)
    try:
        pipeline = (yamltext.load(text) or {}) if text else {}
    except yaml.YAMLError as err:
        raise ReleaseError(f"{PIPELINE} at {commit[:12]}: not valid YAML ({err})") from None
    artifacts = pipeline.get("artifacts") if isinstance(pipeline, dict) else None
    entry = artifacts.get(config.artifact) if isinstance(artifacts, dict) else None
    if not isinstance(entry, dict):
        raise ReleaseError(
            f"{PIPELINE}: no 'artifacts: {config.artifact}:' entry at {commit[:12]}; declare the "
            "model there so GTO and DVC can find it (see params.yaml release.artifact)"
        )
    if entry.get("path") != config.model:
        raise ReleaseError(
            f"{PIPELINE}: artifacts.{config.artifact}.path is '{entry.get('path')}' but "
            f"params.yaml release.model is '{config.model}'; they must name the same file"
        )


def snapshot(config: ReleaseConfig, repo: Path, commit: str) -> Snapshot:
    lock = git.show_text(commit, LOCK, repo)
    return Snapshot(
        schema=git.show_text(commit, config.input_schema, repo),
        model_md5=model_md5(lock, config.model, source=f"{LOCK} at {commit[:12]}"),
    )


def _semver_key(version: str) -> tuple[int, int, int]:
    match = SEMVER.match(version)
    return (int(match["major"]), int(match["minor"]), int(match["patch"])) if match else (-1, 0, 0)


def _previous_release(config: ReleaseConfig, repo: Path, before: str) -> str | None:
    """The greatest registered version below `before` (for a commit that is already tagged)."""
    withdrawn = {t[:-1] for t in git.tags(f"{config.artifact}@v*!", repo)}
    prefix = f"{config.artifact}@v"
    lower = [
        t[len(prefix) :]
        for t in git.tags(f"{prefix}*", repo)
        if not t.endswith("!") and t not in withdrawn
    ]
    lower = [v for v in lower if _semver_key(v) < _semver_key(before)]
    return f"v{max(lower, key=_semver_key)}" if lower else None


def make_plan(config: ReleaseConfig, repo: Path, rev: str = "HEAD") -> Plan:
    commit = git.resolve(rev, repo)
    check_declared(config, repo, commit)
    existing = registry.versions_at(config.artifact, commit, repo)
    if existing:
        tagged = max(existing, key=_semver_key)
        previous = _previous_release(config, repo, tagged)
    else:
        previous = registry.latest_version(config.artifact, repo)
    if previous is None and registry.is_shallow(repo):
        raise ReleaseError(
            f"no {config.artifact}@v* tag in this shallow clone, so the last release is unknown; "
            "fetch history and tags (`git fetch --unshallow --tags`, or check out with "
            "fetch-depth: 0) before releasing"
        )
    new = snapshot(config, repo, commit)
    previous_commit = None
    if previous is None:
        decision = decide(config, None, None, new, [])
    else:
        previous_commit = git.resolve(f"refs/tags/{config.tag(strip_v(previous))}", repo)
        if not git.is_ancestor(previous_commit, commit, repo):
            raise ReleaseError(
                f"{commit[:12]} is not a descendant of the latest release {previous} "
                f"({previous_commit[:12]}): a version must build on the one before it; "
                "release from a commit whose history contains that tag"
            )
        old = snapshot(config, repo, previous_commit)
        changed = git.changed_files(previous_commit, commit, repo, paths=list(config.code))
        decision = decide(config, previous, old, new, changed)
    if existing:
        note = f"{config.tag(tagged)} already tags {commit[:12]}: rebuilt, nothing new to tag"
        decision = replace(decision, version=tagged, reasons=(*decision.reasons, note))
        return Plan(decision, commit, previous_commit, existing=True)
    taken = registry.used_versions(config.artifact, repo)
    return Plan(skip_taken(decision, taken), commit, previous_commit)


def read_metrics(repo: Path, commit: str, path: str) -> dict[str, Any] | None:
    text = git.show_text(commit, path, repo)
    if text is None:
        return None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise ReleaseError(f"{path} at {commit[:12]}: not valid JSON ({err})") from None
    if not isinstance(data, dict):
        raise ReleaseError(f"{path} at {commit[:12]}: expected an object of metric values")
    return data


def readings_between(repo: Path, previous: str | None, commit: str) -> dict[str, str] | None:
    """The review report's reading of each metric's move since the previous release."""
    if not previous:
        return None
    try:
        return readings(from_git(previous, repo), from_git(commit, repo))
    except (ValueError, KeyError, git.GitError) as err:
        print(f"warning: release notes without significance: {err}", file=sys.stderr)
        return None


def wording_at(repo: Path, commit: str) -> Wording:
    """The task's wording (params.yaml `wording:`) at the released commit."""
    text = git.show_text(commit, "params.yaml", repo) or ""
    try:
        params = yamltext.load(text) or {}
    except yaml.YAMLError:
        params = {}
    return section_or_default(Wording, params.get("wording") if isinstance(params, dict) else None)


def dirty_paths(config: ReleaseConfig, repo: Path) -> list[str]:
    """Shipped files whose working copy differs from HEAD (they would not match the tag)."""
    paths = [*config.code, config.input_schema, config.metrics, LOCK]
    proc = subprocess.run(
        ["git", "status", "--porcelain", "--", *paths],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    )
    return [line[3:] for line in proc.stdout.splitlines() if line.strip()]


def write_outputs(text: str) -> None:
    target = os.environ.get("GITHUB_OUTPUT")
    if target:
        with Path(target).open("a", encoding="utf-8") as fh:
            fh.write(text)


def describe(plan: Plan) -> str:
    d = plan.decision
    head = (
        f"{d.artifact}: last release v{d.previous} ({plan.previous_commit[:12]})"
        if d.previous and plan.previous_commit
        else f"{d.artifact}: no release yet"
    )
    verdict = f"{d.bump.value} → v{d.version}" if d.due else "no release due"
    reasons = [f"  - {r}" for r in d.reasons]
    return "\n".join([f"{head}; HEAD {plan.commit[:12]}: {verdict}", *reasons])


def cmd_plan(repo: Path, config: ReleaseConfig, *, push: bool = False) -> int:
    plan = make_plan(config, repo)
    if push and plan.decision.due:
        registry.tagger(repo)  # refuse now, before anything is built, when no one can tag
    print(describe(plan), file=sys.stderr)
    if plan.decision.due:
        print(plan.decision.version)
    else:
        print("Nothing shipped changed: no release is due, nothing built.", file=sys.stderr)
        write_outputs(github_outputs(plan.decision, pushed=False, notes=None))
    return 0


def cmd_publish(
    repo: Path, config: ReleaseConfig, version: str, *, push: bool, wheel: bool, remote: str
) -> int:
    plan = make_plan(config, repo)
    decision = plan.decision
    if not decision.due or decision.version != version:
        raise ReleaseError(
            f"asked to publish {version}, but the repository now calls for "
            f"{decision.version or 'no release'}; run `make release` again"
        )
    tag = config.tag(version)
    if registry.tag_exists(tag, repo) and not plan.existing:
        raise ReleaseError(f"tag {tag} already exists; `gto show {config.artifact}` lists it")
    identity = registry.tagger(repo) if push and not plan.existing else None
    dirty = dirty_paths(config, repo)
    if dirty and push:
        raise ReleaseError(f"uncommitted changes to shipped files: {', '.join(dirty)}")
    if dirty:
        listed = ", ".join(dirty)
        print(f"warning: not committed, so not in this release: {listed}", file=sys.stderr)
    checked: CheckedWheel | None = None
    if wheel:
        checked = check_dist(repo / config.dist, config.package, version)
        print(
            f"Wheel {checked.path.relative_to(repo)}: version {version}, "
            f"{len(checked.checked_files)} file(s) match SHA256SUMS",
            file=sys.stderr,
        )
    elif push:
        raise ReleaseError("refusing to tag without a checked wheel (`make package` must exist)")
    notes = render(
        decision,
        commit=plan.commit,
        previous_commit=plan.previous_commit,
        metrics_path=config.metrics,
        old_metrics=read_metrics(repo, plan.previous_commit, config.metrics)
        if plan.previous_commit
        else None,
        new_metrics=read_metrics(repo, plan.commit, config.metrics) or {},
        wheel=checked.path.name if checked else None,
        wheel_sha256=checked.sha256 if checked else None,
        wording=wording_at(repo, plan.commit),
        readings=readings_between(repo, plan.previous_commit, plan.commit),
    )
    write_text(repo / config.notes, notes)
    print(f"Release notes: {config.notes}", file=sys.stderr)
    if push and plan.existing:
        registry.push_tag(tag, remote, repo)
        print(f"{tag} was already tagged here; made sure {remote} has it.")
    elif push and identity is not None:
        message = f"{config.artifact} v{version} ({decision.bump.value}): " + "; ".join(
            decision.reasons
        )
        registry.register(config.artifact, version, message, repo, identity, ref=plan.commit)
        registry.push_tag(tag, remote, repo)
        print(f"Published {tag} (annotated, GTO format) to {remote}.")
    else:
        print(f"Dry run: would publish {tag} (version {version}). PUSH=1 tags and pushes it.")
    write_outputs(github_outputs(decision, pushed=push, notes=config.notes))
    return 0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="gitops.release.cli", description=__doc__.split("\n")[0])
    parser.add_argument("--repo", type=Path, default=Path(), help="repository root")
    parser.add_argument("--params", default="params.yaml", help="params file, relative to repo")
    sub = parser.add_subparsers(dest="command", required=True)
    plan = sub.add_parser("plan", help="print the version to publish (nothing when none is due)")
    plan.add_argument("--push", action="store_true", help="also check that a tag can be written")
    pub = sub.add_parser("publish", help="check the wheel, write notes; --push tags and pushes")
    pub.add_argument("--version", required=True, help="X.Y.Z, as printed by `plan`")
    pub.add_argument("--push", action="store_true", help="create the GTO tag and push it")
    pub.add_argument("--no-wheel", action="store_true", help="skip the wheel check (dry run)")
    pub.add_argument("--remote", default=None, help="git remote (default: release.remote)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    repo = args.repo.resolve()
    try:
        config = load_config(repo, args.params)
        if args.command == "plan":
            return cmd_plan(repo, config, push=args.push)
        return cmd_publish(
            repo,
            config,
            strip_v(args.version),
            push=args.push,
            wheel=not args.no_wheel,
            remote=args.remote or config.remote,
        )
    except (ValueError, ReleaseError, DistError, git.GitError, registry.RegistryError) as err:
        print(f"release: error: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
