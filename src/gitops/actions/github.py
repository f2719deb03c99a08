"""A small client for GitHub's REST API: what the comment and release steps need, no more.

Standard library only, because the comment workflow runs it with a bare `python3` and no
project environment. The base URL comes from GITHUB_API_URL (GitHub Enterprise Server works
the same way), the token from GITHUB_TOKEN or GH_TOKEN. Lists are read to the end by
following the `Link: <...>; rel="next"` header at 100 items a page: GitHub's default page
holds 30, and a tool that reads only the first page (as CML does for comments) misses the
rest. The token is only ever sent to the API's own host (and its uploads host).
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

DEFAULT_API = "https://api.github.com"
API_VERSION = "2022-11-28"
PER_PAGE = 100  # the most GitHub returns per page
MAX_PAGES = 1000  # a bound on a runaway `next` chain, far above any real list
LINK_RE = re.compile(r'<([^>]+)>\s*;\s*rel="([^"]+)"')
REPO_RE = re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+")


class GitHubError(RuntimeError):
    """A request failed; the message names the method, the URL, the status and GitHub's words."""

    def __init__(self, method: str, url: str, status: int | None, detail: str) -> None:
        self.method, self.url, self.status = method, url, status
        where = f"{method} {url}"
        super().__init__(f"{where}: HTTP {status}: {detail}" if status else f"{where}: {detail}")


@dataclass(frozen=True)
class Response:
    status: int
    data: Any
    headers: Mapping[str, str]


def next_link(header: str | None) -> str | None:
    """The `rel="next"` URL of a Link header, or None on the last page."""
    for url, rel in LINK_RE.findall(header or ""):
        if "next" in rel.split():
            return url
    return None


def _is_loopback(host: str | None) -> bool:
    if host == "localhost":
        return True
    try:
        return host is not None and ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_base_url(url: str) -> str:
    """https, or http on loopback (a test server); anything else would leak the token."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme == "https" or (parts.scheme == "http" and _is_loopback(parts.hostname)):
        return url.rstrip("/")
    raise ValueError(f"GITHUB_API_URL must be an https URL (http only on loopback): {url!r}")


@dataclass(frozen=True)
class GitHub:
    """One repository's API, e.g. GitHub(api_url, "acme/churn", token)."""

    api_url: str
    repository: str
    token: str | None = field(default=None, repr=False)
    timeout: float = 30.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "api_url", check_base_url(self.api_url))
        if not REPO_RE.fullmatch(self.repository):
            raise ValueError(f"repository must be owner/name, got {self.repository!r}")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> GitHub:
        env = os.environ if environ is None else environ
        repo = env.get("GITHUB_REPOSITORY", "")
        token = env.get("GITHUB_TOKEN") or env.get("GH_TOKEN") or None
        return cls(env.get("GITHUB_API_URL") or DEFAULT_API, repo, token)

    def repo_path(self, *parts: str | int) -> str:
        quoted = "/".join(urllib.parse.quote(str(p), safe="") for p in parts)
        return f"/repos/{self.repository}/{quoted}" if parts else f"/repos/{self.repository}"

    def _trusted(self, url: str) -> bool:
        """The API's host, or its uploads host (uploads.github.com next to api.github.com)."""
        api = urllib.parse.urlsplit(self.api_url)
        target = urllib.parse.urlsplit(url)
        if (target.scheme, target.netloc) == (api.scheme, api.netloc):
            return True
        host = api.hostname or ""
        uploads = "uploads." + host.removeprefix("api.") if host.startswith("api.") else None
        return target.scheme == "https" and target.hostname == uploads

    def url(self, path_or_url: str, params: Mapping[str, Any] | None = None) -> str:
        url = path_or_url if "://" in path_or_url else f"{self.api_url}{path_or_url}"
        if params:
            sep = "&" if urllib.parse.urlsplit(url).query else "?"
            url += sep + urllib.parse.urlencode(params)
        if not self._trusted(url):
            raise GitHubError("GET", url, None, "refusing to send the token to another host")
        return url

    def request(
        self,
        method: str,
        path_or_url: str,
        *,
        body: Any = None,
        params: Mapping[str, Any] | None = None,
        data: bytes | None = None,
        content_type: str | None = None,
    ) -> Response:
        url = self.url(path_or_url, params)
        headers = {
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": API_VERSION,
            "User-Agent": "gitops-actions",
        }
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        if body is not None:
            data = json.dumps(body).encode()
            content_type = "application/json"
        if content_type:
            headers["Content-Type"] = content_type
        req = urllib.request.Request(url, data=data, headers=headers, method=method)  # noqa: S310 (scheme checked)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:  # noqa: S310
                raw = resp.read()
                status, got = int(resp.status), dict(resp.headers.items())
        except urllib.error.HTTPError as err:
            raise GitHubError(method, url, err.code, _detail(err.read())) from None
        except (OSError, ValueError) as err:
            raise GitHubError(method, url, None, str(err)) from None
        try:
            parsed = json.loads(raw) if raw.strip() else None
        except ValueError:
            raise GitHubError(method, url, status, f"not JSON: {raw[:200]!r}") from None
        return Response(status, parsed, got)

    def get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params=params or None).data

    def paginate(self, path: str, **params: Any) -> Iterator[dict[str, Any]]:
        """Every item of a list endpoint, page after page, until there is no `next` link."""
        url: str | None = self.url(path, {"per_page": PER_PAGE, **params})
        for _ in range(MAX_PAGES):
            if url is None:
                return
            resp = self.request("GET", url)
            if not isinstance(resp.data, list):
                raise GitHubError("GET", url, resp.status, "expected a JSON list")
            yield from resp.data
            url = next_link(resp.headers.get("Link") or resp.headers.get("link"))
        raise GitHubError("GET", path, None, f"more than {MAX_PAGES} pages; stopped")


def _detail(raw: bytes) -> str:
    """GitHub's `message` (and the first error's code), else the start of the body."""
    try:
        data = json.loads(raw)
    except ValueError:
        return raw[:300].decode(errors="replace") or "(empty body)"
    if not isinstance(data, dict):
        return str(data)[:300]
    message = str(data.get("message", ""))
    errors = data.get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        first = errors[0]
        message += f" ({first.get('code') or first.get('message') or first})"
    return message or str(data)[:300]
