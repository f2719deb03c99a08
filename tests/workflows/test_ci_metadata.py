"""`make ci-metadata` in a GitHub-like checkout writes what the comment workflow relies on."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gitops.actions.metadata import run_metadata
from runner import Checkout, Runner, link_environment
from support import run

SHA = "a" * 40


def pr_event(checkout: Checkout, number: object = 7) -> dict[str, object]:
    return {
        "action": "synchronize",
        "number": number,
        "pull_request": {
            "number": number,
            "head": {"sha": checkout.head, "ref": "feature", "repo": {"full_name": "fork/churn"}},
            "base": {"sha": checkout.base, "ref": "main"},
        },
    }


def test_pull_request_run_records_pr_head_and_base(
    merge_checkout: Checkout, runner: Runner
) -> None:
    job = runner.for_event("pull_request", pr_event(merge_checkout))
    proc = job.make("ci-metadata", merge_checkout.path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    meta = json.loads((merge_checkout.path / "reports/ci_metadata.json").read_text())
    assert meta == {
        "schema": 1,
        "event": "pull_request",
        "pr_number": 7,
        "head_sha": merge_checkout.head,
        "base_sha": merge_checkout.base,
        "tested_sha": merge_checkout.merge,
        "compared_base": merge_checkout.base,
    }
    summary = job.summary
    assert f"PR #7**: tested `{merge_checkout.merge[:12]}`" in summary
    assert f"compared with `{merge_checkout.base[:12]}` (HEAD^1)" in summary


def test_push_run_records_before_and_after(merge_checkout: Checkout, runner: Runner) -> None:
    event = {"before": merge_checkout.base, "after": merge_checkout.merge, "ref": "refs/heads/main"}
    proc = runner.for_event("push", event).make("ci-metadata", merge_checkout.path)
    assert proc.returncode == 0, proc.stderr
    meta = json.loads((merge_checkout.path / "reports/ci_metadata.json").read_text())
    assert meta["pr_number"] is None
    assert (meta["head_sha"], meta["base_sha"]) == (merge_checkout.merge, merge_checkout.base)


def test_bad_event_is_refused_and_keeps_the_previous_file(
    merge_checkout: Checkout, runner: Runner
) -> None:
    target = merge_checkout.path / "reports/ci_metadata.json"
    runner.for_event("pull_request", pr_event(merge_checkout)).make(
        "ci-metadata", merge_checkout.path
    )
    before = target.read_text()
    job = runner.for_event("pull_request", pr_event(merge_checkout, number="7; rm -rf /"))
    proc = job.make("ci-metadata", merge_checkout.path)
    assert proc.returncode != 0
    assert "pull_request.number" in proc.stderr
    assert target.read_text() == before


def test_shallow_clone_without_the_base_says_what_to_fetch(
    merge_checkout: Checkout, runner: Runner, tmp_path: Path
) -> None:
    clone = tmp_path / "shallow"
    origin = f"file://{merge_checkout.path}"
    run(["git", "clone", "-q", "--depth", "1", origin, str(clone)], tmp_path)
    link_environment(clone)
    proc = runner.for_event("pull_request", pr_event(merge_checkout)).make("ci-metadata", clone)
    assert proc.returncode != 0
    assert "HEAD^1" in proc.stderr
    assert "fetch" in proc.stderr


@pytest.mark.parametrize(
    ("event_name", "payload", "field"),
    [
        ("pull_request", {}, "pull_request"),
        ("pull_request", {"pull_request": {"number": True}}, "pull_request.number"),
        ("pull_request", {"pull_request": {"number": 3, "head": {"sha": "abc"}}}, "head.sha"),
        ("push", {"after": SHA, "before": "not-a-sha"}, "before"),
    ],
)
def test_malformed_events_name_the_field(
    event_name: str, payload: dict[str, object], field: str
) -> None:
    with pytest.raises(ValueError, match=field):
        run_metadata(event_name, payload, tested_sha=SHA, compared_base=SHA)


def test_first_push_of_a_branch_compares_with_head_parent() -> None:
    meta = run_metadata(
        "push", {"after": SHA, "before": "0" * 40}, tested_sha=SHA, compared_base="b" * 40
    )
    assert meta["base_sha"] == "b" * 40
