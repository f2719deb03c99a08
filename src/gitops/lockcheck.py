"""Is `dvc.lock` consistent with the files next to it? A check cheap enough for a commit hook.

A pull request whose committed results were not produced by its committed code, data and
params would show reviewers numbers nobody can reproduce. This compares every file the
lock names that is present in the workspace (by MD5, as DVC records it) and every param
the lock recorded against params.yaml, without running DVC or needing its cache: files
that are absent (a model not pulled yet) are skipped, not flagged.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from gitops import dvclock, yamltext
from gitops.files import digest


def _lookup(params: dict[str, Any], dotted: str) -> Any:
    """A dotted key; dvc.lock records a stage's `params: [a.b]` under the key "a.b" itself."""
    if dotted in params:
        return params[dotted]
    node: Any = params
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return _MISSING
        node = node[part]
    return node


_MISSING = object()


def _flatten(prefix: str, value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, sub in value.items():
            out |= _flatten(f"{prefix}.{key}" if prefix else str(key), sub)
        return out
    return {prefix: value}


def problems(root: Path) -> list[str]:
    """Every way in which `dvc.lock` disagrees with the workspace, one line each."""
    dvc_path = root / "dvc.yaml"
    lock = dvclock.read(root)
    if lock is None:
        return ["dvc.lock is missing: run `make run` and commit dvc.lock"]
    stages = lock.stages
    found: list[str] = []
    declared = (
        (yamltext.load(dvc_path.read_text()) or {}).get("stages", {}) if dvc_path.exists() else {}
    )
    for name in declared:
        if name not in stages:
            found.append(f"stage '{name}' is in dvc.yaml but not in dvc.lock")
    param_files: dict[str, dict[str, Any]] = {}
    for name, stage in stages.items():
        for entry in [*stage.deps, *stage.outs]:
            path = root / entry.path
            if path.is_file() and entry.md5 and digest(path, "md5") != entry.md5:
                found.append(f"stage '{name}': {entry.path} differs from dvc.lock")
        for file, values in stage.params.items():
            if file not in param_files:
                param_files[file] = yamltext.load((root / file).read_text()) or {}
            for key, recorded in _flatten("", values).items():
                current = _lookup(param_files[file], key)
                if current is _MISSING:
                    found.append(f"stage '{name}': param {key} is in dvc.lock but not in {file}")
                elif current != recorded:
                    found.append(
                        f"stage '{name}': param {key} is {current!r} in {file}, "
                        f"{recorded!r} in dvc.lock"
                    )
            for key in _flatten("", {k: _lookup(param_files[file], k) for k in values}):
                if _lookup(values, key) is _MISSING:
                    found.append(f"stage '{name}': param {key} is new in {file}, not in dvc.lock")
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path())
    args = parser.parse_args(argv)
    found = problems(args.root)
    if not found:
        print("dvc.lock matches params, code, data and committed results")
        return 0
    print("dvc.lock is out of date with the workspace:", file=sys.stderr)
    for line in found:
        print(f"  - {line}", file=sys.stderr)
    print("Run `make run`, then commit dvc.lock and the changed results.", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
