"""Running the API: uvicorn in one process, or several sharing one listening socket.

Python runs one request's code at a time per process, so a second core serves requests
only through a second process. The model is loaded and verified once, before the workers
are forked: each worker starts at once, shares the model's memory with its siblings until
it writes to it, and a model that fails its hash check stops the server before it listens.
uvicorn picks uvloop and httptools when they are installed (they are dependencies).
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
from types import FrameType
from typing import Any

#: The access log's logger (gitops.scoring.access), printed like uvicorn's own lines.
ACCESS_LOGGER = "gitops.scoring.access"


def log_config() -> dict[str, Any]:
    """uvicorn's logging, its own access log off, ours (no request content) on stdout."""
    from uvicorn.config import LOGGING_CONFIG

    config: dict[str, Any] = {
        key: dict(value) if isinstance(value, dict) else value
        for key, value in LOGGING_CONFIG.items()
    }
    config["formatters"] = dict(config["formatters"])
    config["formatters"]["plain"] = {
        "format": "%(asctime)s %(levelname)s %(message)s",
        "datefmt": "%Y-%m-%dT%H:%M:%S%z",
    }
    config["handlers"] = dict(config["handlers"])
    config["handlers"]["requests"] = {
        "class": "logging.StreamHandler",
        "formatter": "plain",
        "stream": "ext://sys.stdout",
    }
    config["loggers"] = dict(config["loggers"])
    config["loggers"][ACCESS_LOGGER] = {
        "handlers": ["requests"],
        "level": "INFO",
        "propagate": False,
    }
    return config


def run(app: Any, *, host: str, port: int, workers: int = 1) -> int:
    """Serve `app` until SIGTERM or SIGINT; the exit code is 0 after a clean shutdown."""
    import uvicorn

    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        access_log=False,  # the guard writes one line per request, without the client address
        log_config=log_config(),
        lifespan="off",
        server_header=False,
    )
    if workers <= 1:
        uvicorn.Server(config).run()
        return 0
    sock = config.bind_socket()
    children: list[int] = []
    for _ in range(workers):
        pid = os.fork()
        if pid == 0:  # a worker: serve on the shared socket, never return into the caller
            code = 1
            try:
                uvicorn.Server(config).run(sockets=[sock])
                code = 0
            finally:
                logging.shutdown()
                os._exit(code)
        children.append(pid)
    sock.close()
    return _supervise(children)


def _supervise(children: list[int]) -> int:
    """Wait for the workers; a signal is passed on, and one worker's death stops the rest."""
    stopping = False

    def stop(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        for pid in children:
            _signal(pid, signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    worst = 0
    alive = set(children)
    while alive:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            break
        except InterruptedError:  # pragma: no cover - retried by Python since 3.5
            continue
        alive.discard(pid)
        code = os.waitstatus_to_exitcode(status)
        if stopping and -code in (signal.SIGTERM, signal.SIGINT):
            code = 0  # uvicorn re-raises the signal it shut down on: a clean stop
        worst = max(worst, abs(code))
        if not stopping:  # a worker died on its own: the server is no longer what it says
            print(f"serve: worker {pid} exited {code}; stopping the others", file=sys.stderr)
            stop(signal.SIGTERM, None)
    return worst


def _signal(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signum)
