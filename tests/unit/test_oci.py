"""Reading what a registry's tag holds, and what a push may do about it.

`oci.lookup` runs against a loopback registry that authenticates like ghcr.io (a Bearer
challenge, a token realm, blobs redirected to signed storage); the real `docker-registry`
and podman are used in tests/e2e/test_image_push.py. `check_tag` is the rule `image push`
applies to what the lookup found.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from fake_registry import TOKEN, FakeRegistry
from gitops.release import image, oci

REPO = "acme/churn/churn"
COMMIT = "c0ffee" * 6 + "abcd"
LABELS = {image.REVISION_LABEL: COMMIT, "org.opencontainers.image.version": "1.2.0"}


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[FakeRegistry]:
    fake = FakeRegistry()
    with fake.serve():
        yield fake


def logged_in(fake: FakeRegistry, tmp_path: Path) -> dict[str, str]:
    """The environment of a job after docker/login-action: HOME with ~/.docker/config.json."""
    home = tmp_path / "home"
    fake.docker_config(home)
    return {"HOME": str(home)}


def test_a_tag_is_read_with_a_token_and_storage_never_sees_it(
    registry: FakeRegistry, tmp_path: Path
) -> None:
    digest, image_id = registry.add_image(REPO, "1.2.0", LABELS)
    env = logged_in(registry, tmp_path)
    found = oci.lookup(f"{registry.host}/{REPO}", "1.2.0", tls_verify=False, env=env)
    assert found == oci.Tagged(digest=digest, image_id=image_id, labels=LABELS)
    paths = [path for path, _ in registry.requests]
    token = next(p for p in paths if p.startswith("/token"))
    assert f"scope=repository%3A{REPO.replace('/', '%2F')}%3Apull" in token
    storage = [(p, h) for p, h in registry.requests if p.startswith("/storage/")]
    assert storage, "the config blob comes from the storage redirect"
    assert all("Authorization" not in headers for _, headers in storage)
    tokens_sent = [h.get("Authorization") for p, h in registry.requests if p.startswith("/v2/")]
    assert tokens_sent[-1] == f"Bearer {TOKEN}"
    assert sum(p.startswith("/token") for p in paths) == 1, "one token for the whole lookup"


def test_a_new_tag_or_repository_is_none(registry: FakeRegistry, tmp_path: Path) -> None:
    env = logged_in(registry, tmp_path)
    registry.add_image(REPO, "1.1.0", LABELS)
    assert oci.lookup(f"{registry.host}/{REPO}", "1.2.0", tls_verify=False, env=env) is None
    assert oci.lookup(f"{registry.host}/acme/other", "1.0.0", tls_verify=False, env=env) is None


def test_an_index_has_no_single_image(registry: FakeRegistry, tmp_path: Path) -> None:
    digest = registry.add_index(REPO, "1.2.0")
    env = logged_in(registry, tmp_path)
    found = oci.lookup(f"{registry.host}/{REPO}", "1.2.0", tls_verify=False, env=env)
    assert found == oci.Tagged(digest=digest, image_id=None)


def test_a_basic_challenge_gets_the_stored_login(tmp_path: Path) -> None:
    fake = FakeRegistry(auth="basic")
    with fake.serve():
        digest, _ = fake.add_image(REPO, "1.2.0", LABELS)
        env = logged_in(fake, tmp_path)
        found = oci.lookup(f"{fake.host}/{REPO}", "1.2.0", tls_verify=False, env=env)
    assert found is not None
    assert found.digest == digest


def test_without_a_login_or_with_a_wrong_one_the_lookup_says_so(
    registry: FakeRegistry, tmp_path: Path
) -> None:
    registry.add_image(REPO, "1.2.0", LABELS)
    where = f"{registry.host}/{REPO}"
    with pytest.raises(oci.RegistryError, match=re.escape(f"GET {registry.url}/token: HTTP 401")):
        oci.lookup(where, "1.2.0", tls_verify=False, env={"HOME": str(tmp_path / "nobody")})
    env = logged_in(registry, tmp_path)
    registry.secret = "rotated"  # noqa: S105 (a test credential)
    with pytest.raises(oci.RegistryError, match="no token for repository:acme/churn/churn:pull"):
        oci.lookup(where, "1.2.0", tls_verify=False, env=env)


def test_a_redirect_to_a_local_file_is_refused(registry: FakeRegistry, tmp_path: Path) -> None:
    registry.add_image(REPO, "1.2.0", LABELS)
    registry.blob_redirect = "file:///etc/passwd"
    env = logged_in(registry, tmp_path)
    with pytest.raises(oci.RegistryError, match="refusing a file URL"):
        oci.lookup(f"{registry.host}/{REPO}", "1.2.0", tls_verify=False, env=env)


def test_with_tls_on_nothing_is_sent_over_http(registry: FakeRegistry, tmp_path: Path) -> None:
    env = logged_in(registry, tmp_path)
    with pytest.raises(oci.RegistryError):
        oci.lookup(f"{registry.host}/{REPO}", "1.2.0", tls_verify=True, env=env)
    assert registry.requests == [], "an https client never reached the http server"


def test_logins_are_read_where_podman_and_docker_keep_them(tmp_path: Path) -> None:
    def auth_file(path: Path, key: str, pair: str) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"auths": {key: {"auth": base64.b64encode(pair.encode())
                                                             .decode()}}}))  # fmt: skip

    home = tmp_path / "home"
    assert oci.credentials("ghcr.io", {"HOME": str(home)}) is None
    auth_file(home / ".docker/config.json", "https://ghcr.io", "docker:one")
    assert oci.credentials("ghcr.io", {"HOME": str(home)}) == ("docker", "one")
    auth_file(home / ".config/containers/auth.json", "ghcr.io", "podman:two")
    assert oci.credentials("ghcr.io", {"HOME": str(home)}) == ("podman", "two")
    auth_file(tmp_path / "auth.json", "ghcr.io", "file:three")
    env = {"HOME": str(home), "REGISTRY_AUTH_FILE": str(tmp_path / "auth.json")}
    assert oci.credentials("ghcr.io", env) == ("file", "three")
    assert oci.credentials("quay.io", env) is None
    (home / ".docker/config.json").write_text('{"credsStore": "desktop"}')
    (home / ".config/containers/auth.json").unlink()
    assert oci.credentials("ghcr.io", {"HOME": str(home)}) is None, "helpers are not run"


# --- What a push may do with what the tag holds --------------------------------------------

RECORD = {"id": "sha256:" + "1" * 64, "revision": COMMIT}
TARGET = "ghcr.io/acme/churn/churn:1.2.0"
HELD = "sha256:" + "9" * 64


def test_a_new_tag_or_the_same_image_is_pushed_without_more() -> None:
    assert image.check_tag(RECORD, TARGET, None).action == "new"
    same = image.check_tag(RECORD, TARGET, oci.Tagged(HELD, RECORD["id"], LABELS))
    assert (same.action, same.previous) == ("same", HELD)


def test_an_earlier_build_of_the_same_commit_is_re_pointed() -> None:
    check = image.check_tag(RECORD, TARGET, oci.Tagged(HELD, "sha256:" + "2" * 64, LABELS))
    assert (check.action, check.previous) == ("replace", HELD)
    assert f"held {HELD}, an earlier build of {COMMIT[:12]}" in check.message


@pytest.mark.parametrize(
    ("existing", "record", "message"),
    [
        (oci.Tagged(HELD, "sha256:" + "2" * 64, {image.REVISION_LABEL: "f" * 40}), RECORD,
         f"an image of commit {'f' * 40}, not of {COMMIT}"),
        (oci.Tagged(HELD, "sha256:" + "2" * 64, {}), RECORD, "an image of commit (none named)"),
        (oci.Tagged(HELD, "sha256:" + "2" * 64, LABELS), {**RECORD, "revision": "unknown"},
         "not of unknown"),
        (oci.Tagged(HELD, None), RECORD, "holds an image index"),
    ],
)  # fmt: skip
def test_a_tag_holding_anything_else_is_never_moved(
    existing: oci.Tagged, record: dict, message: str
) -> None:
    with pytest.raises(image.ImageError, match=re.escape(message)):
        image.check_tag(record, TARGET, existing)
