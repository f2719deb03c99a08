"""One revision's results as the report needs them, read from git objects or the workspace.

Paths come from that revision's own params.yaml (`results:`, `data.quality`), so a base
that kept its files elsewhere is still read correctly.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from gitops import git, yamltext
from gitops.curves import PLOTS
from gitops.metrics import renamed

Reader = Callable[[str], bytes | None]

PARAMS = "params.yaml"
LOCK = "dvc.lock"
DEFAULT_PATHS = {
    "metrics": "models/metrics.json",
    "predictions": "models/predictions.csv",
    "plots": "models/plots",
    "quality": "data/quality.json",
}
PREDICTION_COLUMNS = ("row_id", "label", "score", "value")
#: Curve columns' names before they became neutral: an older base's curves still draw.
LEGACY_COLUMNS = {"customers_contacted": "share_contacted", "churners_caught": "positives_caught"}


@dataclass
class Snapshot:
    params: dict[str, Any] | None = None
    metrics: dict[str, float] | None = None
    predictions: pd.DataFrame | None = None
    plots: dict[str, pd.DataFrame] = field(default_factory=dict)
    quality: dict[str, Any] | None = None
    lock: dict[str, Any] | None = None


def paths(params: Mapping[str, Any] | None) -> dict[str, str]:
    params = params or {}
    results = params.get("results") or {}
    data = params.get("data") or {}
    return {
        "metrics": results.get("metrics", DEFAULT_PATHS["metrics"]),
        "predictions": results.get("predictions", DEFAULT_PATHS["predictions"]),
        "plots": results.get("plots", DEFAULT_PATHS["plots"]),
        "quality": data.get("quality", DEFAULT_PATHS["quality"]),
    }


def _yaml(raw: bytes | None, where: str) -> dict[str, Any] | None:
    if raw is None:
        return None
    try:
        value = yamltext.load(raw) or {}
    except yaml.YAMLError as err:
        raise ValueError(f"{where}: not valid YAML ({err})") from None
    if not isinstance(value, dict):
        raise ValueError(f"{where}: expected a mapping at the top level")
    return value


def _json(raw: bytes | None, where: str) -> dict[str, Any] | None:
    if raw is None:
        return None
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as err:
        raise ValueError(f"{where}: not valid JSON ({err})") from None
    if not isinstance(value, dict):
        raise ValueError(f"{where}: expected a JSON object")
    return value


def _csv(raw: bytes | None, where: str, required: tuple[str, ...]) -> pd.DataFrame | None:
    if raw is None:
        return None
    frame = pd.read_csv(io.BytesIO(raw), dtype={"row_id": str}).rename(columns=LEGACY_COLUMNS)
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise ValueError(f"{where}: missing column(s) {', '.join(missing)}")
    return frame


def load(read: Reader, label: str) -> Snapshot:
    """Everything the report reads from one revision; absent files become None."""
    params = _yaml(read(PARAMS), f"{PARAMS} at {label}")
    where = paths(params)
    metrics = _json(read(where["metrics"]), f"{where['metrics']} at {label}")
    if metrics is not None:
        bad = [
            k for k, v in metrics.items() if isinstance(v, bool) or not isinstance(v, int | float)
        ]
        if bad:
            raise ValueError(f"{where['metrics']} at {label}: non-numeric value for {bad[0]}")
        metrics = renamed(metrics)
    plots = {}
    for name, (file, x, y) in PLOTS.items():
        path = f"{where['plots']}/{file}"
        frame = _csv(read(path), f"{path} at {label}", (x, y))
        if frame is not None:
            plots[name] = frame
    return Snapshot(
        params=params,
        metrics=metrics,
        predictions=_csv(
            read(where["predictions"]),
            f"{where['predictions']} at {label}",
            PREDICTION_COLUMNS,
        ),
        plots=plots,
        quality=_json(read(where["quality"]), f"{where['quality']} at {label}"),
        lock=_yaml(read(LOCK), f"{LOCK} at {label}"),
    )


def from_git(rev: str, root: Path) -> Snapshot:
    sha = git.resolve(rev, root)
    return load(lambda path: git.show(sha, path, root), f"revision {rev}")


def from_workspace(root: Path) -> Snapshot:
    def read(path: str) -> bytes | None:
        file = root / path
        return file.read_bytes() if file.is_file() else None

    return load(read, "the workspace")
