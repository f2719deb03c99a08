"""Helpers for tests: run commands like a user would, copy the project into real git repos."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from gitops.pipeline import outputs

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def env() -> dict[str, str]:
    """The environment stage commands need: this interpreter's `python` and `dvc` first."""
    out = dict(os.environ)
    out["PATH"] = f"{BIN}{os.pathsep}{out.get('PATH', '')}"
    out["DVC_NO_ANALYTICS"] = "1"
    out["GIT_AUTHOR_NAME"] = out["GIT_COMMITTER_NAME"] = "Test"
    out["GIT_AUTHOR_EMAIL"] = out["GIT_COMMITTER_EMAIL"] = "test@example.com"
    out.pop("GITHUB_STEP_SUMMARY", None)
    # Python writes its bytecode, as on a GitHub runner: where this variable is set, every
    # command in a venv a test just installed would compile scikit-learn and pandas anew
    # (`churn info` in the installed wheel's venv: 5.8 s each time, 2 s once cached).
    out.pop("PYTHONDONTWRITEBYTECODE", None)
    return out


def run(
    cmd: list[str], cwd: Path, *, check: bool = True, **kwargs: object
) -> subprocess.CompletedProcess[str]:
    """Run a command, showing its output when it fails so a broken test explains itself."""
    proc = subprocess.run(cmd, cwd=cwd, env=env(), capture_output=True, text=True, **kwargs)  # type: ignore[call-overload]
    return checked(proc) if check else proc


def checked(proc: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    """`proc` if it exited 0; else a failure showing the command and all it printed."""
    if proc.returncode != 0:
        raise AssertionError(
            f"{' '.join(map(str, proc.args))} exited {proc.returncode}\n"
            f"--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}"
        )
    return proc


def offline() -> tuple[list[str], dict[str, str], str]:
    """A command prefix and environment with no way out, and how: a network namespace,
    else proxies pointed at a closed port. No DVC_* variables: the repository's own config
    must keep DVC from phoning home."""
    probe = subprocess.run(["unshare", "-n", "true"], capture_output=True, check=False)
    out = {k: v for k, v in env().items() if not k.startswith("DVC_")}
    if probe.returncode == 0:
        return ["unshare", "-n"], out, "network namespace with no interfaces"
    dead = "http://127.0.0.1:9"
    out |= {"HTTP_PROXY": dead, "HTTPS_PROXY": dead, "ALL_PROXY": dead, "NO_PROXY": ""}
    out |= {k.lower(): v for k, v in out.items() if k.endswith("_PROXY")}
    return [], out, "proxies pointed at a closed loopback port"


def tracked_files(root: Path = ROOT) -> list[str]:
    out = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [p for p in out.split("\0") if p and (root / p).is_file()]


def copy_repo(dest: Path, *, with_results: bool = True) -> Path:
    """Copy the project (as git sees it, plus DVC outputs when asked) into a fresh git repo."""
    dest.mkdir(parents=True, exist_ok=True)
    for rel in tracked_files():
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / rel, target)
    if with_results:
        outputs.copy_cached(ROOT, dest)
    run(["git", "init", "-q", "-b", "main"], dest)
    run(["git", "add", "-A"], dest)
    run(["git", "commit", "-q", "-m", "template"], dest)
    return dest


def _without_dvc_tmp(folder: str, names: list[str]) -> set[str]:
    """DVC's locks and state database stay behind: a copy starts with none of them."""
    return {"tmp"} & set(names) if Path(folder).name == ".dvc" else set()


def copy_reproduced(src: Path, dest: Path) -> Path:
    """A private copy of a reproduced repo: git history, DVC cache and outputs included."""
    shutil.copytree(src, dest, symlinks=True, ignore=_without_dvc_tmp)
    return dest


def set_params(repo: Path, **changes: object) -> None:
    """Set dotted keys in params.yaml, e.g. set_params(repo, **{"train.seed": 7})."""
    path = repo / "params.yaml"
    params = yaml.safe_load(path.read_text(encoding="utf-8"))
    for dotted, value in changes.items():
        node = params
        *parents, leaf = dotted.split(".")
        for key in parents:
            node = node[key]
        node[leaf] = value
    path.write_text(yaml.safe_dump(params, sort_keys=False, allow_unicode=True), encoding="utf-8")
