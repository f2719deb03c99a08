"""The stage outputs DVC caches and git does not carry, as dvc.yaml declares them.

A clone of a reproduced repository holds what git tracks (metrics, plots, dvc.lock, the data
summary) but not the outputs in DVC's cache: the cleaned data, the splits, the model. Where
another checkout of the same commit has them, copying them stands in for a `make run` whose
stages would only recompute the same bytes (`make docs` makes its example change in a
temporary clone; the tests' CI checkouts). Read from dvc.yaml, so a fork's new cached output
is copied too.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from gitops import yamltext
from gitops.settings import resolve


def cached(root: Path) -> list[str]:
    """Paths (relative to `root`) of every stage output DVC caches, in dvc.yaml's order."""
    params = yamltext.load((root / "params.yaml").read_text(encoding="utf-8")) or {}
    pipeline = yamltext.load((root / "dvc.yaml").read_text(encoding="utf-8")) or {}
    found: list[str] = []
    for stage in (pipeline.get("stages") or {}).values():
        for out in stage.get("outs") or []:
            path, options = (out, {}) if isinstance(out, str) else next(iter(out.items()))
            if (options or {}).get("cache", True):
                found.append(resolve(str(path), params))
    return found


def copy_cached(src: Path, dest: Path) -> list[str]:
    """Copy the cached outputs `src` has into the checkout `dest`; returns those copied."""
    copied: list[str] = []
    for rel in cached(src):
        source, target = src / rel, dest / rel
        if source.is_dir():
            shutil.copytree(source, target, dirs_exist_ok=True)
        elif source.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
        else:
            continue
        copied.append(rel)
    return copied
