"""Builders for release tests: small real git repos with what a release reads, and a dist/.

The repos hold only what the version rules look at (params.yaml's release section, the
dvc.yaml artifact, a dvc.lock with the model's md5, the input schema, metrics, a source
file); the wheel is a real zip with real METADATA, as `make package` would leave it.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import zipfile
from pathlib import Path

import yaml

import inprocess
from support import checked, env, run

RELEASE = {
    "artifact": "churn",
    "first_version": "1.0.0",
    "input_schema": "models/input_schema.json",
    "model": "models/model.skops",
    "code": ["src/churn", "pyproject.toml"],
    "metrics": "models/metrics.json",
    "package": "churn-model",
    "dist": "dist",
    "notes": "dist/RELEASE_NOTES.md",
    "remote": "origin",
}
SCHEMA = {
    "type": "object",
    "properties": {"call_failures": {"type": "integer", "minimum": 0, "description": "Calls."}},
    "required": ["call_failures"],
}
METRICS = {"roc_auc": 0.90, "log_loss": 0.30}


def lock_text(md5: str) -> str:
    lock = {
        "schema": "2.0",
        "stages": {
            "train": {
                "cmd": "python -m gitops.pipeline.train",
                "outs": [
                    {"path": "models/model.skops", "hash": "md5", "md5": md5, "size": 1},
                    {"path": "models/input_schema.json", "hash": "md5", "md5": "0" * 32},
                ],
            }
        },
    }
    return yaml.safe_dump(lock, sort_keys=False)


def write(repo: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        target = repo / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")


def commit(repo: Path, message: str, files: dict[str, str]) -> str:
    write(repo, files)
    run(["git", "add", "-A"], repo)
    run(["git", "commit", "-q", "-m", message], repo)
    return run(["git", "rev-parse", "HEAD"], repo).stdout.strip()


def make_repo(repo: Path) -> Path:
    """A git repo on `main` with one commit holding everything a release reads."""
    repo.mkdir(parents=True)
    run(["git", "init", "-q", "-b", "main"], repo)
    commit(
        repo,
        "project",
        {
            ".gitignore": "/dist/\n",
            "params.yaml": yaml.safe_dump({"release": RELEASE}, sort_keys=False),
            "dvc.yaml": yaml.safe_dump(
                {
                    "stages": {"train": {"cmd": "python -m gitops.pipeline.train"}},
                    "artifacts": {"churn": {"path": "models/model.skops", "type": "model"}},
                },
                sort_keys=False,
            ),
            "dvc.lock": lock_text("a" * 32),
            "models/input_schema.json": json.dumps(SCHEMA, indent=2) + "\n",
            "models/metrics.json": json.dumps(METRICS, indent=2) + "\n",
            "src/churn/model.py": "def fit():\n    return 1\n",
            "pyproject.toml": '[project]\nname = "x"\n',
            "docs/usage.md": "# Usage\n",
            "tests/test_model.py": "def test_fit():\n    assert True\n",
        },
    )
    return repo


def write_dist(repo: Path, version: str, *, metadata_version: str | None = None) -> Path:
    """dist/ as the package step leaves it: the wheel, a model card and SHA256SUMS."""
    dist = repo / "dist"
    dist.mkdir(exist_ok=True)
    wheel = dist / f"churn_model-{version}-py3-none-any.whl"
    info = f"churn_model-{version}.dist-info"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr("churn_model/__init__.py", "")
        zf.writestr(
            f"{info}/METADATA",
            f"Metadata-Version: 2.3\nName: churn-model\nVersion: {metadata_version or version}\n",
        )
        zf.writestr(f"{info}/WHEEL", "Wheel-Version: 1.0\nRoot-Is-Purelib: true\n")
    (dist / "MODEL_CARD.md").write_text("# churn\n", encoding="utf-8")
    lines = [
        f"{hashlib.sha256(p.read_bytes()).hexdigest()}  {p.name}\n"
        for p in (wheel, dist / "MODEL_CARD.md")
    ]
    (dist / "SHA256SUMS").write_text("".join(lines), encoding="utf-8")
    return wheel


def release_cli(repo: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """`python -m gitops.release.cli <args>` in `repo`, in this process (tests/inprocess.py):
    the rules are under test, not the interpreter's start. `make release` runs it as CI does
    (test_release_make); GTO runs in this process either way, git as processes."""
    proc = inprocess.python_m("gitops.release.cli", list(args), repo, env())
    return checked(proc) if check else proc


def gto(repo: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """`gto <args>` in `repo`, in this process (tests/inprocess.py)."""
    proc = inprocess.gto(repo, list(args), env())
    return checked(proc) if check else proc
