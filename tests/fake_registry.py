"""A loopback stand-in for a token-authenticated registry such as ghcr.io.

A real `http.server` on 127.0.0.1 that answers the way ghcr.io does where `oci.lookup`
depends on it: `/v2/...` without a token is a 401 whose `WWW-Authenticate: Bearer` challenge
names a token realm; the realm hands out a token for a Basic login (or refuses one); an
unknown tag or repository is a 404 with the distribution spec's error body; manifests carry
`Docker-Content-Digest`; blobs are a 307 redirect to a signed storage URL that refuses any
request carrying an `Authorization` header (as cloud storage does). `auth="basic"` answers
with a Basic challenge instead. Every request is recorded with its headers.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
TOKEN = "registry-token"  # noqa: S105 (a test credential)


def sha256(data: bytes) -> str:
    return f"sha256:{hashlib.sha256(data).hexdigest()}"


@dataclass
class FakeRegistry:
    user: str = "github-actions"
    secret: str = "ghs_test"  # noqa: S105 (a test credential)
    auth: str = "bearer"  # bearer | basic
    # (repository, tag) → manifest bytes; digest → blob bytes
    manifests: dict[tuple[str, str], bytes] = field(default_factory=dict)
    blobs: dict[str, bytes] = field(default_factory=dict)
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    blob_redirect: str | None = None  # a Location to answer blob requests with instead
    url: str = ""

    @property
    def host(self) -> str:
        return self.url.removeprefix("http://")

    def add_image(self, repository: str, tag: str, labels: dict[str, str]) -> tuple[str, str]:
        """Store a one-layer image under `repository:tag`; returns (manifest digest, image id)."""
        config = json.dumps({"architecture": "amd64", "os": "linux", "config": {"Labels": labels}})
        config_bytes = config.encode()
        self.blobs[sha256(config_bytes)] = config_bytes
        manifest = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": DOCKER_MANIFEST,
                "config": {"mediaType": "application/vnd.docker.container.image.v1+json",
                           "digest": sha256(config_bytes), "size": len(config_bytes)},
                "layers": [],
            }
        ).encode()  # fmt: skip
        self.manifests[(repository, tag)] = manifest
        return sha256(manifest), sha256(config_bytes)

    def add_index(self, repository: str, tag: str) -> str:
        index = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": []}).encode()
        self.manifests[(repository, tag)] = index
        return sha256(index)

    def docker_config(self, home: Any) -> None:
        """~/.docker/config.json as `docker login` leaves it, under `home`."""
        pair = base64.b64encode(f"{self.user}:{self.secret}".encode()).decode()
        (home / ".docker").mkdir(parents=True, exist_ok=True)
        config = {"auths": {self.host: {"auth": pair}}}
        (home / ".docker/config.json").write_text(json.dumps(config))

    @contextmanager
    def serve(self) -> Iterator[FakeRegistry]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                fake._dispatch(self)

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{server.server_port}"
        thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
        thread.start()
        try:
            yield self
        finally:
            server.shutdown()
            server.server_close()
            thread.join(timeout=5)

    def _basic_ok(self, header: str | None) -> bool:
        expected = base64.b64encode(f"{self.user}:{self.secret}".encode()).decode()
        return header == f"Basic {expected}"

    def _dispatch(self, h: BaseHTTPRequestHandler) -> None:
        parts = urllib.parse.urlsplit(h.path)
        self.requests.append((h.path, dict(h.headers.items())))
        auth = h.headers.get("Authorization")
        if parts.path == "/token":
            query = dict(urllib.parse.parse_qsl(parts.query))
            if not self._basic_ok(auth) or query.get("service") != "fake-registry":
                return _send(h, 401, {"errors": [{"code": "UNAUTHORIZED", "message": "login"}]})
            return _send(h, 200, {"token": TOKEN})
        if parts.path.startswith("/storage/"):
            if auth:
                return _send(h, 400, {"message": "signed URL and Authorization both given"})
            blob = self.blobs.get(parts.path.removeprefix("/storage/"))
            return _raw(h, 200, blob, "application/octet-stream") if blob else _send(h, 404, {})
        if not parts.path.startswith("/v2/"):
            return _send(h, 404, {})
        allowed = self._basic_ok(auth) if self.auth == "basic" else auth == f"Bearer {TOKEN}"
        if not allowed:
            challenge = (
                'Basic realm="fake-registry"'
                if self.auth == "basic"
                else f'Bearer realm="{self.url}/token",service="fake-registry"'
            )
            body = {"errors": [{"code": "UNAUTHORIZED", "message": "authentication required"}]}
            return _send(h, 401, body, {"WWW-Authenticate": challenge})
        name, _, rest = parts.path.removeprefix("/v2/").rpartition("/manifests/")
        if name:
            manifest = self.manifests.get((name, rest))
            if manifest is None:
                body = {"errors": [{"code": "MANIFEST_UNKNOWN", "message": "manifest unknown"}]}
                return _send(h, 404, body)
            kind = json.loads(manifest)["mediaType"]
            return _raw(h, 200, manifest, kind, {"Docker-Content-Digest": sha256(manifest)})
        name, _, digest = parts.path.removeprefix("/v2/").rpartition("/blobs/")
        if name and digest in self.blobs:
            location = self.blob_redirect or f"/storage/{digest}?sig=signed"
            return _send(h, 307, None, {"Location": location})
        return _send(h, 404, {"errors": [{"code": "BLOB_UNKNOWN", "message": "blob unknown"}]})


def _raw(
    h: BaseHTTPRequestHandler,
    status: int,
    payload: bytes,
    kind: str,
    headers: dict[str, str] | None = None,
) -> None:
    h.send_response(status)
    h.send_header("Content-Type", kind)
    h.send_header("Content-Length", str(len(payload)))
    for key, value in (headers or {}).items():
        h.send_header(key, value)
    h.end_headers()
    h.wfile.write(payload)


def _send(
    h: BaseHTTPRequestHandler, status: int, data: Any, headers: dict[str, str] | None = None
) -> None:
    payload = b"" if data is None else json.dumps(data).encode()
    _raw(h, status, payload, "application/json", headers)
