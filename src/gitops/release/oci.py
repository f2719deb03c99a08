"""What a container registry holds under a tag, read over the OCI distribution API.

`image push` asks before it pushes, so that pushing a version again (a re-run of a release
that stopped half-way) is a decision, not an accident: the tag may be absent, hold this very
image, hold an earlier build of the same commit, or hold something else. Standard library
only; credentials are the ones `docker login` or `podman login` stored (docker/login-action
in a workflow), sent only to the registry that asks for them, never to a storage redirect.
"""

from __future__ import annotations

import base64
import json
import os
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MANIFEST_TYPES = (
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
)
INDEX_TYPES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
)
DIGEST_RE = re.compile(r"sha256:[0-9a-f]{64}")
CHALLENGE_RE = re.compile(r'(\w+)="([^"]*)"')
MAX_BYTES = 4 * 2**20  # manifests and image configs are a few kB


class RegistryError(RuntimeError):
    """The registry could not be read; the message names the URL and what it answered."""


@dataclass(frozen=True)
class Tagged:
    """What a tag points at: the manifest's digest and, for a single image, its config."""

    digest: str
    image_id: str | None  # the config's digest (podman's and docker's image id); None for an index
    labels: dict[str, str] = field(default_factory=dict)


def split(repository: str) -> tuple[str, str]:
    """`host[:port]/path` as (host, path)."""
    host, _, path = repository.partition("/")
    if not host or not path:
        raise RegistryError(f"'{repository}' is not host/path")
    return host, path


def _auth_files(env: Mapping[str, str]) -> list[Path]:
    """Where podman and docker keep logins, in the order podman reads them."""
    files = []
    if env.get("REGISTRY_AUTH_FILE"):
        files.append(Path(env["REGISTRY_AUTH_FILE"]))
    if env.get("XDG_RUNTIME_DIR"):
        files.append(Path(env["XDG_RUNTIME_DIR"]) / "containers/auth.json")
    home = Path(env.get("HOME") or Path.home())
    files.append(home / ".config/containers/auth.json")
    files.append(Path(env.get("DOCKER_CONFIG") or home / ".docker") / "config.json")
    return files


def credentials(host: str, env: Mapping[str, str]) -> tuple[str, str] | None:
    """(user, secret) stored for `host` by `docker login` / `podman login`, or None.

    Only inline `auth` entries are read; a credential helper's logins count as none (the
    lookup then goes anonymous, and a refusal is reported, not guessed around).
    """
    for path in _auth_files(env):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        auths = data.get("auths") if isinstance(data, dict) else None
        if not isinstance(auths, dict):
            continue
        for key in (host, f"https://{host}", f"http://{host}", f"https://{host}/v1/"):
            entry = auths.get(key)
            if isinstance(entry, dict) and isinstance(entry.get("auth"), str):
                try:
                    user, _, secret = base64.b64decode(entry["auth"]).decode().partition(":")
                except (ValueError, UnicodeDecodeError):
                    continue
                if user and secret:
                    return user, secret
    return None


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Redirects are followed by hand: a blob's storage URL must not get the registry token."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


@dataclass
class Registry:
    """One registry host, with the token its challenge asked for, fetched once."""

    host: str
    tls_verify: bool = True
    login: tuple[str, str] | None = field(default=None, repr=False)
    timeout: float = 30.0
    _authorization: str | None = field(default=None, repr=False)

    @property
    def base(self) -> str:
        return f"{'https' if self.tls_verify else 'http'}://{self.host}"

    def _open(self, url: str, headers: dict[str, str]) -> tuple[int, Any, bytes]:
        scheme = urllib.parse.urlsplit(url).scheme
        if scheme != "https" and (self.tls_verify or scheme != "http"):
            raise RegistryError(f"{url}: refusing a {scheme or 'relative'} URL (https only)")
        opener = urllib.request.build_opener(_NoRedirect)
        req = urllib.request.Request(url, headers=headers)  # noqa: S310 (scheme checked)
        try:
            with opener.open(req, timeout=self.timeout) as resp:
                return int(resp.status), resp.headers, resp.read(MAX_BYTES + 1)
        except urllib.error.HTTPError as exc:
            return int(exc.code), exc.headers, exc.read(MAX_BYTES + 1)
        except (OSError, ValueError) as exc:
            raise RegistryError(f"GET {url}: {exc}") from None

    def _authorize(self, challenge: str, scope: str) -> None:
        """Answer a `WWW-Authenticate` challenge: Basic with the login, or Bearer via its realm."""
        scheme, _, params = challenge.partition(" ")
        if scheme.lower() == "basic":
            if self.login is None:
                raise RegistryError(f"{self.host} wants a login and none is stored for it")
            pair = base64.b64encode(":".join(self.login).encode()).decode()
            self._authorization = f"Basic {pair}"
            return
        if scheme.lower() != "bearer":
            raise RegistryError(f"{self.host}: unsupported authentication '{scheme}'")
        fields = dict(CHALLENGE_RE.findall(params))
        realm = fields.pop("realm", "")
        if urllib.parse.urlsplit(realm).scheme not in {"https", "http"}:
            raise RegistryError(f"{self.host}: token realm {realm!r} is not a URL")
        if self.tls_verify and not realm.startswith("https://"):
            raise RegistryError(f"{self.host}: refusing to send a login to {realm} over http")
        query = {k: v for k, v in fields.items() if k == "service"}
        query["scope"] = fields.get("scope") or scope
        headers = {"User-Agent": "gitops-image"}
        if self.login is not None:
            pair = base64.b64encode(":".join(self.login).encode()).decode()
            headers["Authorization"] = f"Basic {pair}"
        url = f"{realm}?{urllib.parse.urlencode(query)}"
        status, _, body = self._open(url, headers)
        if status != 200:
            raise RegistryError(f"GET {realm}: HTTP {status}: no token for {query['scope']}")
        try:
            data = json.loads(body)
            token = data.get("token") or data.get("access_token")
        except (ValueError, AttributeError):
            token = None
        if not isinstance(token, str) or not token:
            raise RegistryError(f"GET {realm}: the answer holds no token")
        self._authorization = f"Bearer {token}"

    def get(self, path: str, name: str, accept: str) -> tuple[int, Any, bytes]:
        """GET `/v2/<name>/<path>`, answering one auth challenge and one storage redirect."""
        url = f"{self.base}/v2/{name}/{path}"
        for _attempt in range(2):
            headers = {"Accept": accept, "User-Agent": "gitops-image"}
            if self._authorization:
                headers["Authorization"] = self._authorization
            status, answer, body = self._open(url, headers)
            if status == 401 and self._authorization is None:
                self._authorize(answer.get("WWW-Authenticate", ""), f"repository:{name}:pull")
                continue
            break
        if status in {301, 302, 303, 307, 308} and answer.get("Location"):
            target = urllib.parse.urljoin(url, answer["Location"])
            status, answer, body = self._open(target, {"User-Agent": "gitops-image"})
        if len(body) > MAX_BYTES:
            raise RegistryError(f"GET {url}: answer larger than {MAX_BYTES} bytes")
        return status, answer, body


def lookup(
    repository: str, tag: str, *, tls_verify: bool = True, env: Mapping[str, str] | None = None
) -> Tagged | None:
    """What `repository:tag` points at in its registry; None when the tag (or repository) is new."""
    host, name = split(repository)
    env = os.environ if env is None else env
    registry = Registry(host, tls_verify=tls_verify, login=credentials(host, env))
    where = f"{repository}:{tag}"
    status, headers, body = registry.get(
        f"manifests/{tag}", name, ", ".join(MANIFEST_TYPES + INDEX_TYPES)
    )
    if status == 404:
        return None
    if status != 200:
        raise RegistryError(f"{where}: HTTP {status} for its manifest: {_errors(body)}")
    digest = headers.get("Docker-Content-Digest") or ""
    if not DIGEST_RE.fullmatch(digest):
        raise RegistryError(f"{where}: the registry named no sha256 digest for its manifest")
    try:
        manifest = json.loads(body)
    except ValueError:
        raise RegistryError(f"{where}: the manifest is not JSON") from None
    kind = manifest.get("mediaType") or headers.get("Content-Type", "").split(";")[0]
    if kind in INDEX_TYPES or "manifests" in manifest:
        return Tagged(digest=digest, image_id=None)
    config = (manifest.get("config") or {}).get("digest")
    if not isinstance(config, str) or not DIGEST_RE.fullmatch(config):
        raise RegistryError(f"{where}: the manifest names no image config")
    status, _, blob = registry.get(f"blobs/{config}", name, "*/*")
    if status != 200:
        raise RegistryError(f"{where}: HTTP {status} for its image config: {_errors(blob)}")
    try:
        labels = (json.loads(blob).get("config") or {}).get("Labels") or {}
    except (ValueError, AttributeError):
        raise RegistryError(f"{where}: the image config is not JSON") from None
    labels = {str(k): str(v) for k, v in labels.items()} if isinstance(labels, dict) else {}
    return Tagged(digest=digest, image_id=config, labels=labels)


def _errors(body: bytes) -> str:
    """The registry's own error codes and messages, or the start of what it said."""
    try:
        errors = json.loads(body).get("errors") or []
        return "; ".join(f"{e.get('code')}: {e.get('message')}" for e in errors) or "no detail"
    except (ValueError, AttributeError):
        return body[:200].decode("utf-8", "replace") or "no detail"
