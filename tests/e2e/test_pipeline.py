"""The whole pipeline, reproduced by real DVC in a fresh git checkout."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from gitops.metrics import METRICS
from support import BIN, run


def test_reproduced_pipeline_is_up_to_date_and_complete(pipeline_repo: Path) -> None:
    status = run([str(BIN / "dvc"), "status"], pipeline_repo).stdout
    assert "up to date" in status
    metrics = json.loads((pipeline_repo / "models/metrics.json").read_text())
    assert set(metrics) == set(METRICS)
    assert metrics["roc_auc"] > 0.9
    preds = pd.read_csv(pipeline_repo / "models/predictions.csv")
    assert list(preds.columns) == ["row_id", "label", "score", "value"]
    assert preds["row_id"].is_unique
    assert preds["score"].between(0, 1).all()
    for name in ("roc", "precision_recall", "gains", "calibration"):
        assert (pipeline_repo / f"models/plots/{name}.csv").stat().st_size > 0
