"""The whole pipeline, reproduced by real DVC in a fresh git checkout."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from gitops.metrics import METRICS
from support import BIN, ROOT, run


def test_reproduced_pipeline_is_up_to_date_and_complete(pipeline_repo: Path) -> None:
    status = run([str(BIN / "dvc"), "status"], pipeline_repo).stdout
    assert "up to date" in status
    metrics = json.loads((pipeline_repo / "models/metrics.json").read_text())
    assert set(metrics) == set(METRICS)
    assert 0.5 < metrics["roc_auc"] <= 1  # ranks positives first
    preds = pd.read_csv(pipeline_repo / "models/predictions.csv")
    assert list(preds.columns) == ["row_id", "label", "score", "value"]
    assert preds["row_id"].is_unique
    assert preds["score"].between(0, 1).all()
    for name in ("roc", "precision_recall", "gains", "calibration"):
        assert (pipeline_repo / f"models/plots/{name}.csv").stat().st_size > 0


def test_metrics_show_lists_every_metric(pipeline_repo: Path) -> None:
    shown = run([str(BIN / "dvc"), "metrics", "show", "--json"], pipeline_repo).stdout
    data = json.loads(shown)
    values = next(iter(data.values()))["data"]["models/metrics.json"]["data"]
    assert set(values) == set(METRICS)


def test_reproduced_lock_matches_the_committed_one(pipeline_repo: Path) -> None:
    """What the project commits is what the pipeline reproduces from scratch."""
    committed = (ROOT / "dvc.lock").read_text()
    assert (pipeline_repo / "dvc.lock").read_text() == committed
    for f in ("models/metrics.json", "models/predictions.csv", "data/quality.json"):
        assert (pipeline_repo / f).read_bytes() == (ROOT / f).read_bytes(), f
