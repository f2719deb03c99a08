"""The image machinery's rules: what goes in, what the record must hold, what a deploy trusts.

Building and running the image is tested end to end in tests/e2e/test_image.py; these
tests hold the parts that decide what is built and what a release says about it.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
import yaml

from gitops.actions.deploy import DeployError, assignment, deployment_record, verify_checksums
from gitops.release import image
from release_support import write_dist
from support import BIN, ROOT
from support import env as support_env

DIGEST = "sha256:" + "ab" * 32
PARAMS = yaml.safe_load((ROOT / "params.yaml").read_text())


def settings(tmp_path: Path) -> image.ImageSettings:
    return image.ImageSettings.from_params(PARAMS, tmp_path, "params.yaml")


def record(version: str = "1.2.0", **pushed: str) -> dict:
    repository = pushed.get("repository", "ghcr.io/acme/churn/churn")
    digest = pushed.get("digest", DIGEST)
    return {
        "name": "churn",
        "version": version,
        "tag": f"churn:{version}",
        "engine": "podman",
        "size_bytes": 300 * 2**20,
        "user": "10001:10001",
        "wheel": f"churn_model-{version}-py3-none-any.whl",
        "wheel_sha256": "cd" * 32,
        "base_image": "python:3.11-slim@sha256:" + "ef" * 32,
        "pushed": {
            "repository": repository,
            "tag": version,
            "digest": digest,
            "reference": pushed.get("reference", f"{repository}@{digest}"),
        },
    }


def test_the_default_base_image_is_pinned_by_digest() -> None:
    base = image.containerfile_default(ROOT / PARAMS["image"]["containerfile"], "BASE_IMAGE")
    assert base is not None
    name, _, digest = base.partition("@")
    assert image.DIGEST_RE.fullmatch(digest), base
    assert name.startswith("docker.io/library/python:3.11"), "Python must match image.python"
    assert PARAMS["image"]["python"] == "3.11"


def test_settings_come_from_params_and_refuse_bad_names(tmp_path: Path) -> None:
    s = settings(tmp_path)
    assert s.name == "churn"
    assert s.distribution == "churn-model"
    assert s.record == tmp_path / "dist/image.json"
    with pytest.raises(image.ImageError, match="no `image:` section"):
        image.ImageSettings.from_params({"package": PARAMS["package"]}, tmp_path, "p.yaml")
    bad = {**PARAMS, "image": {**PARAMS["image"], "name": "Churn Model"}}
    with pytest.raises(image.ImageError, match="not a valid image name"):
        image.ImageSettings.from_params(bad, tmp_path, "p.yaml")


def test_the_wheel_is_found_by_name_and_checked_against_its_checksums(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    with pytest.raises(image.ImageError, match="run `make run` and `make package"):
        image.the_wheel(dist, "churn-model")
    wheel = write_dist(tmp_path, "1.3.0")
    assert image.the_wheel(dist, "churn-model").version == "1.3.0"
    wheel.write_bytes(wheel.read_bytes() + b"\0")
    with pytest.raises(image.ImageError, match="does not match"):
        image.the_wheel(dist, "churn-model")
    shutil.copy2(wheel, dist / "churn_model-1.4.0-py3-none-any.whl")
    with pytest.raises(image.ImageError, match=re.escape("expected one churn_model-*.whl")):
        image.the_wheel(dist, "churn-model")


def _wheel(dest: Path, requires: list[str]) -> Path:
    wheel = dest / "churn_model-1.0.0-py3-none-any.whl"
    meta = "Metadata-Version: 2.3\nName: churn-model\nVersion: 1.0.0\n"
    meta += "".join(f"Requires-Dist: {r}\n" for r in requires)
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr("churn_model-1.0.0.dist-info/METADATA", meta)
    return wheel


def _uv() -> str:
    found = shutil.which("uv", path=str(BIN)) or shutil.which("uv")
    return found or str(ROOT / ".tools/bin/uv")


@pytest.mark.process
def test_dependencies_are_pinned_to_uv_lock_with_hashes(tmp_path: Path) -> None:
    locked = image.locked_requirements(_wheel(tmp_path, ["pyyaml>=6.0"]), ROOT, _uv(), "3.11")
    lock = (ROOT / "uv.lock").read_text()
    (version,) = [v for n, v in image.pins(locked) if n == "pyyaml"]
    assert f'name = "pyyaml"\nversion = "{version}"' in lock
    assert "--hash=sha256:" in locked
    assert image.pins(locked) == {("pyyaml", version)}


@pytest.mark.process
def test_another_python_is_resolved_for_without_fetching_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # uv unpacks a Python it downloads under its install folder: none may appear there.
    installs = tmp_path / "uv-python"
    monkeypatch.setenv("UV_PYTHON_INSTALL_DIR", str(installs))
    locked = image.locked_requirements(_wheel(tmp_path, ["pyyaml>=6.0"]), ROOT, _uv(), "3.12")
    assert {n for n, _ in image.pins(locked)} == {"pyyaml"}
    assert not installs.exists(), "uv went looking for a Python 3.12 to download"


@pytest.mark.process
def test_a_dependency_uv_lock_does_not_pin_is_refused(tmp_path: Path) -> None:
    # iniconfig is locked for pytest only (dev), so the runtime pins leave it out.
    wheel = _wheel(tmp_path, ["pyyaml>=6.0", "iniconfig"])
    match = r"needs iniconfig==[\d.]+, which uv.lock does not pin"
    with pytest.raises(image.ImageError, match=match):
        image.locked_requirements(wheel, ROOT, _uv(), "3.11")


@pytest.mark.parametrize(
    ("url", "public"),
    [
        ("git@github.com:acme/churn.git", "https://github.com/acme/churn"),
        ("https://x-access-token:ghs_secret@github.com/acme/churn.git", "https://github.com/acme/churn"),
        ("ssh://git@gitlab.example.com:2222/ml/churn.git", "https://gitlab.example.com:2222/ml/churn"),
        ("/srv/git/churn.git", "unknown"),
    ],
)  # fmt: skip
def test_the_source_label_never_carries_credentials_or_local_paths(url: str, public: str) -> None:
    assert image.public_url(url) == public


def test_the_source_is_the_github_repository_in_actions(tmp_path: Path) -> None:
    env = {"GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "acme/churn"}
    assert image.source_url(tmp_path, env) == "https://github.com/acme/churn"
    assert image.source_url(tmp_path, {}) == "unknown"  # not a repository, no origin


def test_build_command_keeps_the_health_check_and_passes_the_base_only_when_given() -> None:
    args = {"VERSION": "1.2.0"}
    podman = image.Build("podman", "churn:1.2.0", None, args)
    cmd = podman.command(Path("/ctx"))
    assert cmd[:2] == ["podman", "build"]
    assert cmd[cmd.index("--format") + 1] == "docker"
    assert "BASE_IMAGE" not in " ".join(cmd)
    assert cmd[-1] == "/ctx"
    docker = image.Build("docker", "churn:1.2.0", "local/base:1", args)
    cmd = docker.command(Path("/ctx"))
    assert "--format" not in cmd
    assert "BASE_IMAGE=local/base:1" in cmd
    assert "VERSION=1.2.0" in cmd
    assert image.image_tag("churn", "1.2.0+local.3") == "churn:1.2.0-local.3"


def test_the_engine_is_the_one_asked_for_or_the_first_installed(tmp_path: Path) -> None:
    (tmp_path / "docker").write_text("#!/bin/sh\n")
    (tmp_path / "docker").chmod(0o755)

    def which(name: str) -> str | None:
        return shutil.which(name, path=str(tmp_path))

    assert image.choose_engine(None, which) == "docker"
    assert image.choose_engine("docker", which) == "docker"
    with pytest.raises(image.ImageError, match="'podman' is not installed"):
        image.choose_engine("podman", which)
    with pytest.raises(image.ImageError, match="neither podman nor docker"):
        image.choose_engine(None, lambda _: None)


def test_repositories_are_lower_case_and_tls_is_kept_off_loopback() -> None:
    env = {"GITHUB_REPOSITORY": "Acme/Churn-Model"}
    assert image.default_repository("churn", env) == "ghcr.io/acme/churn-model/churn"
    with pytest.raises(image.ImageError, match="GITHUB_REPOSITORY is not set"):
        image.default_repository("churn", {})
    with pytest.raises(image.ImageError, match="not a registry repository"):
        image.check_repository("ghcr.io/Acme/churn", tls_verify=True)
    with pytest.raises(image.ImageError, match="loopback registry only"):
        image.check_repository("ghcr.io/acme/churn", tls_verify=False)
    assert image.check_repository("127.0.0.1:5000/acme/churn", tls_verify=False)


def test_release_notes_name_the_digest_once_however_often_they_are_written() -> None:
    section = image.notes_section(record(), "acme/churn")
    ref = f"ghcr.io/acme/churn/churn@{DIGEST}"
    assert f"podman pull {ref}" in section
    assert f"gh attestation verify oci://{ref} --repo acme/churn" in section
    assert "runs as user `10001:10001`" in section
    notes = "# churn v1.2.0\n\nMinor release.\n"
    once = image.with_section(notes, section)
    assert once.startswith(notes)
    assert image.with_section(once, section) == once
    moved = image.notes_section(record(digest="sha256:" + "12" * 32), None)
    twice = image.with_section(once, moved)
    assert twice.count("## Container image") == 1
    assert DIGEST not in twice
    assert "gh attestation" not in twice


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"digest": "sha256:short"}, "is not a sha256 digest"),
        ({"repository": "ghcr.io/Acme/churn"}, "is not a repository"),
        ({"reference": "ghcr.io/other/churn@" + DIGEST}, "does not match"),
    ],
)
def test_a_record_with_a_doubtful_digest_is_refused(changes: dict, message: str) -> None:
    with pytest.raises(image.ImageError, match=message):
        image.pushed(record(**changes), "image.json")


def test_resolve_reads_the_release_assets_and_checks_the_version(tmp_path: Path) -> None:
    with pytest.raises(image.ImageError, match=re.escape("image.json: missing")):
        image.resolve(tmp_path, "v1.2.0")
    (tmp_path / "image.json").write_text(json.dumps(record()))
    assert image.resolve(tmp_path, "v1.2.0")["reference"] == f"ghcr.io/acme/churn/churn@{DIGEST}"
    with pytest.raises(
        image.ImageError, match=re.escape("records version 1.2.0, the deployment is of 1.3.0")
    ):
        image.resolve(tmp_path, "v1.3.0")
    unpushed = {k: v for k, v in record().items() if k != "pushed"}
    (tmp_path / "image.json").write_text(json.dumps(unpushed))
    with pytest.raises(image.ImageError, match="was not pushed"):
        image.resolve(tmp_path, "v1.2.0")


def test_the_deployment_record_names_the_image_by_digest(tmp_path: Path) -> None:
    write_dist(tmp_path, "1.2.0")
    assets = tmp_path / "dist"
    assign = assignment(
        {"event": "assignment", "artifact": "churn", "version": "v1.2.0", "stage": "prod"}, "t"
    )
    assert "image" not in deployment_record(assign, assets, {})  # a release without an image
    (assets / "image.json").write_text(json.dumps(record()))
    assert deployment_record(assign, assets, {})["image"] == f"ghcr.io/acme/churn/churn@{DIGEST}"
    (assets / "image.json").write_text(json.dumps(record("1.1.0")))
    with pytest.raises(DeployError, match=re.escape("records version 1.1.0")):
        deployment_record(assign, assets, {})


def _resolve_cli(assets: Path, outputs: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    cmd = [str(BIN / "python"), "-m", "gitops.release.image", "resolve", "--assets", str(assets)]
    env = {**support_env(), "GITHUB_OUTPUT": str(outputs)}
    return subprocess.run(
        [*cmd, "--version", "v1.2.0", *extra],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_deploy_step_outputs_the_image_or_nothing_for_a_release_without_one(
    tmp_path: Path,
) -> None:
    outputs = tmp_path / "outputs"
    missing = _resolve_cli(tmp_path, outputs)
    assert missing.returncode == 1
    assert "image.json: missing" in missing.stderr
    none = _resolve_cli(tmp_path, outputs, "--if-present")
    assert none.returncode == 0
    assert "this release has no image" in none.stderr
    assert outputs.read_text() == "image=\ndigest=\n"
    (tmp_path / "image.json").write_text(json.dumps(record()))
    outputs.unlink()
    found = _resolve_cli(tmp_path, outputs, "--if-present")
    assert found.returncode == 0, found.stderr
    assert found.stdout.strip() == f"ghcr.io/acme/churn/churn@{DIGEST}"
    assert outputs.read_text() == f"image=ghcr.io/acme/churn/churn@{DIGEST}\ndigest={DIGEST}\n"


SBOM = {
    "spdxVersion": "SPDX-2.3",
    "SPDXID": "SPDXRef-DOCUMENT",
    "name": f"ghcr.io/acme/churn/churn@{DIGEST}",
    "packages": [{"SPDXID": "SPDXRef-Package-python-numpy", "name": "numpy"}],
}


def released_dist(tmp_path: Path) -> tuple[image.ImageSettings, Path]:
    """dist/ after `make release` and the image job: the wheel, image.json, the SBOM."""
    wheel = write_dist(tmp_path, "1.2.0")
    conf = settings(tmp_path)
    built = {**record(), "wheel": wheel.name, "wheel_sha256": hashlib_sha256(wheel)}
    conf.record.write_text(json.dumps(built))
    conf.sbom.write_text(json.dumps(SBOM))
    return conf, tmp_path / "dist"


def hashlib_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_record_and_the_sbom_become_release_files(tmp_path: Path) -> None:
    conf, dist = released_dist(tmp_path)
    assert image.attach(conf, dist) == ["image.json", "sbom.spdx.json"]
    sums = (dist / "SHA256SUMS").read_text()
    assert f"{hashlib_sha256(conf.record)}  image.json\n" in sums
    assert f"{hashlib_sha256(conf.sbom)}  sbom.spdx.json\n" in sums
    listed = verify_checksums(dist)  # what deploy checks and publish uploads
    assert sorted(listed) == [
        "MODEL_CARD.md", "churn_model-1.2.0-py3-none-any.whl", "image.json", "sbom.spdx.json",
    ]  # fmt: skip
    image.attach(conf, dist)
    assert (dist / "SHA256SUMS").read_text() == sums, "attaching twice changes nothing"
    assets = subprocess.run(
        [str(BIN / "python"), "-m", "gitops.actions.deploy", "assets", "--dir", str(dist)],
        capture_output=True, text=True, check=True, env=support_env(),
    ).stdout.split()  # fmt: skip
    assert {Path(p).name for p in assets} >= {"image.json", "sbom.spdx.json", "SHA256SUMS"}


def test_only_an_image_of_this_wheel_with_a_real_sbom_is_attached(tmp_path: Path) -> None:
    conf, dist = released_dist(tmp_path)
    sums = (dist / "SHA256SUMS").read_text()
    other = {**json.loads(conf.record.read_text()), "wheel_sha256": "00" * 32}
    conf.record.write_text(json.dumps(other))
    with pytest.raises(image.ImageError, match=re.escape("records an image of churn_model-1.2.0")):
        image.attach(conf, dist)
    conf, dist = released_dist(tmp_path)
    for bad, message in [
        ({"spdxVersion": "SPDX-2.3", "packages": []}, "lists no packages"),
        ({"bomFormat": "CycloneDX", "specVersion": "1.6"}, "lists no components"),
        (["not", "an", "sbom"], "neither SPDX"),
    ]:
        conf.sbom.write_text(json.dumps(bad))
        with pytest.raises(image.ImageError, match=message):
            image.attach(conf, dist)
    conf.sbom.unlink()
    with pytest.raises(image.ImageError, match=re.escape("sbom.spdx.json: missing")):
        image.attach(conf, dist)
    assert (dist / "SHA256SUMS").read_text() == sums, "a refused attach leaves SHA256SUMS alone"
    cyclone = {"bomFormat": "CycloneDX", "specVersion": "1.6", "components": [{"name": "numpy"}]}
    conf.sbom.write_text(json.dumps(cyclone))
    assert image.check_sbom(conf.sbom) == "CycloneDX 1.6"


def test_the_notes_name_the_sbom_and_how_to_verify_the_signer() -> None:
    section = image.notes_section(record(), "acme/churn", "sbom.spdx.json")
    assert "--signer-workflow acme/churn/.github/workflows/release.yml" in section
    assert "release file `sbom.spdx.json`" in section
    assert "sbom" not in image.notes_section(record(), "acme/churn")
