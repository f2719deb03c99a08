"""Stale-result detection and the params and data diffs."""

from __future__ import annotations

from gitops.review.diffs import data_changes, flatten, params_changes
from gitops.review.freshness import lock_differences, metric_differences


def lock(seed: int = 42, md5: str = "aaa", out_md5: str = "m1") -> dict:
    return {
        "schema": "2.0",
        "stages": {
            "train": {
                "cmd": "python -m train",
                "deps": [{"path": "src/model.py", "md5": md5}],
                "params": {"params.yaml": {"train": {"seed": seed, "model": "rf"}}},
                "outs": [{"path": "models/model.skops", "md5": out_md5}],
            }
        },
    }


def test_outputs_hashes_are_ignored_but_deps_and_params_are_not() -> None:
    assert lock_differences(lock(), lock(out_md5="other-cpu")) == []
    (param,) = lock_differences(lock(), lock(seed=7))
    assert "train.seed" in param
    assert "42" in param
    assert "7" in param
    (dep,) = lock_differences(lock(), lock(md5="bbb"))
    assert "src/model.py" in dep
    assert lock_differences(None, lock()) == ["dvc.lock is not committed on the branch"]
    assert "not reproduced" in lock_differences(lock(), None)[0]
    extra = lock() | {"stages": lock()["stages"] | {"evaluate": {"cmd": "x"}}}
    assert lock_differences(lock(), extra) == [
        "stage evaluate: reproduced but not in the committed dvc.lock"
    ]


def test_metrics_compare_within_a_tolerance() -> None:
    a = {"roc_auc": 0.9926202845, "f1": 0.88}
    assert metric_differences(a, {"roc_auc": 0.99262029, "f1": 0.88}, 1e-6) == []
    (diff,) = metric_differences(a, {"roc_auc": 0.99, "f1": 0.88}, 1e-6)
    assert diff.startswith("metrics: roc_auc")
    assert metric_differences(None, a, 1e-6) == ["metrics: not committed on the branch"]


def test_params_are_flattened_and_policy_keys_flagged() -> None:
    assert flatten({"a": {"b": 1, "c": [1, 2]}, "d": {}}) == {"a.b": 1, "a.c": [1, 2], "d": {}}
    rows = params_changes(
        {"train": {"seed": 42, "tags": ["x"]}, "gates": {"min": {"roc_auc": 0.97}}},
        {"train": {"seed": 7, "tags": ["x"]}, "gates": {"min": {"roc_auc": 0.9}}, "new": 1},
    )
    assert rows == [
        {"key": "gates.min.roc_auc", "base": "0.97", "change": "0.9", "policy": True},
        {"key": "new", "base": None, "change": "1", "policy": False},
        {"key": "train.seed", "base": "42", "change": "7", "policy": False},
    ]


def test_data_changes_show_rows_drops_and_schema() -> None:
    base = {
        "rows_in": 100,
        "rows_out": 90,
        "label_rate": 0.2,
        "dropped": [{"reason": "dup", "rows": 10}],
        "columns": {"a": "int, feature, >= 0", "b": "int, feature, >= 0"},
        "findings": ["old finding"],
    }
    change = {
        "rows_in": 80,
        "rows_out": 75,
        "label_rate": 0.21,
        "dropped": [{"reason": "dup", "rows": 5}],
        "columns": {"a": "int, feature, >= 1", "c": "float, feature, any number"},
        "findings": ["new finding"],
    }
    out = data_changes(base, change)
    assert out["changed"]
    assert out["summary"]["rows_in"] == {"base": 100, "change": 80}
    assert out["dropped"] == [{"reason": "dup", "base": 10, "change": 5}]
    assert [c["column"] for c in out["schema"]] == ["a", "c", "b"]
    assert out["findings_new"] == ["new finding"]
    assert out["findings_gone"] == ["old finding"]
    assert not data_changes(base, base)["changed"]
