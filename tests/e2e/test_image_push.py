"""Pushing a release's version again: real podman, a real registry on loopback.

A release re-run pushes the same version a second time. `image push` looks at what the tag
holds first: this very image is pushed again as it is, an earlier build of the same commit
is replaced (and the record says which digest it replaced), and another commit's image is
never moved. The images are small ones imported here with the labels a build writes, so
the rule is tested without building the model's image (tests/e2e/test_image.py does that).
"""

from __future__ import annotations

import json
import secrets
import shutil
import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

import container_support as cs
from gitops.release import image, oci
from support import BIN, ROOT, run
from support import env as support_env

VERSION = "1.2.0"
COMMIT = "5eed" * 10


@pytest.fixture(scope="module")
def podman(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    problem = cs.podman_problem()
    if problem:
        pytest.skip(f"pushing images needs podman: {problem}")
    conf = cs.containers_conf(tmp_path_factory.mktemp("podman") / "containers.conf")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CONTAINERS_CONF", str(conf))
        yield


@pytest.fixture
def registry(podman: None, tmp_path: Path) -> Iterator[str]:
    binary = cs.registry_binary()
    if isinstance(binary, str):
        pytest.skip(f"no registry to push to: {binary}")
    storage = tmp_path / "registry-data"
    storage.mkdir()
    with cs.registry(binary, storage) as host:
        yield host


@pytest.fixture
def images() -> Iterator[list[str]]:
    """Ids of the images a test imported, removed afterwards (by id: nobody else's)."""
    made: list[str] = []
    yield made
    for image_id in made:
        subprocess.run(["podman", "rmi", "--force", image_id], capture_output=True, check=False)


def make_image(tmp_path: Path, made: list[str], revision: str, content: str) -> tuple[str, str]:
    """A one-file image labelled as `make image` labels a build; returns (tag, id)."""
    root = tmp_path / f"rootfs-{secrets.token_hex(4)}"
    root.mkdir()
    (root / "build.txt").write_text(content)
    tarball = root.with_suffix(".tar")
    run(["tar", "-C", str(root), "-cf", str(tarball), "."], tmp_path)
    tag = f"localhost/churn-push-test-{secrets.token_hex(4)}:{VERSION}"
    run(["podman", "import", "--change", f"LABEL {image.REVISION_LABEL}={revision}",
         str(tarball), tag], tmp_path)  # fmt: skip
    image_id = run(["podman", "image", "inspect", "--format", "{{.Id}}", tag], tmp_path)
    made.append(image_id.stdout.strip())
    return tag, f"sha256:{image_id.stdout.strip()}"


def project(tmp_path: Path) -> Path:
    """A folder with the project's params.yaml, as `image push` reads it, and a dist/."""
    repo = tmp_path / "project"
    (repo / "dist").mkdir(parents=True)
    shutil.copy2(ROOT / "params.yaml", repo / "params.yaml")
    return repo


def write_record(repo: Path, tag: str, image_id: str, revision: str = COMMIT) -> None:
    record = {"name": "churn", "version": VERSION, "tag": tag, "engine": "podman",
              "id": image_id, "revision": revision}  # fmt: skip
    (repo / "dist/image.json").write_text(json.dumps(record))


def push(repo: Path, repository: str, outputs: Path) -> subprocess.CompletedProcess[str]:
    cmd = [str(BIN / "python"), "-m", "gitops.release.image", "push", "--repository", repository,
           "--no-tls-verify"]  # fmt: skip
    env = {**support_env(), "GITHUB_OUTPUT": str(outputs)}
    return subprocess.run(cmd, cwd=repo, env=env, capture_output=True, text=True, check=False)


def tag_digest(host: str, name: str) -> str:
    req = urllib.request.Request(
        f"http://{host}/v2/{name}/manifests/{VERSION}",
        method="HEAD",
        headers={"Accept": ", ".join(oci.MANIFEST_TYPES)},
    )
    with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310
        return str(resp.headers["Docker-Content-Digest"])


def test_pushing_a_version_again_re_points_only_a_rebuild_of_its_commit(
    registry: str, images: list[str], tmp_path: Path
) -> None:
    repo = project(tmp_path)
    repository = f"{registry}/example/churn/churn"
    outputs = tmp_path / "outputs"

    first_tag, first_id = make_image(tmp_path, images, COMMIT, "first build")
    write_record(repo, first_tag, first_id)
    proc = push(repo, repository, outputs)
    assert proc.returncode == 0, proc.stderr
    assert f"{repository}:{VERSION} is new" in proc.stdout
    first = json.loads((repo / "dist/image.json").read_text())["pushed"]
    assert tag_digest(registry, "example/churn/churn") == first["digest"]
    assert f"digest={first['digest']}" in outputs.read_text()
    held = oci.lookup(repository, VERSION, tls_verify=False, env={})
    assert held == oci.Tagged(first["digest"], first_id, {image.REVISION_LABEL: COMMIT})

    again = push(repo, repository, outputs)  # the same build, pushed by a re-run
    assert again.returncode == 0, again.stderr
    assert "already holds this image" in again.stdout
    assert "::warning" not in again.stdout

    rebuilt_tag, rebuilt_id = make_image(tmp_path, images, COMMIT, "second build")
    write_record(repo, rebuilt_tag, rebuilt_id)
    rebuilt = push(repo, repository, outputs)
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert "::warning title=Image tag::" in rebuilt.stdout
    assert f"held {first['digest']}, an earlier build of {COMMIT[:12]}" in rebuilt.stdout
    second = json.loads((repo / "dist/image.json").read_text())["pushed"]
    assert second["replaced"] == first["digest"]
    assert second["digest"] != first["digest"]
    assert tag_digest(registry, "example/churn/churn") == second["digest"]

    other_tag, other_id = make_image(tmp_path, images, "f" * 40, "another commit")
    write_record(repo, other_tag, other_id, revision="f" * 40)
    refused = push(repo, repository, outputs)
    assert refused.returncode == 1
    assert f"an image of commit {COMMIT}, not of {'f' * 40}" in refused.stderr
    assert tag_digest(registry, "example/churn/churn") == second["digest"], "the tag moved"
    assert "pushed" not in json.loads((repo / "dist/image.json").read_text())
