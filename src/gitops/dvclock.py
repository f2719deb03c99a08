"""Reading dvc.lock: what each stage ran, on which inputs and params, and what it produced.

One reader for every question asked of the lock file (is it current, which md5 is the model,
which params did a stage see), from the workspace or from a git revision's text. Plain YAML,
so DVC itself is not needed to read it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from gitops import yamltext

LOCK = "dvc.lock"


class LockError(ValueError):
    """dvc.lock cannot be read as a DVC 3 lock file."""


@dataclass(frozen=True)
class Entry:
    """A dependency or output as recorded: its path and md5 (None when not recorded)."""

    path: str
    md5: str | None


@dataclass(frozen=True)
class Stage:
    name: str
    cmd: str
    deps: tuple[Entry, ...]
    outs: tuple[Entry, ...]
    params: Mapping[str, Mapping[str, Any]]  # params file -> {dotted key or section: value}


@dataclass(frozen=True)
class Lock:
    stages: Mapping[str, Stage]

    def outputs(self) -> Iterator[tuple[Stage, Entry]]:
        for stage in self.stages.values():
            for out in stage.outs:
                yield stage, out

    def output_md5(self, path: str) -> str | None:
        """The md5 recorded for the output `path`, or None when no stage outputs it."""
        for stage, out in self.outputs():
            if out.path == path:
                if not out.md5:
                    raise LockError(f"{LOCK}: stage '{stage.name}' output '{path}' has no md5")
                return out.md5
        return None


def parse(text: str | None, source: str = LOCK) -> Lock | None:
    """The lock in `text`; None when there is no lock file."""
    if text is None:
        return None
    try:
        data = yamltext.load(text) or {}
    except yaml.YAMLError as err:
        raise LockError(f"{source}: not valid YAML ({err})") from None
    return from_mapping(data, source)


def from_mapping(data: Any, source: str = LOCK) -> Lock:
    """A lock already parsed from YAML."""
    stages = data.get("stages") if isinstance(data, Mapping) else None
    if not isinstance(stages, Mapping):
        raise LockError(f"{source}: no 'stages' mapping; is this a DVC 3 lock file?")
    return Lock({name: _stage(name, body or {}) for name, body in stages.items()})


def read(root: Path) -> Lock | None:
    path = root / LOCK
    return parse(path.read_text(encoding="utf-8"), str(path)) if path.is_file() else None


def _stage(name: str, body: Mapping[str, Any]) -> Stage:
    def entries(key: str) -> tuple[Entry, ...]:
        found = []
        for item in body.get(key) or []:
            if isinstance(item, Mapping) and "path" in item:
                digest = item.get("md5") or item.get("etag")  # etag: cloud-remote deps
                found.append(Entry(str(item["path"]), str(digest) if digest else None))
        return tuple(found)

    params = body.get("params") or {}
    return Stage(
        name=name,
        cmd=str(body.get("cmd", "")),
        deps=entries("deps"),
        outs=entries("outs"),
        params={str(f): dict(v or {}) for f, v in params.items()},
    )
