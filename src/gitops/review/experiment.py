"""`make exp` and `make report EXP=<name>`: DVC experiments, and their review report.

`make exp ARGS="-S train.model=random_forest -n rf"` sets the values in params.yaml in place
(`gitops.params_edit`: dvc's own `-S` rewrites the whole file) and runs `dvc exp run` with
the rest of the arguments, by the interpreter running this, whatever the caller's PATH.

`dvc exp run` (`make exp`) keeps each experiment as a commit under `refs/exps/`: its params,
dvc.lock and git-tracked results, on top of the commit it started from. The report reads
the change from a workspace, so the experiment is checked out into a temporary git worktree
(shared objects, no clone, the caller's workspace untouched), the report runs there against
the base, and the comment and its JSON land in this workspace's `reports/`, as for a branch.

    python -m gitops.review.experiment run [-S key=value ...] [dvc exp run options]
    python -m gitops.review.experiment report --name <experiment> [--base <rev>]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

from gitops import git, params_edit
from gitops.files import write_bytes
from gitops.review import report
from gitops.review.snapshot import from_workspace

EXPERIMENTS = "refs/exps/"


def find(name: str, root: Path) -> str:
    """The commit of experiment `name` (as `dvc exp show` names it), or an error listing all."""
    found = git.refs(EXPERIMENTS, root)
    matches = {ref: sha for ref, sha in found.items() if name in (ref, ref.rsplit("/", 1)[-1])}
    if len(matches) == 1:
        return next(iter(matches.values()))
    known = sorted({ref.rsplit("/", 1)[-1] for ref in found if ref.count("/") > 3})
    if not matches:
        listed = ", ".join(known) if known else "none (run `make exp ARGS=...` first)"
        raise git.GitError(f"no experiment named '{name}' in {root}; experiments: {listed}")
    raise git.GitError(
        f"experiment name '{name}' is ambiguous (one per baseline commit): "
        f"{', '.join(sorted(matches))}; pass one of these refs as the name"
    )


def run(name: str, base: str | None, root: Path) -> int:
    """Report on experiment `name` against `base` (default: the merge base with main)."""
    sha = find(name, root)
    # Revisions such as HEAD mean the caller's workspace, not the experiment's checkout.
    base_sha = git.resolve(base, root) if base else None
    with (
        tempfile.TemporaryDirectory(prefix="exp-report-") as tmp,
        git.worktree(sha, Path(tmp) / "exp", root) as checkout,
    ):
        args = ["--root", str(checkout), *(["--base", base_sha] if base_sha else [])]
        status = report.main(args)
        if status == 2:
            return status
        settings, _ = report.settings_from(from_workspace(checkout).params or {})
        for rel in (settings.output, settings.json_path):
            produced = checkout / rel
            if produced.is_file():
                write_bytes(root / rel, produced.read_bytes())
                print(f"experiment {name} ({sha[:12]}): {rel}")
    return status


def run_experiment(argv: list[str], root: Path) -> int:
    """Set the `-S key=value` params in place, then `dvc exp run` with the other arguments."""
    parser = argparse.ArgumentParser(prog="make exp ARGS=", add_help=False)
    parser.add_argument("-S", "--set-param", action="append", default=[], dest="assignments")
    ours, rest = parser.parse_known_args(argv)
    try:
        changed = params_edit.apply(root / "params.yaml", ours.assignments)
    except (params_edit.ParamsEditError, ValueError) as err:
        print(f"exp: {err}", file=sys.stderr)
        return 2
    if changed:
        print(f"exp: set {', '.join(changed)} in params.yaml")
    return subprocess.run([sys.executable, "-m", "dvc", "exp", "run", *rest], cwd=root).returncode


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["run"]:
        return run_experiment(argv[1:], Path.cwd())
    parser = argparse.ArgumentParser(prog="make report EXP=", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    rep = sub.add_parser("report", help="the review report of one experiment")
    rep.add_argument("--name", required=True, help="the experiment, as `dvc exp show` names it")
    rep.add_argument("--base", default=None, help="base revision (default: merge base with main)")
    rep.add_argument("--root", default=".", help="repository root")
    sub.add_parser("run", help="set params in place, then dvc exp run", add_help=False)
    args = parser.parse_args(argv)
    try:
        return run(args.name, args.base, Path(args.root).resolve())
    except git.GitError as err:
        print(f"report: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
