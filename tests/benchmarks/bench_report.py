"""How long `make report` takes: on the bundled sample and on a 200,000-row test set.

Builds a throwaway git repository whose base and change commits hold synthetic
predictions of the size asked for, then times the report end to end (reading both
revisions from git, the paired bootstrap, gates, rendering). Prints figures; asserts
nothing, so a slow machine never fails a build. Run with `make bench-report`.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from gitops.curves import PLOTS, all_curves
from gitops.metrics import point
from gitops.review import report, significance

ROOT = Path(__file__).resolve().parents[2]


def git(repo: Path, *args: str) -> None:
    env = os.environ | {
        "GIT_AUTHOR_NAME": "bench",
        "GIT_AUTHOR_EMAIL": "bench@example.com",
        "GIT_COMMITTER_NAME": "bench",
        "GIT_COMMITTER_EMAIL": "bench@example.com",
    }
    subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True)


def write_results(
    repo: Path, params: dict, y: np.ndarray, score: np.ndarray, value: np.ndarray
) -> None:
    """What the evaluate stage writes, at the paths params.yaml names."""
    results = params["results"]
    n = y.size
    preds = pd.DataFrame(
        {
            "row_id": [f"{i:016x}" for i in range(n)],
            "label": y.astype(int),
            "score": score,
            "value": value,
        }
    )
    (repo / results["plots"]).mkdir(parents=True, exist_ok=True)
    preds.to_csv(repo / results["predictions"], index=False)
    metrics = point(y, score, value, **params["metrics"])
    (repo / results["metrics"]).write_text(json.dumps(metrics))
    for name, frame in all_curves(y, score).items():
        frame.to_csv(repo / results["plots"] / PLOTS[name][0], index=False, float_format="%.6g")


def synthetic_repo(folder: Path, rows: int) -> Path:
    repo = folder / "repo"
    repo.mkdir()
    for rel in ("params.yaml", "dvc.lock", "data/quality.json"):
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / rel, repo / rel)
    params = yaml.safe_load((repo / "params.yaml").read_text())
    rng = np.random.default_rng(0)
    y = (rng.random(rows) < 0.15).astype(float)
    signal = rng.normal(0, 1, rows)
    value = rng.gamma(2.0, 500.0, rows)
    base = 1 / (1 + np.exp(-(3 * (y - 0.5) + signal)))
    change = 1 / (1 + np.exp(-(3 * (y - 0.5) + signal + rng.normal(0, 0.2, rows))))
    git(repo, "init", "-q", "-b", "main")
    write_results(repo, params, y, base, value)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "base")
    write_results(repo, params, y, change, value)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "change")
    return repo


def cpu_seconds() -> float:
    """CPU time of this process and its finished workers: what load on the machine can't inflate."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def timed(repo: Path, base: str, repeat: int) -> tuple[float, float, dict]:
    """Best wall-clock seconds, CPU seconds of that run, and the report's JSON."""
    best, cpu, data = float("inf"), 0.0, {}
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), cpu_seconds()
        data, _, _ = report.generate(repo, base, {})
        wall = time.perf_counter() - start
        if wall < best:
            best, cpu = wall, cpu_seconds() - start_cpu
    return best, cpu, data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    load = os.getloadavg()[0]
    print(
        f"{os.cpu_count()} cores, load average {load:.1f} (wall-clock figures inflate under load)"
    )
    seconds, cpu, data = timed(ROOT, "HEAD", args.repeat)
    comp = data["comparison"]
    print(
        f"sample: {comp.get('rows_change')} test rows, {comp.get('resamples')} resamples: "
        f"report {seconds:.2f} s wall, {cpu:.2f} s CPU (bootstrap {comp.get('seconds')} s)"
    )
    with tempfile.TemporaryDirectory() as tmp:
        repo = synthetic_repo(Path(tmp), args.rows)
        seconds, cpu, data = timed(repo, "HEAD^1", args.repeat)
    comp = data["comparison"]
    settings = significance.Settings()
    cells = settings.chunk_cells
    print(
        f"{args.rows:,} test rows ({comp['mode']}), {comp['resamples']} resamples in chunks of "
        f"{max(1, cells // args.rows)}: report {seconds:.2f} s wall, {cpu:.2f} s CPU "
        f"(bootstrap {comp['seconds']} s wall), "
        f"weights in memory per chunk ~{cells * 8 / 2**20:.0f} MiB"
    )


if __name__ == "__main__":
    main()
