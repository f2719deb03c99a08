"""Are a stage's deps and params complete? What its command imports, read from the code.

DVC re-runs a stage only when something listed under its `deps:` or `params:` changed. A
module the command imports but the stage does not list would change results without DVC
noticing, and without the lock check or the review report flagging stale results. This
resolves, for each stage of dvc.yaml, the project files its command runs (its module and
every project module imported from it, transitively, lazy imports included), the data
contract and the model package's hooks that the contract and the stage's params name, and
the params sections its command reads. `python -m gitops.pipeline.deps` prints what is
missing; a test fails on it.
"""

from __future__ import annotations

import argparse
import ast
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gitops import yamltext
from gitops.settings import resolve

#: Params keys whose value names model-package code ("module" or "module:function").
HOOK_KEYS = ("train.estimators", "train.features", "validate.findings", "monitor.demo.scenario")
#: Sections that hold only paths: covered by the interpolated deps and outs.
PATH_SECTIONS = ("data", "model", "results")
_MODULE = re.compile(r"python -m ([\w.]+)")


@dataclass
class StageNeeds:
    files: set[str] = field(default_factory=set)  # repository paths
    params: set[str] = field(default_factory=set)  # dotted keys the command reads


def module_file(module: str, src: Path) -> Path | None:
    """The file of a project module (`a.b` -> src/a/b.py or src/a/b/__init__.py)."""
    base = src.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _imports(path: Path, module: str) -> set[str]:
    """Dotted names of everything `path` imports (candidates: modules or attributes)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1])
                origin = f"{base}.{node.module}" if node.module else base
            else:
                origin = node.module or ""
            found.add(origin)
            found |= {f"{origin}.{alias.name}" for alias in node.names}
    return found


def closure(modules: list[str], src: Path) -> set[Path]:
    """Project files the modules run, following imports; parents' __init__.py included."""
    seen: dict[str, Path] = {}
    todo = list(modules)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        path = module_file(name, src)
        if path is None:
            continue
        seen[name] = path
        parts = name.split(".")
        todo += [".".join(parts[:i]) for i in range(1, len(parts))]
        todo += [m for m in _imports(path, name) if m not in seen]
    return set(seen.values())


def hook_modules(value: Any) -> list[str]:
    return [str(value).partition(":")[0]] if value else []


def _lookup(params: dict[str, Any], dotted: str) -> Any:
    node: Any = params
    for part in dotted.split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node


def settings_reads(path: Path) -> set[str]:
    """`settings.a.b` chains in a stage's command module: the params keys it reads."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    keys: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute):
            inner = node.value
            if isinstance(inner.value, ast.Name) and inner.value.id == "settings":
                keys.add(f"{inner.attr.rstrip('_')}.{node.attr}")
        elif (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "settings"
        ):
            keys.add(node.attr.rstrip("_"))
    # `a.b` supersedes `a` where both appear (the chain was read in full).
    return {k for k in keys if not any(o.startswith(k + ".") for o in keys)}


def needs(root: Path, stage: dict[str, Any], params: dict[str, Any]) -> StageNeeds:
    src = root / "src"
    match = _MODULE.search(str(stage.get("cmd", "")))
    if not match:
        raise ValueError(f"stage command does not run a module: {stage.get('cmd')}")
    module = match[1]
    declared = [str(p) for p in stage.get("params") or [] if isinstance(p, str)]
    roots = [module]
    for key in HOOK_KEYS:
        if any(key == d or key.startswith(d + ".") for d in declared):
            roots += hook_modules(_lookup(params, key))
    files = closure(roots, src)
    out = StageNeeds()
    if module_file("gitops.contract.load", src) in files:
        contract_path = _lookup(params, "data.contract")
        if contract_path:
            out.files.add(str(contract_path))
            contract = yamltext.load((root / str(contract_path)).read_text(encoding="utf-8"))
            for rule in (contract or {}).get("rules") or []:
                files |= closure(hook_modules(rule.get("check")), src)
    out.files |= {p.relative_to(root).as_posix() for p in files}
    command = module_file(module, src)
    if command is not None:
        out.params = {k for k in settings_reads(command) if k.split(".")[0] not in PATH_SECTIONS}
    return out


def covered(path: str, deps: list[str]) -> bool:
    """A dep directory covers every file below it."""
    return any(path == d or path.startswith(d.rstrip("/") + "/") for d in deps)


def problems(root: Path) -> list[str]:
    """Every file and params key a stage needs but does not declare, one line each."""
    params = yamltext.load((root / "params.yaml").read_text(encoding="utf-8")) or {}
    pipeline = resolve(yamltext.load((root / "dvc.yaml").read_text(encoding="utf-8")), params)
    found: list[str] = []
    for name, stage in (pipeline.get("stages") or {}).items():
        wanted = needs(root, stage, params)
        deps = [
            str(d) if isinstance(d, str) else str(next(iter(d))) for d in stage.get("deps") or []
        ]
        declared = [str(p) for p in stage.get("params") or [] if isinstance(p, str)]
        for path in sorted(wanted.files):
            if not covered(path, deps):
                found.append(f"stage '{name}': imports or reads {path}, not in its deps")
        for key in sorted(wanted.params):
            if not any(key == d or key.startswith(d + ".") for d in declared):
                found.append(f"stage '{name}': reads params {key}, not in its params")
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path())
    args = parser.parse_args(argv)
    found = problems(args.root)
    for line in found:
        print(f"deps: {line}", file=sys.stderr)
    if not found:
        print("deps: every stage lists what its command imports and reads")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
