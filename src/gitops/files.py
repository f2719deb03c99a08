"""Files the machinery writes and checks: whole or not at all, and by their digest.

Standard library only: the pull-request comment workflow runs these with a bare `python3`.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path


def write_text(path: Path, text: str) -> Path:
    """Write `text` atomically: readers never see half a file, a failure keeps the old one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        Path(tmp).chmod(0o644)
        Path(tmp).replace(path)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return path


def digest(path: Path, algorithm: str = "sha256") -> str:
    """Hex digest of a file's bytes, read in blocks (md5 is what DVC records)."""
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, algorithm).hexdigest()
