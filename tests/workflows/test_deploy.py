"""Promotion by tag: resolving GTO stage tags, verifying release assets, handing over.

The release wheel here is a small real wheel built by the test (a `churn` command with `info`
and `predict`), installed by uv into a fresh virtual environment exactly as the deploy
workflow does with the wheel from a GitHub Release.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import subprocess
import threading
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from gitops.actions.deploy import (
    DeployError,
    allowed_stages,
    assignment,
    deployment_record,
    parse_checksums,
    post_record,
    verify_checksums,
    verify_release,
)
from gitops.actions.filters import matches
from gitops.actions.workflows import load
from release_support import gto
from runner import Checkout, Runner, find_uv
from support import BIN, ROOT, run

SMOKE = [
    ["churn", "info", "--json"],
    ["churn", "predict", "--input", "{sample}", "--output", "{output}"],
]
SAMPLE = ROOT / "data/raw/iranian_churn.csv"
UV = find_uv()

CLI = """\
import csv, json, sys

def main():
    args = sys.argv[1:]
    if args == ["info", "--json"]:
        print(json.dumps({"model": "churn", "version": "VERSION"}))
    elif args[:2] == ["predict", "--input"] and args[3] == "--output":
        with open(args[2], newline="") as fh:
            rows = list(csv.DictReader(fh))
        if FAIL:
            raise SystemExit("model file is corrupt")
        with open(args[4], "w") as out:
            out.write("id,probability\\n")
            out.writelines(f"{n},0.5\\n" for n, _ in enumerate(rows))
    else:
        raise SystemExit(f"usage: churn info --json | churn predict --input F --output F: {args}")
"""


def _record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"sha256={digest}"


def build_wheel(dest: Path, version: str = "1.2.0", *, fail: bool = False) -> Path:
    """A minimal, valid, pure-Python wheel installing a `churn` console script."""
    dist = f"churn_smoke-{version}.dist-info"
    files = {
        "churn_smoke.py": CLI.replace("VERSION", version).replace("FAIL", str(fail)),
        f"{dist}/METADATA": f"Metadata-Version: 2.1\nName: churn-smoke\nVersion: {version}\n",
        f"{dist}/WHEEL": (
            "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        ),
        f"{dist}/entry_points.txt": "[console_scripts]\nchurn = churn_smoke:main\n",
    }
    record = [
        f"{name},{_record_hash(body.encode())},{len(body.encode())}" for name, body in files.items()
    ]
    files[f"{dist}/RECORD"] = "\n".join([*record, f"{dist}/RECORD,,"]) + "\n"
    dest.mkdir(parents=True, exist_ok=True)
    wheel = dest / f"churn_smoke-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        for name, body in files.items():
            zf.writestr(name, body)
    return wheel


def release_assets(dest: Path, *, fail: bool = False) -> Path:
    """What `make release` leaves in dist/ and the release publishes, with SHA256SUMS."""
    build_wheel(dest, fail=fail)
    (dest / "model-card.md").write_text("# churn v1.2.0\n")
    (dest / "metrics.json").write_text('{"roc_auc": 0.95}\n')
    names = sorted(p.name for p in dest.iterdir())
    subprocess.run(
        ["sha256sum", *names], cwd=dest, check=True, stdout=(dest / "SHA256SUMS").open("w")
    )
    return dest


def test_checksums_of_intact_assets_verify(tmp_path: Path) -> None:
    sums = verify_checksums(release_assets(tmp_path / "assets"))
    assert sorted(sums) == ["churn_smoke-1.2.0-py3-none-any.whl", "metrics.json", "model-card.md"]


def test_a_tampered_file_fails_the_checksum(tmp_path: Path) -> None:
    assets = release_assets(tmp_path / "assets")
    (assets / "metrics.json").write_text('{"roc_auc": 0.99}\n')
    with pytest.raises(DeployError, match=r"metrics\.json: SHA-256 .* does not match"):
        verify_checksums(assets)


def test_a_missing_file_fails_the_checksum(tmp_path: Path) -> None:
    assets = release_assets(tmp_path / "assets")
    (assets / "model-card.md").unlink()
    with pytest.raises(DeployError, match="not in the release assets"):
        verify_checksums(assets)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (f"{'a' * 64}  ../../etc/passwd\n", "not a plain file name"),
        (f"{'a' * 64}  x\n{'b' * 64}  x\n", "listed twice"),
        ("not a checksum line\n", "line 1"),
        ("\n", "lists no files"),
    ],
)
def test_malformed_checksum_files_are_refused(text: str, message: str) -> None:
    with pytest.raises(DeployError, match=message):
        parse_checksums(text)


def test_make_verify_release_installs_fresh_and_smoke_tests(
    tmp_path: Path, runner: Runner, merge_checkout: Checkout
) -> None:
    assets = release_assets(tmp_path / "assets")
    proc = runner.make("verify-release", merge_checkout.path, f"ASSETS={assets}")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "churn_smoke-1.2.0-py3-none-any.whl: OK" in proc.stdout
    assert "2 smoke commands ok" in proc.stdout
    assert "smoke test passed in a fresh environment" in runner.summary


def test_make_verify_release_stops_on_a_tampered_wheel(
    tmp_path: Path, runner: Runner, merge_checkout: Checkout
) -> None:
    assets = release_assets(tmp_path / "assets")
    with zipfile.ZipFile(next(assets.glob("*.whl")), "a") as zf:
        zf.writestr("extra.py", "import os\n")
    proc = runner.make("verify-release", merge_checkout.path, f"ASSETS={assets}")
    assert proc.returncode != 0
    assert "FAILED" in proc.stdout + proc.stderr


def test_a_wheel_that_cannot_predict_fails_the_smoke_test(tmp_path: Path) -> None:
    assets = release_assets(tmp_path / "assets", fail=True)
    with pytest.raises(DeployError, match="model file is corrupt"):
        verify_release(assets, commands=SMOKE, sample_source=SAMPLE, rows=3, uv=UV)


def test_a_wheel_without_the_command_fails_the_smoke_test(tmp_path: Path) -> None:
    assets = release_assets(tmp_path / "assets")
    with pytest.raises(DeployError, match="installs no `churn-serve` command"):
        verify_release(assets, commands=[["churn-serve"]], sample_source=SAMPLE, rows=3, uv=UV)


def test_smoke_test_scores_the_sample_rows(tmp_path: Path) -> None:
    result = verify_release(
        release_assets(tmp_path / "assets"), commands=SMOKE, sample_source=SAMPLE, rows=4, uv=UV
    )
    assert json.loads(result["outputs"][0]) == {"model": "churn", "version": "1.2.0"}
    assert result["outputs"][1].splitlines() == [
        "id,probability",
        "0,0.5",
        "1,0.5",
        "2,0.5",
        "3,0.5",
    ]


def test_release_assets_are_listed_for_publishing(tmp_path: Path) -> None:
    assets = release_assets(tmp_path / "assets")
    out = run(
        [str(BIN / "python"), "-m", "gitops.actions.deploy", "assets", "--dir", str(assets)], ROOT
    )
    listed = [Path(line).name for line in out.stdout.splitlines()]
    assert listed == [
        "churn_smoke-1.2.0-py3-none-any.whl",
        "metrics.json",
        "model-card.md",
        "SHA256SUMS",
    ]


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A git repo with two released versions, promoted and then rolled back with real gto.

    It declares the project's stages (its `.gto`); `churn#qa#4` is a tag someone pushed by
    hand for a stage nobody declared, as `gto assign` itself would refuse to make it.
    """
    repo = tmp_path_factory.mktemp("registry")
    run(["git", "init", "-q", "-b", "main"], repo)
    shutil.copy2(ROOT / ".gto", repo / ".gto")
    run(["git", "add", ".gto"], repo)
    for version in ("v1.0.0", "v1.1.0"):
        run(["git", "commit", "-q", "--allow-empty", "-m", f"model {version}"], repo)
        run(["git", "tag", "-a", f"churn@{version}", "-m", f"Release churn {version}"], repo)
    gto(repo, "assign", "churn", "--version", "v1.1.0", "--stage", "prod")
    gto(repo, "assign", "churn", "--version", "v1.1.0", "--stage", "staging")
    gto(repo, "assign", "churn", "--version", "v1.0.0", "--stage", "prod")  # rollback
    refused = gto(repo, "assign", "churn", "--version", "v1.1.0", "--stage", "qa", check=False)
    assert refused.returncode != 0, "gto itself refuses a stage .gto does not list"
    run(
        ["git", "tag", "-a", "churn#qa#4", "-m", "Assign churn v1.1.0 to qa", "churn@v1.1.0^{}"],
        repo,
    )
    return repo


def resolve(repo: Path, ref: str, runner: Runner) -> tuple[subprocess.CompletedProcess[str], Path]:
    args = ["-m", "gitops.actions.deploy", "resolve", "--ref", ref]
    return runner.run([str(BIN / "python"), *args], repo), runner.tmp / "output.txt"


@pytest.mark.slow
def test_gto_stage_tags_trigger_the_deploy_workflow(registry: Path) -> None:
    tags = run(["git", "tag", "--list", "churn#*"], registry).stdout.split()
    assert sorted(tags) == ["churn#prod#1", "churn#prod#3", "churn#qa#4", "churn#staging#2"]
    patterns = load(ROOT / ".github/workflows/deploy.yml")["on"]["push"]["tags"]
    assert all(matches(tag, patterns) for tag in tags)
    assert not matches("churn@v1.1.0", patterns)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("ref", "version", "stage"),
    [
        ("churn#staging#2", "v1.1.0", "staging"),
        ("churn#prod#3", "v1.0.0", "prod"),
    ],
)
def test_resolve_finds_the_assigned_version_including_rollbacks(
    registry: Path, runner: Runner, ref: str, version: str, stage: str
) -> None:
    proc, outputs = resolve(registry, ref, runner)
    assert proc.returncode == 0, proc.stderr
    lines = set(outputs.read_text().splitlines())
    assert {f"version={version}", f"stage={stage}", f"release_tag=churn@{version}"} <= lines
    assert f"tag={ref}" in lines


@pytest.mark.slow
@pytest.mark.parametrize(
    ("ref", "message"),
    [
        ("churn@v1.0.0", "not a stage assignment"),
        ("churn#prod#9", "found no version"),
        ("churn#qa#4", "stage 'qa' is not one of the stages in .gto (staging, prod)"),
    ],
)
def test_resolve_refuses_tags_that_assign_nothing(
    registry: Path, runner: Runner, ref: str, message: str
) -> None:
    proc, outputs = resolve(registry, ref, runner)
    assert proc.returncode == 1
    assert message in proc.stderr
    assert outputs.read_text() == ""


@pytest.mark.parametrize(
    ("info", "message"),
    [
        ({"event": "assignment", "artifact": "churn", "version": "v1", "stage": "prod"}, "vX.Y.Z"),
        (
            {"event": "assignment", "artifact": "churn", "version": "v1.0.0", "stage": "Prod!"},
            "environment",
        ),
        (
            {"event": "assignment", "artifact": "../x", "version": "v1.0.0", "stage": "prod"},
            "artifact",
        ),
    ],
)
def test_assignment_fields_are_validated(info: dict[str, str], message: str) -> None:
    with pytest.raises(DeployError, match=message):
        assignment(info, "churn#prod#1")


def test_the_stage_list_is_the_repository_s_gto_config(tmp_path: Path) -> None:
    assert allowed_stages(ROOT) == ["staging", "prod"]
    with pytest.raises(DeployError, match="no `stages:` list"):
        allowed_stages(tmp_path)
    (tmp_path / ".gto").write_text("stages: [prod, Prod!]\n")
    with pytest.raises(DeployError, match="cannot name GitHub environments"):
        allowed_stages(tmp_path)


class _Receiver(BaseHTTPRequestHandler):
    received: ClassVar[list[tuple[dict[str, str], dict[str, object]]]] = []
    status: ClassVar[int] = 201

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).received.append((dict(self.headers), body))
        self.send_response(type(self).status)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[tuple[str, type[_Receiver]]]:
    handler = type("Receiver", (_Receiver,), {"received": [], "status": 201})
    server = HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/deployments", handler
    finally:
        server.shutdown()
        server.server_close()


def test_handover_posts_the_deployment_record(
    tmp_path: Path, runner: Runner, receiver: tuple[str, type[_Receiver]]
) -> None:
    url, handler = receiver
    assets = release_assets(tmp_path / "assets")
    job = runner.with_env(DEPLOY_WEBHOOK_URL=url, DEPLOY_WEBHOOK_TOKEN="s3cret")  # noqa: S106
    args = [
        "--assets",
        str(assets),
        "--version",
        "v1.2.0",
        "--stage",
        "prod",
        "--tag",
        "churn#prod#3",
    ]
    proc = job.run([str(BIN / "python"), "-m", "gitops.actions.deploy", "handover", *args], ROOT)
    assert proc.returncode == 0, proc.stderr
    ((headers, body),) = handler.received
    assert headers["Authorization"] == "Bearer s3cret"
    assert body["release_tag"] == "churn@v1.2.0"
    assert body["stage"] == "prod"
    assert body["wheel"] == "churn_smoke-1.2.0-py3-none-any.whl"
    assert (
        body["wheel_sha256"] == parse_checksums((assets / "SHA256SUMS").read_text())[body["wheel"]]
    )
    assert body["run_url"] == "https://github.com/acme/churn/actions/runs/4242"
    assert "churn v1.2.0 → `prod`: handed over (HTTP 201)" in job.summary


def test_handover_fails_when_the_target_refuses(
    tmp_path: Path, receiver: tuple[str, type[_Receiver]]
) -> None:
    url, handler = receiver
    handler.status = 503
    record = deployment_record(
        assignment(
            {"event": "assignment", "artifact": "churn", "version": "v1.2.0", "stage": "prod"}, "t"
        ),
        release_assets(tmp_path / "assets"),
        {},
    )
    with pytest.raises(DeployError, match="503"):
        post_record(record, url, token=None, timeout=5)


@pytest.mark.parametrize(
    "url", ["http://example.com/hook", "ftp://127.0.0.1/x", "file:///etc/passwd"]
)
def test_handover_only_uses_https_or_loopback(url: str) -> None:
    with pytest.raises(DeployError, match="https"):
        post_record({}, url, token=None)
