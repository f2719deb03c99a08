"""Files the machinery writes and checks: whole or not at all, and by their digest.

Every file a stage, the scoring command or a report writes goes through `atomic_path`: the
bytes land in a temporary dot-file beside the target, are flushed to disk and renamed onto
it only when the writer finished. A process killed half-way leaves the previous file (or
none), never a truncated one that a later stage, `dvc commit` or `git add` could pick up;
the dot-files are ignored by git and DVC.

Standard library only: the pull-request comment workflow runs modules that use this with a
bare `python3`. Frames are written by duck typing (`to_parquet`, `to_csv`), so pandas is not
imported here either.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside `path`, renamed onto it only if the block succeeds.

    For writers that take a path (parquet, skops, zip): they write the temporary file, and
    the rename publishes it in one step.
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
def atomic_paths(*paths: str | Path) -> Iterator[list[Path]]:
    """`atomic_path` for outputs that belong together: all are renamed once all are written.

    A stage with several outputs writes each to its temporary path; a failure or a kill
    before the block ends publishes none of them, so the outputs never mix two runs (the
    renames at the end take microseconds, not the seconds writing does).
    """
    with contextlib.ExitStack() as stack:
        yield [stack.enter_context(atomic_path(p)) for p in paths]


@contextlib.contextmanager
def atomic_open(path: str | Path, mode: str = "w") -> Iterator[IO[Any]]:
    """`open` for writing, through `atomic_path`; text is UTF-8 with `\\n` line ends."""
    text = "b" not in mode
    with (
        atomic_path(path) as tmp,
        tmp.open(mode, encoding="utf-8" if text else None, newline="" if text else None) as fh,
    ):
        yield fh


def write_text(path: str | Path, text: str) -> Path:
    """Write `text` atomically: readers never see half a file, a failure keeps the old one."""
    with atomic_open(path) as fh:
        fh.write(text)
    return Path(path)


def write_bytes(path: str | Path, data: bytes) -> Path:
    with atomic_open(path, "wb") as fh:
        fh.write(data)
    return Path(path)


def write_json(path: str | Path, data: Any) -> Path:
    """Indented JSON with a final newline, key order kept: diffs stay readable in review."""
    return write_text(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def write_parquet(path: str | Path, frame: Any) -> Path:
    """A pandas frame as parquet, without its index."""
    with atomic_path(path) as tmp:
        frame.to_parquet(tmp, index=False)
    return Path(path)


def write_csv(path: str | Path, frame: Any, **options: Any) -> Path:
    """A pandas frame as CSV, without its index, `\\n` line ends."""
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False, lineterminator="\n", **options)
    return Path(path)


def digest(path: str | Path, algorithm: str = "sha256") -> str:
    """Hex digest of a file's bytes, read in blocks (md5 is what DVC records)."""
    with Path(path).open("rb") as fh:
        return hashlib.file_digest(fh, algorithm).hexdigest()
