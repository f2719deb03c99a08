"""The release's container image, built by `make image` and run the way a platform runs it.

The wheel is packaged from a reproduced pipeline, `make image` builds it on a Debian base made
here (no registry is reachable from CI machines like this one), and the container runs with
a read-only root file system, no capabilities and a published loopback port. It must become
healthy, score records exactly as `churn predict` does, and run as a non-root user. The
release path is then taken for real: pushed to a registry on loopback, named by digest in
the release notes, resolved from the release's assets and pulled by that digest.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

import container_support as cs
import sample
from gitops.release import image, oci
from support import BIN, ROOT, run

pytestmark = pytest.mark.slow
VERSION = "1.4.2"
PORT = 8080  # not the default 8000: the port is the image's PORT setting


@pytest.fixture(scope="module")
def podman(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """podman with the tests' own settings (CONTAINERS_CONF), or a skip saying what is missing."""
    problem = cs.podman_problem()
    if problem:
        pytest.skip(f"container image tests need podman: {problem}")
    conf = cs.containers_conf(tmp_path_factory.mktemp("podman") / "containers.conf")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CONTAINERS_CONF", str(conf))
        before = _images()
        try:
            yield {"CONTAINERS_CONF": str(conf)}
        finally:
            _remove_wheel_layers(before)


def _images() -> set[str]:
    listed = podman_cmd("images", "--all", "--quiet", "--no-trunc", check=False)
    return set(listed.stdout.split())


def _dangling() -> set[str]:
    listed = podman_cmd("images", "--quiet", "--no-trunc", "--filter", "dangling=true", check=False)
    return set(listed.stdout.split())


def _made_by(image: str) -> str:
    """The Containerfile instruction that made the image's top layer."""
    listed = podman_cmd("history", "--no-trunc", "--format", "{{.CreatedBy}}", image, check=False)
    return next(iter(listed.stdout.splitlines()), "")


def _reusable(made_by: str) -> bool:
    """Whether a layer is the same for every build with this uv.lock (Containerfile): the
    dependencies installed from requirements.txt, and the final stage's copy of them."""
    return "requirements.txt" in made_by or made_by.rstrip().endswith(" in /opt/churn")


def _remove_wheel_layers(before: set[str]) -> None:
    """Remove the layers this module's builds made from its wheels; keep the dependencies'.

    A build leaves its stages behind as untagged images. Their top layers hold this run's
    wheel and are never reused; below them, the locked dependencies' layers (pip installing
    requirements.txt, a minute from PyPI, and the final stage's copy of that environment)
    are the same for every build with the same uv.lock. `podman rmi` would take them too
    (it prunes untagged parents), so the layers are removed one at a time (`--no-prune`),
    from the top, down to those.
    """
    removed: set[str] = set()
    while ours := [i for i in sorted(_dangling() - before - removed) if not _reusable(_made_by(i))]:
        podman_cmd("rmi", "--force", "--no-prune", *ours, check=False)
        removed.update(ours)


@pytest.fixture(scope="module")
def base_image(podman: dict[str, str]) -> str:
    """IMAGE_TEST_BASE when set (any image with Python 3.11), else a Debian base made here."""
    given = os.environ.get("IMAGE_TEST_BASE")
    if given:
        return given
    problem = cs.base_problem()
    if problem:
        pytest.skip(f"no base image to build on: {problem}; or set IMAGE_TEST_BASE")
    return cs.local_base()


def podman_cmd(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return run(["podman", *args], ROOT, check=check)


def _uv() -> str:
    found = shutil.which("uv", path=str(BIN)) or shutil.which("uv")
    local = ROOT / ".tools" / "bin" / "uv"
    if found is None and not local.is_file():
        raise AssertionError("uv not found: run `make install` first")
    return found or str(local)


@dataclass(frozen=True)
class Built:
    repo: Path
    tag: str
    record: dict
    stdout: str
    seconds: float


@pytest.fixture(scope="module")
def built(
    pipeline_repo: Path, tmp_path_factory: pytest.TempPathFactory, base_image: str
) -> Iterator[Built]:
    """`make package` then `make image` in a copy of the reproduced project, as a user runs them."""
    repo = tmp_path_factory.mktemp("image") / "repo"
    shutil.copytree(pipeline_repo, repo, symlinks=True)
    (repo / ".venv").symlink_to(ROOT / ".venv")  # stands in for `make install` (-o install)
    make = ["make", "-o", "install", f"UV={_uv()}"]
    run([*make, "package", f"VERSION={VERSION}"], repo)
    tag = f"localhost/churn-test-{secrets.token_hex(4)}:{VERSION}"
    start = time.monotonic()
    proc = run([*make, "image", f"BASE_IMAGE={base_image}", f"IMAGE_TAG={tag}"], repo)
    seconds = time.monotonic() - start
    record = json.loads((repo / "dist/image.json").read_text())
    try:
        yield Built(repo, tag, record, proc.stdout, seconds)
    finally:
        # By id: the tag, and the name a pull by digest adds, go with it. The id is this
        # run's alone (the labels carry this copy's commit). Its parents stay (`--no-prune`)
        # for the podman fixture to remove down to the layers the next build reuses.
        podman_cmd("rmi", "--force", "--no-prune", record["id"], check=False)


@dataclass(frozen=True)
class Container:
    id: str
    url: str
    seconds_to_healthy: float


@pytest.fixture(scope="module")
def container(built: Built) -> Iterator[Container]:
    port = cs.free_port()
    started = time.monotonic()
    cid = podman_cmd(
        "run", "--detach", "--read-only", "--read-only-tmpfs=false", "--cap-drop=all",
        "--security-opt=no-new-privileges", "--env", f"PORT={PORT}",
        "--publish", f"127.0.0.1:{port}:{PORT}", built.tag,
    ).stdout.strip()  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}"

        def alive() -> bool:
            state = podman_cmd("inspect", "--format", "{{.State.Running}}", cid, check=False)
            return state.stdout.strip() == "true"

        try:
            cs.wait_for(f"{url}/health", seconds=120, alive=alive)
        except AssertionError as exc:
            logs = podman_cmd("logs", cid, check=False)
            raise AssertionError(f"{exc}\n--- container log\n{logs.stdout}{logs.stderr}") from None
        yield Container(cid, url, time.monotonic() - started)
    finally:
        podman_cmd("rm", "--force", "--time", "10", cid, check=False)


def _get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=30) as resp:  # noqa: S310 (loopback)
        return json.loads(resp.read())


def _post(url: str, payload: object) -> dict:
    req = urllib.request.Request(  # noqa: S310 (loopback)
        url, data=json.dumps(payload).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310
        return json.loads(resp.read())


def test_make_image_prints_size_and_digest_and_records_the_build(built: Built) -> None:
    record = built.record
    manifest = json.loads((built.repo / "dist/manifest.json").read_text())
    assert f"image: {built.tag} built with podman" in built.stdout
    assert f"id      {record['id']}" in built.stdout
    assert f"digest  {record['local_digest']}" in built.stdout
    assert "MB unpacked" in built.stdout
    assert record["version"] == VERSION
    assert record["wheel"] == f"churn_model-{VERSION}-py3-none-any.whl"
    labels = record["labels"]
    assert labels["org.opencontainers.image.version"] == VERSION
    assert labels["org.opencontainers.image.revision"] == manifest["git"]["commit"]
    assert labels["org.opencontainers.image.created"] == manifest["git"]["commit_time"]
    assert "org.opencontainers.image.source" in labels
    assert record["user"] == "10001:10001"
    assert "/health" in " ".join(record["healthcheck"])
    inspected = json.loads(podman_cmd("image", "inspect", built.tag).stdout)[0]
    assert record["size_bytes"] == inspected["Size"]


def test_image_holds_the_installed_wheel_and_nothing_to_build_or_train_with(built: Built) -> None:
    probe = (
        "import importlib.util as u, json, pathlib, shutil, churn; print(json.dumps({"
        "'churn': churn.__file__, 'training': [m for m in ('gitops.pipeline', 'gitops.review', "
        "'churn.model') if u.find_spec(m) is not None], 'pip': u.find_spec('pip') is not None, "
        "'compilers': [c for c in ('gcc', 'cc', 'make') if shutil.which(c)], "
        "'context': pathlib.Path('/context').exists(), "
        "'tests': [str(p) for p in pathlib.Path('/opt/churn').rglob('tests') if p.is_dir()]}))"
    )
    out = podman_cmd(
        "run", "--rm", "--read-only", "--entrypoint", "python", built.tag, "-c", probe
    ).stdout  # fmt: skip
    found = json.loads(out)
    assert found["churn"].startswith("/opt/churn/lib/python3.11/site-packages/churn/")
    assert found == {**found, "training": [], "pip": False}
    assert found["compilers"] == []
    assert found["context"] is False
    assert found["tests"] == []


@pytest.fixture(scope="module")
def records(built: Built) -> list[dict]:
    frame = sample.typed(built.repo).iloc[[0, 7, 42, 99]]
    contract = sample.contract(built.repo)
    rows = frame[[n for n in contract.input_names if n in frame]].to_dict(orient="records")
    return [{"customer_id": f"CRM-{i:04d}", **row} for i, row in enumerate(rows)]


def test_container_is_healthy_and_scores_like_churn_predict(
    container: Container, built: Built, records: list[dict], tmp_path: Path
) -> None:
    assert _get(f"{container.url}/health") == {"status": "ok", "model_version": VERSION}
    one = _post(f"{container.url}/predict", records[0])
    many = _post(f"{container.url}/predict", {"records": records})
    assert many["predictions"][0] == one["predictions"][0]
    batch = tmp_path / "records.csv"
    pd.DataFrame(records).to_csv(batch, index=False)
    scores = tmp_path / "scores.csv"
    run(
        [str(BIN / "churn"), "predict", "--model", "models/model.skops",
         "--input", str(batch), "--output", str(scores)],
        built.repo,
    )  # fmt: skip
    expected = pd.read_csv(scores)
    assert [p["customer_id"] for p in many["predictions"]] == list(expected["customer_id"])
    for pred, (_, row) in zip(many["predictions"], expected.iterrows(), strict=True):
        assert pred["churn_probability"] == pytest.approx(row["churn_probability"], abs=1e-6)
        assert pred["risk_band"] == row["risk_band"]
    health = podman_cmd("healthcheck", "run", container.id, check=False)
    assert health.returncode == 0, health.stdout + health.stderr


def test_container_runs_as_a_non_root_user(container: Container) -> None:
    uid = podman_cmd("exec", container.id, "id", "-u").stdout.strip()
    assert uid == "10001"
    top = podman_cmd("top", container.id, "user", "comm").stdout
    assert "root" not in top
    info = _get(f"{container.url}/model")
    assert info["version"] == VERSION


def test_container_stops_cleanly_on_sigterm(built: Built) -> None:
    cid = podman_cmd("run", "--detach", "--read-only", built.tag).stdout.strip()
    try:
        for _ in range(600):
            logs = podman_cmd("logs", cid, check=False)
            if "Uvicorn running on http://0.0.0.0:8000" in logs.stdout + logs.stderr:
                break
            time.sleep(0.1)
        else:
            raise AssertionError("the server never said it was listening on 0.0.0.0:8000")
        start = time.monotonic()
        podman_cmd("stop", "--time", "20", cid)
        assert time.monotonic() - start < 15, "SIGTERM did not stop the server"
        code = podman_cmd("inspect", "--format", "{{.State.ExitCode}}", cid).stdout.strip()
        assert code == "0"
    finally:
        podman_cmd("rm", "--force", cid, check=False)


def test_pushed_image_is_named_by_digest_and_deploys_by_it(built: Built, tmp_path: Path) -> None:
    binary = cs.registry_binary()
    if isinstance(binary, str):
        pytest.skip(f"no registry to push to: {binary}")
    with cs.registry(binary, tmp_path) as host:
        repository = f"{host}/example/churn/churn"
        cli = [str(BIN / "python"), "-m", "gitops.release.image"]
        pushed = run([*cli, "push", "--repository", repository, "--no-tls-verify"], built.repo)
        record = json.loads((built.repo / "dist/image.json").read_text())
        entry = record["pushed"]
        assert entry["reference"] == f"{repository}@{entry['digest']}"
        assert entry["reference"] in pushed.stdout
        assert f"{repository}:{VERSION} is new" in pushed.stdout
        # What a re-run's push finds under the tag: this very build (its config is its id).
        held = oci.lookup(repository, VERSION, tls_verify=False, env={})
        assert held is not None
        assert (held.digest, held.image_id) == (entry["digest"], record["id"])
        assert held.labels[image.REVISION_LABEL] == record["revision"]
        again = run([*cli, "push", "--repository", repository, "--no-tls-verify"], built.repo)
        assert "already holds this image" in again.stdout
        with urllib.request.urlopen(
            urllib.request.Request(
                f"http://{host}/v2/example/churn/churn/manifests/{VERSION}",
                method="HEAD",
                headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"},
            ),
            timeout=30,
        ) as resp:
            assert resp.headers["Docker-Content-Digest"] == entry["digest"]

        notes = built.repo / "dist/RELEASE_NOTES.md"
        notes.write_text(f"# churn v{VERSION}\n\nFirst release.\n")
        run(["make", "-o", "install", "image-notes"], built.repo)
        run(["make", "-o", "install", "image-notes"], built.repo)  # again: one section
        text = notes.read_text()
        assert text.startswith(f"# churn v{VERSION}\n\nFirst release.\n")
        assert text.count("## Container image") == 1
        assert f"podman pull {entry['reference']}" in text

        assets = tmp_path / "assets"
        assets.mkdir()
        shutil.copy2(built.repo / "dist/image.json", assets / "image.json")
        resolved = run([*cli, "resolve", "--assets", str(assets), "--version", f"v{VERSION}"],
                       built.repo)  # fmt: skip
        assert resolved.stdout.strip() == entry["reference"]
        wrong = run([*cli, "resolve", "--assets", str(assets), "--version", "v9.9.9"],
                    built.repo, check=False)  # fmt: skip
        assert wrong.returncode == 1
        assert f"records version {VERSION}, the deployment is of 9.9.9" in wrong.stderr

        podman_cmd("pull", "--tls-verify=false", entry["reference"])
        pulled = json.loads(podman_cmd("image", "inspect", entry["reference"]).stdout)[0]
        assert f"sha256:{pulled['Id'].removeprefix('sha256:')}" == record["id"]


def test_a_base_with_another_python_stops_the_build_saying_so(
    built: Built, base_image: str, tmp_path: Path
) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(built.repo, repo, symlinks=True)
    params = repo / "params.yaml"
    params.write_text(params.read_text().replace('python: "3.11"', 'python: "3.12"', 1))
    record_before = (repo / "dist/image.json").read_bytes()
    make = ["make", "-o", "install", f"UV={_uv()}", "image", f"BASE_IMAGE={base_image}"]
    proc = run([*make, f"IMAGE_TAG=localhost/churn-test-{secrets.token_hex(4)}:x"], repo,
               check=False)  # fmt: skip
    assert proc.returncode != 0
    out = proc.stdout + proc.stderr
    assert "the base image has Python 3.11, the dependencies were resolved for 3.12" in out
    assert "image: `podman build` exited" in proc.stderr
    assert (repo / "dist/image.json").read_bytes() == record_before, "the record was replaced"
