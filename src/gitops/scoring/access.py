"""Who may call the HTTP API, and what its access log says about each request.

Access control is off unless tokens are configured, so a model served on a laptop needs no
set-up; a production deployment sets one of the two variables below and the server then
refuses every request but `/health` without a valid `Authorization: Bearer <token>`.
Several tokens may be valid at once, which is how a token is rotated without downtime:
add the new one, move the clients, remove the old one (docs/security.md).

The access log is written here, not by uvicorn: one line per request with the method, the
path (never the query string), the status, the duration and a request id. Request bodies,
headers and client addresses never reach the log, so no customer field can leak into it.
"""

from __future__ import annotations

import hmac
import logging
import os
import re
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: A file holding the valid tokens, one per line (blank lines and `#` comments ignored).
TOKENS_FILE_ENV = "MODEL_API_TOKENS_FILE"
#: The valid tokens, comma-separated (for platforms that inject secrets as variables).
TOKENS_ENV = "MODEL_API_TOKENS"
#: Paths any caller may reach: what a load balancer or an orchestrator probes.
OPEN_PATHS = frozenset({"/health"})
#: Shortest token accepted: a guessable token is worse than none, because it looks safe.
MIN_TOKEN_LENGTH = 16
#: A request id sent by the caller is echoed only when it looks like one (no log injection).
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")

log = logging.getLogger("gitops.scoring.access")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class TokenConfigError(ValueError):
    """Tokens were asked for but cannot be used: the server must not start without them."""


@dataclass(frozen=True)
class Tokens:
    """The bearer tokens the server accepts; empty means access control is off."""

    values: tuple[bytes, ...] = ()
    source: str = ""

    @property
    def enabled(self) -> bool:
        return bool(self.values)

    def accepts(self, header: bytes | None) -> bool:
        """True when `header` is `Bearer <one of the tokens>`.

        Every token is compared, each in constant time, so neither the answer's timing nor
        its position among the tokens says how much of a guess was right.
        """
        if header is None:
            return False
        scheme, _, credential = header.partition(b" ")
        if scheme.lower() != b"bearer":
            return False
        credential = credential.strip()
        found = False
        for token in self.values:
            found |= hmac.compare_digest(credential, token)
        return found


def load_tokens(environ: Mapping[str, str] | None = None) -> Tokens:
    """The tokens named by the environment (file and variable together), or none at all.

    A variable that is set but yields no usable token stops the server: an operator who
    asked for access control and mistyped a path must not get an open API.
    """
    env = os.environ if environ is None else environ
    values: list[bytes] = []
    sources: list[str] = []
    path = env.get(TOKENS_FILE_ENV)
    if path is not None:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise TokenConfigError(f"{TOKENS_FILE_ENV}={path}: cannot be read ({exc})") from None
        lines = [line.strip() for line in text.splitlines()]
        values += [_token(t, f"{path}, line {n}") for n, t in enumerate(lines, 1) if _kept(t)]
        sources.append(f"{TOKENS_FILE_ENV} ({path})")
    listed = env.get(TOKENS_ENV)
    if listed is not None:
        items = [t.strip() for t in listed.split(",")]
        values += [_token(t, f"{TOKENS_ENV}, item {n}") for n, t in enumerate(items, 1) if t]
        sources.append(TOKENS_ENV)
    if sources and not values:
        raise TokenConfigError(f"{' and '.join(sources)}: set, but no token in it")
    return Tokens(tuple(dict.fromkeys(values)), " and ".join(sources))


def _kept(line: str) -> bool:
    return bool(line) and not line.startswith("#")


def _token(text: str, where: str) -> bytes:
    if len(text) < MIN_TOKEN_LENGTH or any(c.isspace() or c == "," for c in text):
        raise TokenConfigError(
            f"{where}: a token must be at least {MIN_TOKEN_LENGTH} characters, with no spaces "
            "or commas (e.g. `python -c 'import secrets; print(secrets.token_urlsafe(32))'`)"
        )
    return text.encode("utf-8")


_UNAUTHORIZED = b'{"detail":"missing or invalid bearer token"}'


def guard(app: ASGIApp, tokens: Tokens, *, access_log: bool = True) -> ASGIApp:
    """`app` behind the token check, with a request id and one access-log line per request.

    A plain ASGI wrapper rather than a Starlette middleware class: it adds no task, no
    thread and no copy of the body, so it costs microseconds per request.
    """

    async def guarded(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        start = time.perf_counter()
        headers = dict(scope.get("headers") or ())
        sent = headers.get(b"x-request-id", b"").decode("latin-1")
        request_id = sent if _REQUEST_ID.fullmatch(sent) else uuid.uuid4().hex
        id_header = (b"x-request-id", request_id.encode("ascii"))
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                message["headers"] = [*message.get("headers", ()), id_header]
            await send(message)

        try:
            closed = tokens.enabled and scope["path"] not in OPEN_PATHS
            if closed and not tokens.accepts(headers.get(b"authorization")):
                await _refuse(send_with_id)
                return
            await app(scope, receive, send_with_id)
        finally:
            if access_log:
                log.info(
                    "request_id=%s method=%s path=%s status=%d duration_ms=%.2f",
                    request_id,
                    scope.get("method", ""),
                    _printable(scope.get("path", "")),
                    status,
                    (time.perf_counter() - start) * 1000,
                )

    return guarded


async def _refuse(send: Send) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 401,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(_UNAUTHORIZED)).encode()),
                (b"www-authenticate", b'Bearer realm="model API"'),
            ],
        }
    )
    await send({"type": "http.response.body", "body": _UNAUTHORIZED})


def _printable(path: str) -> str:
    """The path as one log line can hold it: no newlines or control characters."""
    return path if path.isprintable() else path.encode("unicode_escape").decode("ascii")
