"""`make package`: the installable model and the files a release publishes next to it.

The wheel holds only what scoring needs: the modules listed in `package.modules` (the
machinery's scoring runtime and the model package's rule hooks), the trained model and its
evidence (contract, input schema, metrics, data-quality summary, model card) and a manifest
with every file's SHA-256, the version, the training data's hash, the params it was
trained with and the commit it was built from. Training code stays out. The wheel declares
its model package in the `gitops.models` entry point group, which is how the runtime finds
the artifacts without knowing the package's name.

Everything model-specific comes from the `package` section of params.yaml; this module
copies files into a staging folder, writes a pyproject.toml there and lets a standard
backend (hatchling, through `uv build`) make the wheel. dist/ is replaced only once the
wheel is built and checked.
"""

from __future__ import annotations

import argparse
import ast
import datetime as dt
import hashlib
import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from gitops import dvclock, git, yamltext
from gitops.files import digest
from gitops.release import modelcard
from gitops.settings import PackageSettings, Settings, SettingsError

ARTIFACTS = "artifacts"  # folder inside the model package; the scoring code reads it
ENTRY_POINTS = "gitops.models"  # the group the scoring runtime looks the package up in
MANIFEST = "manifest.json"
CARD = "MODEL_CARD.md"
SUMS = "SHA256SUMS"
_VERSION = re.compile(r"^\d+(\.\d+)*((a|b|rc)\d+)?(\.post\d+)?(\.dev\d+)?(\+[a-z0-9.]+)?$")


class PackageError(RuntimeError):
    """The package cannot be built; the message names the file or setting."""


@dataclass(frozen=True)
class Spec:
    """The `package` section of params.yaml, references resolved, paths made absolute."""

    distribution: str
    import_package: str
    source: Path
    summary: str
    modules: list[str]
    scripts: dict[str, str]
    requires_python: str
    dependencies: list[str]
    pin_installed: list[str]
    artifacts: dict[str, Path]
    optional: set[str]
    data_summary: Path
    record_params: list[str]
    release_assets: list[str]
    card: dict[str, Any]

    @classmethod
    def from_settings(cls, settings: Settings, root: Path) -> Spec:
        p: PackageSettings | None = settings.package
        if p is None:
            raise PackageError(f"{settings.source}: missing section 'package'")
        return cls(
            distribution=p.distribution,
            import_package=p.import_package,
            source=root / p.source,
            summary=p.summary,
            modules=list(p.modules),
            scripts=dict(p.scripts),
            requires_python=p.requires_python,
            dependencies=list(p.dependencies),
            pin_installed=list(p.pin_installed),
            artifacts={k: root / v for k, v in p.artifacts.items()},
            optional=set(p.optional),
            data_summary=root / p.data_summary,
            record_params=list(p.record_params),
            release_assets=list(p.release_assets),
            card=p.card.model_dump(),
        )

    @classmethod
    def from_params(cls, params: dict[str, Any], root: Path) -> Spec:
        try:
            return cls.from_settings(Settings.from_mapping(params), root)
        except SettingsError as exc:
            raise PackageError(str(exc)) from None

    def files(self) -> dict[str, Path]:
        """Wheel path -> source file of every shipped module, parents' __init__.py included."""
        out: dict[str, Path] = {}
        for module in self.modules:
            base = self.source.joinpath(*module.split("."))
            if base.with_suffix(".py").is_file():
                found = [base.with_suffix(".py")]
            elif (base / "__init__.py").is_file():
                found = sorted(base.glob("*.py"))
            else:
                raise PackageError(
                    f"package.modules lists {module}, but neither {base}.py nor {base}/ exists"
                )
            for path in found:
                rel = path.relative_to(self.source)
                out[rel.as_posix()] = path
                for parent in rel.parents:
                    init = parent / "__init__.py"
                    if parent != Path() and (self.source / init).is_file():
                        out[init.as_posix()] = self.source / init
        init = self.source / self.import_package / "__init__.py"
        out.setdefault(f"{self.import_package}/__init__.py", init)
        return out

    def top_packages(self) -> list[str]:
        return sorted({name.split("/")[0] for name in self.files()})


def requirements(spec: Spec) -> list[str]:
    """Runtime requirements, with `pin_installed` ones fixed to the version installed now."""
    out = []
    for req in spec.dependencies:
        name = re.split(r"[<>=!~;\[ ]", req, maxsplit=1)[0]
        if name in spec.pin_installed:
            try:
                req = f"{name}=={importlib.metadata.version(name)}"
            except importlib.metadata.PackageNotFoundError:
                raise PackageError(f"{name} is not installed, so cannot be pinned") from None
        out.append(req)
    return out


def git_info(root: Path) -> dict[str, Any]:
    """The commit built from; `dirty` when tracked files differ from it."""
    try:
        commit = git.resolve("HEAD", root)
    except git.GitError:
        return {"commit": "unknown", "commit_time": "unknown", "epoch": None, "dirty": True}
    stamp = git.commit_time(commit, root)
    when = dt.datetime.fromtimestamp(stamp, tz=dt.UTC)
    return {
        "commit": commit,
        "commit_time": when.isoformat().replace("+00:00", "Z"),
        "epoch": stamp,
        "dirty": git.dirty(root),
    }


def contract_hooks(path: Path | None) -> list[str]:
    """The rule hooks a contract file names (`package.module:function`)."""
    if path is None:
        raise PackageError("params.yaml: package.artifacts has no 'contract' (the data contract)")
    data = yamltext.load(path.read_text(encoding="utf-8")) or {}
    return [str(r.get("check")) for r in data.get("rules") or [] if isinstance(r, dict)]


def collect_artifacts(spec: Spec) -> dict[str, Path]:
    """Artifacts present; a missing required one is an error that says how to make it."""
    found: dict[str, Path] = {}
    names: dict[str, str] = {}
    for key, path in spec.artifacts.items():
        if not path.is_file():
            if key in spec.optional:
                continue
            raise PackageError(f"{path}: missing ({key}); run `make run` first")
        if path.name in names:
            raise PackageError(f"artifacts {names[path.name]} and {key} share the name {path.name}")
        names[path.name] = key
        found[key] = path
    if "model" not in found:
        raise PackageError("params.yaml: package.artifacts has no 'model'")
    return found


def check_lock(root: Path, params: dict[str, Any], found: dict[str, Path]) -> None:
    """Refuse to package results the pipeline did not produce from the current params.

    dvc.lock records each stage's params and outputs; an artifact whose md5 differs, or a
    params section changed since, means `make run` was not run after the last change.
    """
    lock = dvclock.read(root)
    if lock is None:
        return
    outs = {out.path: out.md5 for _, out in lock.outputs()}
    for key, path in found.items():
        recorded = outs.get(path.relative_to(root).as_posix())
        if recorded and digest(path, "md5") != recorded:
            raise PackageError(
                f"{path.relative_to(root)} ({key}) is not the output dvc.lock records; "
                "run `make run` first"
            )
    for name, stage in lock.stages.items():
        for file_params in stage.params.values():
            for dotted, value in file_params.items():
                current: Any = params
                for part in str(dotted).split("."):
                    current = current.get(part) if isinstance(current, dict) else None
                if current != value:
                    raise PackageError(
                        f"params.yaml: '{dotted}' changed since stage '{name}' ran "
                        "(dvc.lock); run `make run` first"
                    )


def build_manifest(
    spec: Spec, params: dict[str, Any], version: str, found: dict[str, Path], root: Path
) -> dict[str, Any]:
    if not spec.data_summary.is_file():
        raise PackageError(f"{spec.data_summary}: missing; run `make run` first")
    quality = json.loads(spec.data_summary.read_text(encoding="utf-8"))
    metrics_path = found.get("metrics")
    gitmeta = git_info(root)
    return {
        "name": spec.distribution,
        "title": spec.card.get("title") or spec.distribution,
        "summary": spec.summary,
        "version": version,
        "import_package": spec.import_package,
        "artifacts": {
            key: {
                "file": path.name,
                "sha256": digest(path),
                "source": path.relative_to(root).as_posix(),
            }
            for key, path in found.items()
        },
        "training_data": {
            "source": quality.get("source"),
            "sha256": quality.get("sha256"),
            "rows": quality.get("rows_out"),
        },
        "metrics": json.loads(metrics_path.read_text(encoding="utf-8")) if metrics_path else {},
        "params": {k: params[k] for k in spec.record_params if k in params},
        "git": {k: v for k, v in gitmeta.items() if k != "epoch"},
        "build": {
            "python": ".".join(map(str, sys.version_info[:3])),
            "pinned": {n: importlib.metadata.version(n) for n in spec.pin_installed},
        },
    }


def model_card(spec: Spec, params: dict[str, Any], manifest: dict[str, Any], root: Path) -> str:
    card = spec.card
    quality = json.loads(spec.data_summary.read_text(encoding="utf-8"))
    preds_path = root / str(card.get("predictions", ""))
    ci: dict[str, tuple[float, float]] = {}
    rows = 0
    if preds_path.is_file():
        preds = pd.read_csv(preds_path)
        rows = len(preds)
        thresholds = params.get("metrics") or {}
        ci = modelcard.intervals(
            preds,
            threshold=float(thresholds.get("threshold", 0.5)),
            top_fraction=float(thresholds.get("top_fraction", 0.1)),
            resamples=int(card.get("bootstrap_resamples", 1000)),
            seed=int(card.get("seed", 0)),
        )
    data_card = modelcard.read_text_if_exists(root / str(card.get("data_card", "")))
    return modelcard.render(
        card, manifest, quality=quality, ci=ci, test_rows=rows, data_card=data_card
    )


def _imported(path: Path, module: str) -> set[str]:
    """Dotted names a file imports (relative imports resolved)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            origin = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1])
                origin = f"{base}.{origin}" if origin else base
            names.add(origin)
            names |= {f"{origin}.{a.name}" for a in node.names}
    return names


def check_imports(spec: Spec, hooks: list[str] | None = None) -> None:
    """Refuse a module list whose modules, or the contract's rule hooks, need a module left out.

    Every import of a project package (one found under `package.source`) must name a
    shipped module, lazy imports included, and every hook the contract names must be shipped.
    """
    shipped = spec.files()
    modules = {
        name.removesuffix(".py").removesuffix("/__init__").replace("/", ".") for name in shipped
    }
    project = {p.name for p in spec.source.iterdir() if (p / "__init__.py").is_file()}

    def is_module(dotted: str) -> bool:
        base = spec.source.joinpath(*dotted.split("."))
        return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()

    for rel, path in sorted(shipped.items()):
        module = rel.removesuffix(".py").removesuffix("/__init__").replace("/", ".")
        for name in sorted(_imported(path, module)):
            if name.split(".")[0] in project and is_module(name) and name not in modules:
                raise PackageError(f"{path}: imports {name}, which package.modules leaves out")
    for hook in hooks or []:
        module = hook.partition(":")[0]
        if module not in modules:
            raise PackageError(
                f"the contract's rule hook {hook} is in {module}, which package.modules leaves out"
            )


def pyproject(spec: Spec, version: str) -> str:
    q = json.dumps  # a JSON string is a valid TOML basic string
    deps = ",\n".join(f"    {q(r)}" for r in requirements(spec))
    scripts = "\n".join(f"{q(k)} = {q(v)}" for k, v in spec.scripts.items())
    packages = ", ".join(q(p) for p in spec.top_packages())
    return f"""[project]
name = {q(spec.distribution)}
version = {q(version)}
description = {q(spec.summary)}
readme = "README.md"
requires-python = {q(spec.requires_python)}
dependencies = [
{deps},
]

[project.scripts]
{scripts}

[project.entry-points.{q(ENTRY_POINTS)}]
{q(spec.import_package)} = {q(spec.import_package)}

[build-system]
requires = ["hatchling>=1.25"]
build-backend = "hatchling.build"

[tool.hatch.build.targets.wheel]
packages = [{packages}]
"""


def stage(
    spec: Spec, version: str, found: dict[str, Path], texts: dict[str, str], dest: Path
) -> None:
    """The source tree the backend builds: listed modules, artifacts, generated files."""
    for rel, path in spec.files().items():
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if path.is_file():
            shutil.copy2(path, target)
        else:
            target.touch()
    artifacts = dest / spec.import_package / ARTIFACTS
    artifacts.mkdir(parents=True)
    for path in found.values():
        shutil.copy2(path, artifacts / path.name)
    for name, text in texts.items():
        (artifacts / name).write_text(text, encoding="utf-8")
    (dest / "README.md").write_text(texts[CARD], encoding="utf-8")
    (dest / "pyproject.toml").write_text(pyproject(spec, version), encoding="utf-8")


def build_wheel(source: Path, out: Path, uv: str, epoch: int | None) -> Path:
    env = dict(os.environ)
    if epoch is not None:
        env["SOURCE_DATE_EPOCH"] = str(max(epoch, 315532800))  # zip needs >= 1980
    proc = subprocess.run(
        [uv, "build", "--wheel", "--quiet", "--out-dir", str(out), str(source)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    wheels = sorted(out.glob("*.whl"))
    if proc.returncode != 0 or len(wheels) != 1:
        raise PackageError(f"wheel build failed:\n{proc.stdout}{proc.stderr}")
    return wheels[0]


def check_wheel(wheel: Path, spec: Spec, found: dict[str, Path]) -> list[str]:
    """The wheel holds the listed modules and artifacts and nothing else of its packages."""
    pkg = spec.import_package
    tops = tuple(f"{p}/" for p in spec.top_packages())
    with zipfile.ZipFile(wheel) as zf:
        names = [n for n in zf.namelist() if n.startswith(tops)]
    allowed = set(spec.files())
    allowed |= {f"{pkg}/{ARTIFACTS}/{p.name}" for p in found.values()}
    allowed |= {f"{pkg}/{ARTIFACTS}/{n}" for n in (MANIFEST, CARD)}
    extra = sorted(set(names) - allowed)
    missing = sorted(allowed - set(names))
    if extra or missing:
        raise PackageError(f"{wheel.name}: unexpected files {extra}, missing files {missing}")
    return names


def publish(dist: Path, files: dict[str, Path]) -> dict[str, str]:
    """Replace dist/ by `files` and their SHA256SUMS, only now that all of them exist."""
    sums = {name: digest(path) for name, path in files.items()}
    fresh = Path(tempfile.mkdtemp(prefix=".dist-", dir=dist.parent))
    fresh.chmod(0o755)
    try:
        for name, path in files.items():
            shutil.copy2(path, fresh / name)
        lines = "".join(f"{sha}  {name}\n" for name, sha in sorted(sums.items()))
        (fresh / SUMS).write_text(lines, encoding="utf-8")
        if dist.exists():
            shutil.rmtree(dist)
        fresh.rename(dist)
    finally:
        shutil.rmtree(fresh, ignore_errors=True)
    return sums


def package(root: Path, params_path: Path, version: str, dist: Path, uv: str) -> Path:
    if not _VERSION.match(version):
        raise PackageError(f"version '{version}' is not a PEP 440 version such as 1.2.3")
    try:
        settings = Settings.load(params_path)
    except SettingsError as exc:
        raise PackageError(str(exc)) from None
    params = settings.raw
    spec = Spec.from_settings(settings, root)
    found = collect_artifacts(spec)
    check_imports(spec, contract_hooks(found.get("contract")))
    check_lock(root, params, found)
    manifest = build_manifest(spec, params, version, found, root)
    card = model_card(spec, params, manifest, root)
    manifest["artifacts"]["model_card"] = {
        "file": CARD,
        "sha256": hashlib.sha256(card.encode()).hexdigest(),
        "source": "generated",
    }
    manifest_text = json.dumps(manifest, indent=2) + "\n"
    with tempfile.TemporaryDirectory(prefix="package-") as tmp:
        work = Path(tmp)
        stage(spec, version, found, {CARD: card, MANIFEST: manifest_text}, work / "stage")
        wheel = build_wheel(work / "stage", work / "out", uv, _epoch(manifest))
        check_wheel(wheel, spec, found)
        loose = {CARD: work / CARD, MANIFEST: work / MANIFEST}
        loose[CARD].write_text(card, encoding="utf-8")
        loose[MANIFEST].write_text(manifest_text, encoding="utf-8")
        for key in spec.release_assets:
            if key in found:
                loose[found[key].name] = found[key]
        publish(dist, {wheel.name: wheel, **loose})
    return dist / wheel.name


def _epoch(manifest: dict[str, Any]) -> int | None:
    stamp = manifest["git"]["commit_time"]
    if stamp == "unknown":
        return None
    return int(dt.datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--version", default="0.0.0.dev0")
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--dist", default="dist")
    parser.add_argument("--uv", default="uv", help="uv executable that runs the build")
    args = parser.parse_args(argv)
    root = Path.cwd()
    try:
        wheel = package(root, Path(args.params), args.version, root / args.dist, args.uv)
    except (PackageError, git.GitError) as exc:
        print(f"package: {exc}", file=sys.stderr)
        print("package: dist/ was left as it was.", file=sys.stderr)
        return 1
    size = wheel.stat().st_size
    print(f"package: {wheel.relative_to(root)} ({size / 1024:.0f} KiB)")
    for name in sorted(p.name for p in wheel.parent.iterdir()):
        print(f"package:   {args.dist}/{name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
