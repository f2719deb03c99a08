"""GitHub filter-pattern semantics, and the deploy workflow's tag filter against GTO tags."""

from __future__ import annotations

import pytest

from gitops.actions.filters import PatternError, matches, to_regex
from gitops.actions.workflows import load
from support import ROOT


@pytest.mark.parametrize(
    ("pattern", "yes", "no"),
    [
        # Examples from GitHub's filter pattern cheat sheet.
        ("feature/*", ["feature/my-branch", "feature/your-branch"], ["feature/a/b", "feat/x"]),
        ("feature/**", ["feature/beta-a/my-branch", "feature/your-branch"], ["features/x"]),
        ("*", ["main", "releases"], ["releases/mona-the-octocat"]),
        ("**", ["all/the/branches", "every/tag"], []),
        ("v2*", ["v2", "v2.0", "v2.9"], ["v1.2", "xv2"]),
        ("v[12].[0-9]+.[0-9]+", ["v1.10.1", "v2.0.0"], ["v3.0.0", "v1.a.1", "v1x1.1"]),
        ("*feature", ["mona-feature", "feature", "ver-10-feature"], ["feature-x"]),
        ("[CB]at", ["Cat", "Bat"], ["cat", "Hat", "CBat"]),
        ("[1-2]00", ["100", "200"], ["300", "1200"]),
        ("colou?r", ["color", "colour"], ["colouur"]),
        ("ab+c", ["abc", "abbbc"], ["ac"]),
        ("churn\\*", ["churn*"], ["churn", "churnx"]),
        ("a.b", ["a.b"], ["axb"]),
    ],
)
def test_patterns_match_like_github(pattern: str, yes: list[str], no: list[str]) -> None:
    for ref in yes:
        assert matches(ref, [pattern]), f"{pattern} should match {ref}"
    for ref in no:
        assert not matches(ref, [pattern]), f"{pattern} should not match {ref}"


def test_later_patterns_override_earlier_ones() -> None:
    patterns = ["releases/**", "!releases/**-alpha"]
    assert matches("releases/10", patterns)
    assert not matches("releases/beta/3-alpha", patterns)
    reincluded = [*patterns, "releases/keep-alpha"]
    assert matches("releases/keep-alpha", reincluded)
    assert not matches("releases/other-alpha", reincluded)


@pytest.mark.parametrize("bad", ["[a-", "[!a]", "[a-Z]", "+x", "a?+", "tag\\", "[]"])
def test_patterns_github_would_reject_are_errors(bad: str) -> None:
    with pytest.raises(PatternError):
        to_regex(bad)


def test_only_negative_patterns_are_an_error() -> None:
    with pytest.raises(PatternError, match="positive"):
        matches("main", ["!main"])


def deploy_tag_filter() -> list[str]:
    wf = load(ROOT / ".github/workflows/deploy.yml")
    tags = wf["on"]["push"]["tags"]
    assert isinstance(tags, list)
    assert all(isinstance(t, str) for t in tags)
    return tags


@pytest.mark.parametrize(
    "tag", ["churn#prod#3", "churn#staging#1", "churn#prod#12", "churn#dev-eu#2"]
)
def test_deploy_runs_for_stage_assignment_tags(tag: str) -> None:
    assert matches(tag, deploy_tag_filter())


@pytest.mark.parametrize(
    "tag",
    ["churn@v1.0.0", "churn@v2.3.4", "churn#prod!#4", "churn#prod#", "other#prod#1", "churn"],
)
def test_deploy_ignores_versions_unassignments_and_other_tags(tag: str) -> None:
    assert not matches(tag, deploy_tag_filter())
