"""The remote's rules without a server: which URLs are refused, how DVC's failures are told."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitops import gha
from gitops.actions import remote
from gitops.actions.remote import DvcRun, Settings, Target
from support import ROOT

# What DVC 3 printed against the loopback S3 server in the end-to-end tests.
NO_CREDENTIALS = """\
ERROR: unexpected error - Unable to locate credentials

Having any troubles? Hit us up at https://dvc.org/support, we are always happy to help!
"""
REFUSED = """\
ERROR: unexpected error - Forbidden: An error occurred (403) when calling the HeadObject \
operation: Forbidden

Having any troubles? Hit us up at https://dvc.org/support, we are always happy to help!
"""
NOTHING_PUSHED_YET = """\
WARNING: Some of the cache files do not exist neither locally nor on remote. Missing cache files:
md5: 589c590cb863c8a94705f8135843c7e7
md5: bd40124736049917d4c13cbddd71c769
md5: f04fbc576664702f7117eccf4a064e19
md5: 3a0d140e7ab07276aaf909e1f9360b22
Everything is up to date.
"""


def test_the_project_params_name_the_remote_and_its_timeout() -> None:
    settings = Settings.from_params(ROOT / "params.yaml")
    assert settings.name == "ci"
    assert settings.timeout_seconds > 0


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ("", "no `remote:` section"),
        ("remote:\n  name: 'ci remote'\n  timeout_seconds: 60\n", "remote.name must be"),
        ("remote:\n  name: ci\n  timeout_seconds: 0\n", "remote.timeout_seconds must be"),
        ("remote:\n  name: ci\n  timeout_seconds: true\n", "remote.timeout_seconds must be"),
    ],
)
def test_a_broken_remote_section_is_an_error_naming_file_and_key(
    tmp_path: Path, section: str, message: str
) -> None:
    params = tmp_path / "params.yaml"
    params.write_text("train:\n  seed: 1\n" + section)
    with pytest.raises(ValueError, match=message) as caught:
        Settings.from_params(params)
    assert str(params) in str(caught.value)


def test_no_url_in_the_environment_means_no_remote() -> None:
    assert Target.from_env({}) is None
    assert Target.from_env({"DVC_REMOTE_URL": "  "}) is None
    target = Target.from_env(
        {"DVC_REMOTE_URL": " s3://b/p ", "DVC_REMOTE_ENDPOINT": " http://127.0.0.1:9000 "}
    )
    assert target == Target("s3://b/p", "http://127.0.0.1:9000")


def test_without_a_url_main_says_so_and_succeeds(capsys: pytest.CaptureFixture[str]) -> None:
    assert remote.main(["pull", "--repo", str(ROOT)], environ={}) == 0
    assert "DVC_REMOTE_URL is not set" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("url", "endpoint", "action", "expected"),
    [
        ("s3://bucket/churn", "", "pull", None),
        ("s3://bucket/churn", "https://account.r2.cloudflarestorage.com", "pull", None),
        ("gs://bucket/churn", "http://127.0.0.1:4443", "push", None),
        ("azure://container/churn", "", "pull", None),
        ("bucket/churn", "", "pull", "is neither a URL"),
        ("s3:/bucket", "", "pull", "is neither a URL"),
        ("/no/such/folder", "", "pull", "folder /no/such/folder does not exist"),
        ("s3://bucket/churn", "127.0.0.1:9000", "pull", "is not an http:// or https:// URL"),
        ("azure://container/churn", "https://x.example", "push", "takes no endpoint"),
        ("ssh://host/srv/dvc", "https://x.example", "push", "takes no endpoint"),
    ],
)
def test_urls_dvc_would_misread_are_refused_before_dvc_runs(
    url: str, endpoint: str, action: str, expected: str | None
) -> None:
    found = remote.problem(Target(url, endpoint), action)
    if expected is None:
        assert found is None
    else:
        assert found is not None
        assert expected in found


def test_a_folder_remote_may_be_created_by_push_but_must_exist_for_pull(tmp_path: Path) -> None:
    missing = tmp_path / "store"
    assert remote.problem(Target(str(missing)), "push") is None
    assert remote.problem(Target(str(missing)), "pull") is not None
    missing.mkdir()
    assert remote.problem(Target(str(missing)), "pull") is None


def test_passwords_in_a_url_are_not_shown() -> None:
    assert remote.redact("ssh://dvc:s3cret@host:22/srv") == "ssh://dvc:***@host:22/srv"
    assert remote.redact("s3://bucket/churn") == "s3://bucket/churn"
    assert "s3cret" not in Target("https://u:s3cret@example.com/dvc").shown


def test_a_failure_is_told_in_dvcs_words_with_a_hint() -> None:
    reason = remote.failure(DvcRun(("pull",), 255, NO_CREDENTIALS, 60))
    assert reason is not None
    assert reason.startswith("Unable to locate credentials (the step got no credentials")
    refused = remote.failure(DvcRun(("pull",), 255, REFUSED, 60))
    assert refused is not None
    assert "(403)" in refused
    assert "the storage refused the credentials" in refused


def test_success_timeouts_and_silent_failures() -> None:
    assert remote.failure(DvcRun(("pull",), 0, NOTHING_PUSHED_YET, 60)) is None
    stopped = remote.failure(DvcRun(("push",), None, "", 30))
    assert stopped == "`dvc push` gave no answer within 30 s and was stopped"
    assert remote.failure(DvcRun(("pull",), 1, "", 60)) == "`dvc pull` exited with 1"
    assert remote.failure(DvcRun(("pull",), 1, "bad thing\n", 60)) == "bad thing"


def test_outputs_nobody_pushed_yet_are_counted() -> None:
    assert remote.missing_outputs(NOTHING_PUSHED_YET) == 4
    assert remote.missing_outputs("Everything is up to date.\n") == 0


def test_annotations_stay_one_line() -> None:
    line = gha.annotation("warning", "50% done\nthen failed")
    assert line == "::warning::50%25 done%0Athen failed"
    with pytest.raises(ValueError, match="annotation level"):
        gha.annotation("info", "x")


def _dvc_dir(tmp_path: Path) -> Path:
    """A repo's `.dvc/` as `dvc init` leaves it, with a local remote of the user's own."""
    dvc_dir = tmp_path / ".dvc"
    dvc_dir.mkdir()
    (dvc_dir / "config").write_text("[core]\n    autostage = true\n")
    (dvc_dir / "config.local").write_text("['remote \"mine\"']\n    url = /srv/dvc\n")
    return dvc_dir


def test_the_remote_is_written_to_config_local_as_the_default(tmp_path: Path) -> None:
    dvc_dir = _dvc_dir(tmp_path)
    settings = Settings(name="ci", timeout_seconds=60)
    target = Target("s3://bucket/churn", "http://127.0.0.1:9000")
    assert remote.configure(target, settings, tmp_path) is None
    local = (dvc_dir / "config.local").read_text()
    assert "[core]\n    remote = ci\n" in local
    assert "['remote \"ci\"']\n    url = s3://bucket/churn\n" in local
    assert "    endpointurl = http://127.0.0.1:9000\n" in local
    assert "['remote \"mine\"']\n    url = /srv/dvc\n" in local  # the user's own stays
    assert (dvc_dir / "config").read_text() == "[core]\n    autostage = true\n"

    again = Target("s3://other/churn")  # a second run replaces it, endpoint included
    assert remote.configure(again, settings, tmp_path) is None
    local = (dvc_dir / "config.local").read_text()
    assert "url = s3://other/churn\n" in local
    assert "endpointurl" not in local

    remote.unconfigure(settings, tmp_path)
    assert (dvc_dir / "config.local").read_text() == "['remote \"mine\"']\n    url = /srv/dvc\n"


def test_a_remote_dvc_refuses_to_configure_is_a_reason_and_changes_nothing(
    tmp_path: Path,
) -> None:
    dvc_dir = _dvc_dir(tmp_path)
    before = (dvc_dir / "config.local").read_bytes()
    settings = Settings(name="ci", timeout_seconds=60)
    reason = remote.configure(Target("foo://bucket/churn"), settings, tmp_path)
    assert reason is not None
    assert "Unsupported URL type foo://" in reason
    assert (dvc_dir / "config.local").read_bytes() == before
