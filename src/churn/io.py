"""File I/O shared by the stages and the scoring command: atomic writes, params."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import pandas as pd
import yaml


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside `path`, renamed onto it only if the block succeeds.

    A stage killed half-way therefore leaves either the previous file or none: never a
    truncated one that a later stage, `dvc commit` or `git add` could pick up.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        with tmp_path.open("rb+") as fh:
            os.fsync(fh.fileno())
        tmp_path.chmod(0o644)
        tmp_path.replace(target)
    finally:
        tmp_path.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_open(path: str | Path, mode: str = "w") -> Iterator[IO[Any]]:
    with atomic_path(path) as tmp, tmp.open(mode, encoding=None if "b" in mode else "utf-8") as fh:
        yield fh


def write_json(path: str | Path, data: Any) -> None:
    with atomic_open(path) as fh:
        json.dump(data, fh, indent=2, sort_keys=False)
        fh.write("\n")


def write_parquet(path: str | Path, frame: pd.DataFrame) -> None:
    with atomic_path(path) as tmp:
        frame.to_parquet(tmp, index=False)


def write_csv(path: str | Path, frame: pd.DataFrame, **kwargs: Any) -> None:
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False, lineterminator="\n", **kwargs)


def load_params(path: str | Path = "params.yaml") -> dict[str, Any]:
    with Path(path).open(encoding="utf-8") as fh:
        params = yaml.safe_load(fh) or {}
    if not isinstance(params, dict):
        raise ValueError(f"{path}: expected a mapping at the top level")
    return params


def section(params: dict[str, Any], name: str, path: str = "params.yaml") -> dict[str, Any]:
    """A params section, with an error that names the file and the missing key."""
    try:
        value = params[name]
    except KeyError:
        raise KeyError(f"{path}: missing section '{name}'") from None
    if not isinstance(value, dict):
        raise ValueError(f"{path}: section '{name}' must be a mapping")
    return value
