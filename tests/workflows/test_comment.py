"""The report comment stays one comment: found on any page, only ours, never an impostor's.

The command runs as pr-comment.yml runs it (bare `python3`, only `src` on the path) against
a loopback fake of GitHub's REST API holding long conversations.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from fake_github import ACTIONS_APP, BOT, FakeGitHub
from gitops.actions.comment import find_report, is_ours, marked, with_marker
from gitops.actions.github import GitHub, GitHubError, next_link
from gitops.review.marker import MARKER, has_marker
from runner import Runner
from support import ROOT

HEAD = "c0ffee" + "0" * 34
PYTHON3 = shutil.which("python3", path="/usr/bin:/usr/local/bin") or "python3"
OLD_REPORT = f"## Model report\n\nold numbers\n\n{MARKER}\n"
NEW_REPORT = f"## Model report\n\nnew numbers\n\n{MARKER}\n"


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    fake = FakeGitHub()
    fake.add_pull(7, HEAD)
    with fake.serve():
        yield fake


def post(
    github: FakeGitHub, runner: Runner, body: str, *extra: str
) -> subprocess.CompletedProcess[str]:
    comment = runner.tmp / "comment.md"
    comment.write_text(body)
    job = runner.for_event("workflow_run", {}).with_env(
        **github.env(), PYTHONPATH=str(ROOT / "src"), PATH="/usr/bin:/bin"
    )
    args = ["post", "--pr", "7", "--body", str(comment), "--head-sha", HEAD]
    return job.run(
        [PYTHON3, "-m", "gitops.actions.comment", *args, "--head-repo", github.repo, *extra], ROOT
    )


def chatter(github: FakeGitHub, n: int) -> None:
    for i in range(n):
        github.add_comment(7, f"review remark {i}")


def test_the_report_on_a_later_page_is_updated_and_impostors_are_left_alone(
    github: FakeGitHub, runner: Runner
) -> None:
    impostor = github.add_comment(7, f"> quoting the bot:\n{MARKER}\nlooks wrong")
    chatter(github, 110)
    other_bot = github.add_comment(
        7, f"{MARKER}\n", {"login": "dependabot[bot]", "type": "Bot"}, {"slug": "dependabot"}
    )
    # The 113th comment: past GitHub's default page of 30, and past our page of 100.
    ours = github.add_comment(7, OLD_REPORT, dict(BOT), dict(ACTIONS_APP))
    chatter(github, 10)
    proc = post(github, runner, NEW_REPORT)
    assert proc.returncode == 0, proc.stderr
    assert ours["body"] == NEW_REPORT
    assert impostor["body"].startswith("> quoting the bot")
    assert other_bot["body"] == f"{MARKER}\n"
    assert len(github.comments[7]) == 123, "no new comment"
    assert "2 other comment(s) quote the marker" in proc.stdout
    listed = [p for m, p in github.requests if m == "GET" and "/comments" in p]
    assert any("page=2" in p for p in listed), "the second page was read"
    assert ("PATCH", f"/repos/acme/churn/issues/comments/{ours['id']}") in github.requests
    assert "action=updated" in (runner.tmp / "output.txt").read_text()


def test_first_run_creates_one_comment_and_the_next_updates_it(
    github: FakeGitHub, runner: Runner
) -> None:
    chatter(github, 31)
    github.add_comment(7, f"I copied the bot's marker: {MARKER}\n{MARKER}")
    assert post(github, runner, OLD_REPORT).returncode == 0
    assert post(github, runner, NEW_REPORT).returncode == 0
    reports = [c for c in github.comments[7] if c["user"]["login"] == BOT["login"]]
    assert [c["body"] for c in reports] == [NEW_REPORT]
    assert len(github.comments[7]) == 33


def test_a_body_without_the_marker_gets_it_so_the_next_run_finds_it(
    github: FakeGitHub, runner: Runner
) -> None:
    assert post(github, runner, "## Model report\n\nCI failed before the report.\n").returncode == 0
    assert post(github, runner, NEW_REPORT).returncode == 0
    assert [c["body"] for c in github.comments[7]] == [NEW_REPORT]


def test_a_pr_that_moved_on_gets_no_comment(github: FakeGitHub, runner: Runner) -> None:
    github.pulls[7]["head"]["sha"] = "b" * 40
    proc = post(github, runner, NEW_REPORT)
    assert proc.returncode == 0
    assert "has moved on" in proc.stdout
    assert github.comments[7] == []
    assert not any(m in {"POST", "PATCH"} for m, _ in github.requests)


def test_a_pr_number_of_another_repository_is_refused(github: FakeGitHub, runner: Runner) -> None:
    github.pulls[7]["head"]["repo"]["full_name"] = "mallory/churn"
    proc = post(github, runner, NEW_REPORT)
    assert proc.returncode == 2
    assert "comes from mallory/churn" in proc.stderr
    assert github.comments[7] == []


def test_an_oversized_body_is_replaced_by_a_note_that_links_the_run(
    github: FakeGitHub, runner: Runner
) -> None:
    proc = post(github, runner, "x" * 70_000)
    assert proc.returncode == 0, proc.stderr
    assert "over GitHub's 65,536" in proc.stderr
    [comment] = github.comments[7]
    assert f"{len(marked('x' * 70_000)):,} characters long" in comment["body"]
    assert "https://github.com/acme/churn/actions/runs/4242" in comment["body"]
    assert has_marker(comment["body"])


def test_api_errors_name_the_request_and_github_s_message(
    github: FakeGitHub, runner: Runner
) -> None:
    github.fail_once("POST", r"/issues/7/comments$", 500)
    proc = post(github, runner, NEW_REPORT)
    assert proc.returncode == 2
    assert "POST http://127.0.0.1" in proc.stderr
    assert "HTTP 500: Server Error" in proc.stderr
    assert "No comment posted" in runner.summary


def test_a_wrong_token_is_a_clear_401(github: FakeGitHub) -> None:
    api = GitHub(github.url, github.repo, "wrong")
    with pytest.raises(GitHubError, match="HTTP 401: Bad credentials"):
        api.get(api.repo_path("pulls", 7))


def test_paging_reads_every_comment_at_100_a_page(github: FakeGitHub) -> None:
    chatter(github, 250)
    api = GitHub(github.url, github.repo, github.token)
    assert len(list(api.paginate(api.repo_path("issues", 7, "comments")))) == 250
    pages = [p for m, p in github.requests if m == "GET"]
    assert len(pages) == 3
    assert all("per_page=100" in p for p in pages)


def test_the_token_never_follows_a_link_to_another_host() -> None:
    api = GitHub("https://api.github.com", "acme/churn", "t")
    with pytest.raises(GitHubError, match="another host"):
        api.url("https://evil.example/repos/acme/churn/issues/7/comments?page=2")
    assert api.url("https://uploads.github.com/repos/acme/churn/releases/1/assets?name=a")
    with pytest.raises(ValueError, match="https"):
        GitHub("http://api.example.com", "acme/churn")


def test_link_header_parsing() -> None:
    header = '<https://x/y?page=2>; rel="next", <https://x/y?page=5>; rel="last"'
    assert next_link(header) == "https://x/y?page=2"
    assert next_link('<https://x/y?page=1>; rel="first"') is None
    assert next_link(None) is None


@pytest.mark.parametrize(
    ("comment", "ours"),
    [
        ({"user": BOT, "performed_via_github_app": ACTIONS_APP, "body": OLD_REPORT}, True),
        ({"user": BOT, "performed_via_github_app": None, "body": OLD_REPORT}, True),
        ({"user": BOT, "body": "no marker here"}, False),
        ({"user": {"login": "github-actions[bot]", "type": "User"}, "body": OLD_REPORT}, False),
        ({"user": {"login": "alice", "type": "User"}, "body": OLD_REPORT}, False),
        ({"user": BOT, "performed_via_github_app": {"slug": "other"}, "body": OLD_REPORT}, False),
        ({"user": BOT, "body": f"inline {MARKER} mention"}, False),
    ],
)
def test_what_counts_as_our_report(comment: dict, ours: bool) -> None:
    assert is_ours(comment, BOT["login"]) is ours


def test_the_oldest_of_duplicate_reports_is_kept_in_place() -> None:
    first = {"id": 1, "user": BOT, "body": OLD_REPORT}
    second = {"id": 2, "user": BOT, "body": OLD_REPORT}
    found, ignored = find_report([first, second], BOT["login"])
    assert found is first
    assert ignored == 0


def test_marker_is_appended_once() -> None:
    assert with_marker("hello\n").endswith(f"\n\n{MARKER}\n")
    assert with_marker(NEW_REPORT) == NEW_REPORT


def test_the_marker_has_one_definition() -> None:
    uses = [
        p.relative_to(ROOT)
        for p in (ROOT / "src").rglob("*.py")
        if "<!-- gitops-report -->" in p.read_text()
    ]
    assert uses == [Path("src/gitops/review/marker.py")]
