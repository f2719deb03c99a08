"""A loopback stand-in for GitHub's REST API: issues and their comments, pulls, branches, releases.

A real `http.server` on 127.0.0.1 that behaves like GitHub where our commands depend on it:
lists come 30 to a page unless `per_page` asks for up to 100, with `Link` headers for the
other pages; comments carry `user.login`, `user.type` and `performed_via_github_app`; what
does not exist is a 404, what GitHub would refuse is a 422 with GitHub's error shape; drafts
are found only by listing releases; asset uploads go to the release's `upload_url`.
Everything the client sends is recorded, so tests can say what was (not) done.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
import threading
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

BOT = {"login": "github-actions[bot]", "id": 41898282, "type": "Bot"}
ACTIONS_APP = {"id": 15368, "slug": "github-actions", "name": "GitHub Actions"}
MAX_COMMENT = 65_536


@dataclass
class FakeGitHub:
    repo: str = "acme/churn"
    token: str = "test-token"  # noqa: S105 (a test credential)
    comments: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    pulls: dict[int, dict[str, Any]] = field(default_factory=dict)
    branches: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)  # tag → commit, as git push leaves them
    releases: list[dict[str, Any]] = field(default_factory=list)
    requests: list[tuple[str, str]] = field(default_factory=list)
    # (method, path regex) → HTTP status to answer once instead of doing the work.
    failures: list[tuple[str, str, int]] = field(default_factory=list)
    # Tags GitHub had to create itself when a release was published without one.
    created_tags: list[str] = field(default_factory=list)
    # Asset counts of each release at the moment it was published.
    published_with: dict[str, int] = field(default_factory=dict)
    url: str = ""
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1000))

    def add_comment(
        self, issue: int, body: str, user: dict[str, Any] | None = None, app: dict | None = None
    ) -> dict[str, Any]:
        comment_id = next(self._ids)
        comment = {
            "id": comment_id,
            "body": body,
            "user": user or {"login": "alice", "id": 1, "type": "User"},
            "performed_via_github_app": app,
            "html_url": f"https://github.com/{self.repo}/pull/{issue}#issuecomment-{comment_id}",
        }
        self.comments.setdefault(issue, []).append(comment)
        return comment

    def add_pull(self, number: int, head_sha: str, head_repo: str | None = None) -> None:
        self.pulls[number] = {
            "number": number,
            "state": "open",
            "head": {"sha": head_sha, "repo": {"full_name": head_repo or self.repo}},
        }
        self.comments.setdefault(number, [])

    def fail_once(self, method: str, path_regex: str, status: int = 500) -> None:
        self.failures.append((method, path_regex, status))

    def release(self, tag: str) -> dict[str, Any] | None:
        return next((r for r in self.releases if r["tag_name"] == tag), None)

    def asset_names(self, tag: str) -> list[str]:
        release = self.release(tag)
        return sorted(a["name"] for a in release["assets"]) if release else []

    # --- the server ------------------------------------------------------------------------

    @contextmanager
    def serve(self) -> Iterator[FakeGitHub]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _handle(self) -> None:
                fake._dispatch(self)

            do_GET = do_POST = do_PATCH = do_DELETE = _handle  # noqa: N815

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

    def env(self) -> dict[str, str]:
        """What a workflow step gets: the API's URL, the repository and the token."""
        return {"GITHUB_API_URL": self.url, "GITHUB_REPOSITORY": self.repo, "GH_TOKEN": self.token}

    def _dispatch(self, h: BaseHTTPRequestHandler) -> None:
        parts = urllib.parse.urlsplit(h.path)
        query = dict(urllib.parse.parse_qsl(parts.query))
        path = parts.path
        self.requests.append((h.command, h.path))
        length = int(h.headers.get("Content-Length") or 0)
        raw = h.rfile.read(length) if length else b""
        if h.headers.get("Authorization") != f"Bearer {self.token}":
            return _send(h, 401, {"message": "Bad credentials"})
        for n, (method, regex, status) in enumerate(self.failures):
            if method == h.command and re.search(regex, path):
                del self.failures[n]
                return _send(h, status, {"message": "Server Error"})
        prefix = f"/repos/{self.repo}"
        upload = f"/uploads{prefix}/releases/"
        if path.startswith(upload):
            return self._upload(h, path[len(upload) :], query, raw)
        if not path.startswith(prefix + "/"):
            return _send(h, 404, {"message": "Not Found"})
        route = path[len(prefix) :]
        body = (
            json.loads(raw) if raw and h.headers.get("Content-Type") == "application/json" else {}
        )
        for pattern, method, handler in self._routes():
            m = re.fullmatch(pattern, route)
            if m and method == h.command:
                status, data = handler(m, body)
                if isinstance(data, list):
                    return self._page(h, path, query, data)
                return _send(h, status, data)
        return _send(h, 404, {"message": "Not Found"})

    def _routes(self) -> list[tuple[str, str, Any]]:
        return [
            (r"/pulls/(\d+)", "GET", self._get_pull),
            (r"/issues/(\d+)/comments", "GET", self._list_comments),
            (r"/issues/(\d+)/comments", "POST", self._create_comment),
            (r"/issues/comments/(\d+)", "PATCH", self._edit_comment),
            (r"/branches/([^/]+)", "GET", self._get_branch),
            (r"/releases", "GET", lambda m, b: (200, list(self.releases))),
            (r"/releases", "POST", self._create_release),
            (r"/releases/(\d+)", "PATCH", self._edit_release),
            (r"/releases/tags/(.+)", "GET", self._release_by_tag),
            (r"/releases/assets/(\d+)", "DELETE", self._delete_asset),
        ]

    def _page(
        self, h: BaseHTTPRequestHandler, path: str, query: dict[str, str], items: list[Any]
    ) -> None:
        per_page = max(1, min(int(query.get("per_page", 30)), 100))
        page = max(1, int(query.get("page", 1)))
        last = max(1, -(-len(items) // per_page))
        chunk = items[(page - 1) * per_page : page * per_page]

        def link(n: int) -> str:
            q = urllib.parse.urlencode({**query, "per_page": per_page, "page": n})
            return f"<{self.url}{path}?{q}>"

        links = []
        if page < last:
            links += [f'{link(page + 1)}; rel="next"', f'{link(last)}; rel="last"']
        if page > 1:
            links += [f'{link(1)}; rel="first"', f'{link(page - 1)}; rel="prev"']
        _send(h, 200, chunk, {"Link": ", ".join(links)} if links else None)

    def _get_pull(self, m: re.Match[str], body: dict) -> tuple[int, Any]:
        pull = self.pulls.get(int(m[1]))
        return (200, pull) if pull else (404, {"message": "Not Found"})

    def _list_comments(self, m: re.Match[str], body: dict) -> tuple[int, Any]:
        issue = int(m[1])
        if issue not in self.comments:
            return 404, {"message": "Not Found"}
        return 200, list(self.comments[issue])

    def _create_comment(self, m: re.Match[str], body: dict) -> tuple[int, Any]:
        issue = int(m[1])
        if issue not in self.comments:
            return 404, {"message": "Not Found"}
        problem = _comment_problem(body)
        if problem:
            return 422, problem
        return 201, self.add_comment(issue, body["body"], dict(BOT), dict(ACTIONS_APP))

    def _edit_comment(self, m: re.Match[str], body: dict) -> tuple[int, Any]:
        for comment in itertools.chain.from_iterable(self.comments.values()):
            if comment["id"] == int(m[1]):
                problem = _comment_problem(body)
                if problem:
                    return 422, problem
                comment["body"] = body["body"]
                return 200, comment
        return 404, {"message": "Not Found"}

    def _get_branch(self, m: re.Match[str], body: dict) -> tuple[int, Any]:
        sha = self.branches.get(urllib.parse.unquote(m[1]))
        if sha is None:
            return 404, {"message": "Branch not found"}
        return 200, {"name": m[1], "commit": {"sha": sha}}

    def _create_release(self, m: re.Match[str], body: dict) -> tuple[int, Any]:
        tag = body.get("tag_name")
        if not tag:
            return 422, _invalid("Release", "tag_name", "missing_field")
        if self.release(tag):
            return 422, _invalid("Release", "tag_name", "already_exists")
        release_id = next(self._ids)
        release = {
            "id": release_id,
            "tag_name": tag,
            "target_commitish": body.get("target_commitish", "main"),
            "name": body.get("name") or tag,
            "body": body.get("body", ""),
            "draft": bool(body.get("draft")),
            "html_url": f"https://github.com/{self.repo}/releases/tag/{tag}",
            "upload_url": f"{self.url}/uploads/repos/{self.repo}/releases/{release_id}/assets"
            "{?name,label}",
            "assets": [],
        }
        self.releases.append(release)
        if not release["draft"]:
            self._publishing(release)
        return 201, release

    def _publishing(self, release: dict[str, Any]) -> None:
        if release["tag_name"] not in self.tags:
            self.created_tags.append(release["tag_name"])
            self.tags[release["tag_name"]] = release["target_commitish"]
        self.published_with[release["tag_name"]] = len(release["assets"])

    def _edit_release(self, m: re.Match[str], body: dict) -> tuple[int, Any]:
        release = next((r for r in self.releases if r["id"] == int(m[1])), None)
        if release is None:
            return 404, {"message": "Not Found"}
        was_draft = release["draft"]
        release.update({k: v for k, v in body.items() if k in {"name", "body", "tag_name"}})
        if "draft" in body:
            release["draft"] = bool(body["draft"])
        if was_draft and not release["draft"]:
            self._publishing(release)
        return 200, release

    def _release_by_tag(self, m: re.Match[str], body: dict) -> tuple[int, Any]:
        release = self.release(urllib.parse.unquote(m[1]))
        if release is None or release["draft"]:
            return 404, {"message": "Not Found"}
        return 200, release

    def _delete_asset(self, m: re.Match[str], body: dict) -> tuple[int, Any]:
        for release in self.releases:
            for asset in release["assets"]:
                if asset["id"] == int(m[1]):
                    release["assets"].remove(asset)
                    return 204, None
        return 404, {"message": "Not Found"}

    def _upload(
        self, h: BaseHTTPRequestHandler, rest: str, query: dict[str, str], raw: bytes
    ) -> None:
        m = re.fullmatch(r"(\d+)/assets", rest)
        release = next((r for r in self.releases if m and r["id"] == int(m[1])), None)
        if release is None:
            return _send(h, 404, {"message": "Not Found"})
        name = query.get("name")
        if not name:
            return _send(h, 422, _invalid("ReleaseAsset", "name", "missing_field"))
        if any(a["name"] == name for a in release["assets"]):
            return _send(h, 422, _invalid("ReleaseAsset", "name", "already_exists"))
        asset = {
            "id": next(self._ids),
            "name": name,
            "size": len(raw),
            "state": "uploaded",
            "content_type": h.headers.get("Content-Type"),
            "digest": f"sha256:{hashlib.sha256(raw).hexdigest()}",
        }
        release["assets"].append(asset)
        return _send(h, 201, asset)


def _invalid(resource: str, field_name: str, code: str) -> dict[str, Any]:
    return {
        "message": "Validation Failed",
        "errors": [{"resource": resource, "field": field_name, "code": code}],
    }


def _comment_problem(body: dict[str, Any]) -> dict[str, Any] | None:
    text = body.get("body")
    if not isinstance(text, str) or not text:
        return _invalid("IssueComment", "body", "missing_field")
    if len(text) > MAX_COMMENT:
        return {
            "message": "Validation Failed",
            "errors": [{"resource": "IssueComment", "code": "custom", "field": "body",
                        "message": "body is too long (maximum is 65536 characters)"}],
        }  # fmt: skip
    return None


def _send(
    h: BaseHTTPRequestHandler, status: int, data: Any, headers: dict[str, str] | None = None
) -> None:
    payload = b"" if data is None else json.dumps(data).encode()
    h.send_response(status)
    h.send_header("Content-Type", "application/json; charset=utf-8")
    h.send_header("Content-Length", str(len(payload)))
    for key, value in (headers or {}).items():
        h.send_header(key, value)
    h.end_headers()
    h.wfile.write(payload)
