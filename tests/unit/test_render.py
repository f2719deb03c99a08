"""The comment's structure, its agreement with the JSON, and cutting it to GitHub's limit."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from gitops.curves import all_curves
from gitops.metrics import METRICS, point
from gitops.review import charts, diffs, render
from gitops.review.report import build, recommendation
from gitops.review.snapshot import Snapshot
from gitops.settings import Wording

PARAMS = {
    "train": {"model": "hist_gradient_boosting", "seed": 42},
    "metrics": {"threshold": 0.5, "top_fraction": 0.1},
    "gates": {
        "min": {"roc_auc": 0.8, "average_precision": 0.5},
        "max_regression": {"roc_auc": 0.01, "top_positives_caught": 0.05},
    },
    "report": {"resamples": 200, "seed": 1},
    # Another task's words: nothing in the comment may speak of churn.
    "wording": {
        "positive": "defaulter",
        "positives": "defaulters",
        "positive_rate": "default rate",
        "population": "borrowers",
        "value": "exposure",
        "top_segment": "the riskiest borrowers the team can review",
    },
}
QUALITY = {
    "rows_in": 1000,
    "rows_out": 950,
    "positives": 150,
    "label_rate": 0.158,
    "sha256": "ab" * 32,
    "dropped": [{"reason": "duplicate", "rows": 50, "example_lines": [3]}],
    "columns": {"age": "int, feature, >= 0", "churn": "int, target, one of 0, 1"},
    "findings": [],
}
LOCK = {"schema": "2.0", "stages": {"train": {"cmd": "train", "deps": [], "params": {}}}}


def snapshot(noise: float, seed: int, params: dict | None = None) -> Snapshot:
    rng = np.random.default_rng(seed)
    n = 400
    y = (np.random.default_rng(0).random(n) < 0.2).astype(float)
    score = 1 / (1 + np.exp(-(3 * (y - 0.5) + rng.normal(0, noise, n))))
    value = np.random.default_rng(1).gamma(2, 500, n)
    preds = pd.DataFrame(
        {"row_id": [f"{i:016x}" for i in range(n)], "label": y, "score": score, "value": value}
    )
    return Snapshot(
        params=params or PARAMS,
        metrics=point(y, score, value, threshold=0.5, top_fraction=0.1),
        predictions=preds,
        plots=all_curves(y, score),
        quality=QUALITY,
        lock=LOCK,
    )


def make(base: Snapshot | None, change: Snapshot) -> tuple[dict, list[str]]:
    revisions = {
        "base": {"rev": "main", "sha": "a" * 40, "how": "merge base with `main`"},
        "change": {"sha": "b" * 40, "dirty": False},
    }
    report = build(base, change, change, revisions, "https://github.example/o/r/actions/runs/1")
    plots = charts.all_charts(base.plots if base else {}, change.plots, render.words(report))
    return report, plots


def tables(text: str) -> list[list[str]]:
    """Consecutive table lines, grouped."""
    out, cur = [], []
    for line in text.splitlines():
        if line.startswith("|"):
            cur.append(line)
        elif cur:
            out.append(cur)
            cur = []
    return out + ([cur] if cur else [])


def cells(line: str) -> int:
    return len(re.split(r"(?<!\\)\|", line.strip())) - 2


def mermaid_blocks(text: str) -> list[str]:
    return re.findall(r"```mermaid\n(.*?)\n```", text, flags=re.S)


def test_sections_tables_and_charts_are_well_formed() -> None:
    report, plots = make(snapshot(1.0, 1), snapshot(3.0, 2))
    text, omitted = render.render(report, plots, 60_000)
    assert omitted == []
    headings = re.findall(r"^### (\w+)", text, flags=re.M)
    assert headings == ["Gates", "Metrics", "Params", "Data", "Charts"]
    assert text.startswith("## ")
    assert text.rstrip().endswith(render.MARKER)
    for block in tables(text):
        widths = {cells(line) for line in block}
        assert len(widths) == 1, block
        assert re.fullmatch(r"\|( :?-+:? \|)+", block[1])
    blocks = mermaid_blocks(text)
    assert len(blocks) == 4
    for block in blocks:
        lines = block.splitlines()
        assert lines[0].startswith("%%{init: ")
        assert lines[0].endswith("}%%")
        assert lines[1] == "xychart-beta"
        assert re.fullmatch(r'    title ".+"', lines[2])
        assert re.fullmatch(r'    x-axis ".+" (\[.+\]|[\d.]+ --> [\d.]+)', lines[3])
        assert re.fullmatch(r'    y-axis ".+" 0 --> 1', lines[4])
        series = [ln for ln in lines[5:] if ln.startswith("    line ")]
        assert len(series) >= 2
        lengths = {len(ln.split("[", 1)[1].rstrip("]").split(",")) for ln in series}
        assert len(lengths) == 1
        x = lines[3]
        if "[" in x:  # categorical axis: one value per category
            assert lengths == {len(x.split("[", 1)[1].rstrip("]").split(","))}
    assert text.count("```") % 2 == 0


def test_markdown_agrees_with_the_json() -> None:
    report, plots = make(snapshot(0.3, 1), snapshot(4.0, 2))  # a much weaker change
    text, _ = render.render(report, plots, 60_000)
    assert report["verdict"] == "fail"
    first = text.splitlines()[0]
    assert first.startswith("## ❌")
    assert report["failing"]
    for gate in report["gates"]:
        if gate["verdict"] == "fail":
            assert gate["label"] in first
    metric_table = next(t for t in tables(text) if "Metric" in t[0])
    assert len(metric_table) - 2 == len(report["metrics"]) == len(METRICS)
    for row, metric in zip(metric_table[2:], report["metrics"], strict=True):
        assert metric["label"] in row
        assert ("🔴 worse" in row) == (metric["direction"] == "worse")
    labels = [m["label"] for m in report["metrics"]]
    assert labels[:2] == ["Defaulters caught in top 10%", "Defaulter value caught in top 10%"]
    assert "Default rate" in text
    assert "Share of borrowers contacted" in text
    assert "churn" not in text.lower()
    gate_table = next(t for t in tables(text) if "Gate" in t[0])
    assert len(gate_table) - 2 == len(report["gates"])


def test_no_base_means_no_deltas_and_one_line_per_chart() -> None:
    report, plots = make(None, snapshot(1.0, 1))
    text, _ = render.render(report, plots, 60_000)
    assert report["comparison"]["mode"] == "no base"
    assert all(m["delta"] is None for m in report["metrics"])
    for block in mermaid_blocks(text):
        assert len([ln for ln in block.splitlines() if ln.startswith("    line ")]) <= 2


def test_policy_change_is_flagged_with_the_verdict_under_the_old_gates() -> None:
    loose = PARAMS | {"gates": {"min": {"roc_auc": 0.5}}}
    strict = PARAMS | {"gates": {"min": {"roc_auc": 0.999}}}
    report, plots = make(snapshot(1.0, 1, strict), snapshot(1.0, 2, loose))
    assert report["policy"]["changed"]
    assert report["policy"]["verdict_under_base_gates"] == "fail"
    assert report["policy"]["only_failing_under_base_gates"] == ["ROC AUC ≥ 0.999"]
    text, _ = render.render(report, plots, 60_000)
    assert "**Policy change.**" in text
    assert "it would **fail**" in text


@pytest.mark.parametrize("limit", [20_000, 8_000, 4_000, 1_500])
def test_long_reports_lose_the_least_important_parts_first(limit: int) -> None:
    many = PARAMS | {"features": {f"f{i:04d}": "x" * 40 for i in range(400)}}
    report, plots = make(snapshot(1.0, 1), snapshot(1.0, 2, many))
    text, omitted = render.render(report, plots, limit)
    assert len(text) <= limit
    assert text.rstrip().endswith(render.MARKER)
    assert text.startswith("## ")
    assert omitted
    assert omitted == ["charts", "data", "params", "metrics", "the rest"][: len(omitted)]
    assert "Trimmed to fit" in text or "cut here" in text
    assert text.count("```") % 2 == 0
    assert text.count("<details>") == text.count("</details>")
    if limit >= 8_000:
        assert "### Gates" in text
        assert "| Gate |" in text


def test_number_formats() -> None:
    assert render.value("roc_auc", 0.99262) == "0.9926"
    assert render.value("top_positives_caught", 0.6337) == "63.4%"
    assert render.delta("top_positives_caught", -0.012) == "−1.2 pp"
    assert render.delta("roc_auc", 0.00123) == "+0.0012"
    assert render.interval("roc_auc", [-0.004, 0.001]) == "−0.0040 to +0.0010"
    assert render.value("roc_auc", None) == "—"


def test_leakage_suspects_in_the_data_summary_fail_the_suspicious_gate() -> None:
    change = snapshot(0.8, 2)
    change.quality = QUALITY | {
        "leakage": {
            "measure": "ROC AUC of the field alone",
            "threshold": 0.98,
            "suspects": [{"field": "outcome_flag", "value": 1.0, "detail": "equals the label"}],
        }
    }
    report, plots = make(snapshot(0.8, 1), change)
    text, _ = render.render(report, plots, 60_000)
    assert report["verdict"] == "fail"
    assert report["failing"] == ["Nothing looks too good to be true"]
    assert text.splitlines()[0] == "## ❌ 1 gate failed: Too good to be true"
    assert "leakage suspect `outcome_flag`: ROC AUC of the field alone 1" in text
    warned = snapshot(0.8, 2, PARAMS | {"gates": PARAMS["gates"] | {"suspicious": "warn"}})
    warned.quality = change.quality
    report, plots = make(snapshot(0.8, 1), warned)
    line = render.render(report, plots, 60_000)[0].splitlines()[0]
    assert line.startswith("## ✅ All gates pass")
    assert line.endswith("⚠️ warning: Too good to be true")


def test_a_near_perfect_change_and_an_implausible_leap_are_suspicious() -> None:
    report, _ = make(snapshot(3.0, 1), snapshot(0.01, 2))  # weak base, a perfect change
    reasons = report["suspicious"]
    assert any(r.startswith("ROC AUC is 1.0000, at or above 0.999") for r in reasons), reasons
    assert any("times the half-width of the base's interval" in r for r in reasons), reasons
    quiet, _ = make(snapshot(0.8, 1), snapshot(0.8, 2))
    assert quiet["suspicious"] == []
    assert next(g for g in quiet["gates"] if g["id"] == "suspicious")["verdict"] == "pass"


def test_the_recommendation_says_when_nothing_improved_or_names_the_trade_off() -> None:
    report, plots = make(snapshot(0.5, 1), snapshot(2.0, 2))  # clearly worse everywhere
    text, _ = render.render(report, plots, 60_000)
    worse = [m["label"] for m in report["metrics"] if m["direction"] == "worse"]
    assert worse
    line = text.splitlines()[2]
    assert line.startswith(f"**No metric improved significantly; {len(worse)} got worse (")
    assert line.endswith("— no reason to merge this as a model change.**")
    rows = [
        {"label": "Recall", "direction": "better"},
        {"label": "Precision", "direction": "worse"},
        {"label": "F1", "direction": None},
    ]
    trade = recommendation(rows, Wording(population="borrowers"))
    assert trade == (
        "Trade-off: significantly better on Recall, significantly worse on Precision — merge "
        "only if that trade is what the borrowers need."
    )
    assert recommendation([{"label": "Recall", "direction": "better"}]) is None


def test_observed_ranges_show_as_a_line_or_a_table_of_what_moved() -> None:
    base, change = snapshot(0.8, 1), snapshot(0.8, 2)
    entry = {"min": 18, "max": 90, "bound_min": 0, "bound_max": 120, "values": 500}
    base.quality = QUALITY | {"ranges": {"age": entry}}
    change.quality = QUALITY | {"ranges": {"age": entry}}
    text, _ = render.render(*make(base, change), 60_000)
    assert "Observed ranges of 1 field(s) unchanged." in text
    assert "unusual" not in text  # the summary's own shape is not a count worth flagging
    change.quality = QUALITY | {"ranges": {"age": entry | {"max": 110, "beyond_training": 7}}}
    text, _ = render.render(*make(base, change), 60_000)
    assert "1 field(s) reach outside the base's range" in text
    assert (
        "| `age` | 18 to 90 (bound 120) | 18 to 110 (bound 120); beyond training 7 | above |"
        in text
    )
    change.quality = QUALITY | {"ranges": {"age": entry | {"min": 20}}}
    text, _ = render.render(*make(base, change), 60_000)
    assert "| `age` | 18 to 90 (bound 120) | 20 to 90 (bound 120) | — |" in text
    assert "reach outside" not in text
    older = snapshot(0.8, 1)  # a base from before the summary had ranges
    text, _ = render.render(*make(older, change), 60_000)
    assert "| `age` | — | 20 to 90" in text


def test_a_base_on_other_data_is_shown_but_not_compared() -> None:
    base, change = snapshot(0.5, 1), snapshot(2.0, 2)
    dep = {"path": "data/raw/x.csv", "md5": "a" * 32}
    base.lock = {"stages": {"validate": {"cmd": "v", "deps": [dep]}}}
    change.lock = {"stages": {"validate": {"cmd": "v", "deps": [dep | {"md5": "b" * 32}]}}}
    base.params = change.params = PARAMS | {"data": {"raw": "data/raw/x.csv"}}
    report, plots = make(base, change)
    text, _ = render.render(report, plots, 60_000)
    assert report["comparison"]["mode"] == "new data"
    assert report["new_data"] == ["raw data `data/raw/x.csv` (md5 aaaaaaaa → bbbbbbbb)"]
    assert "🆕 **New data.**" in text
    regression = [g for g in report["gates"] if g["id"].startswith("max_regression.")]
    assert {g["verdict"] for g in regression} == {"skip"}
    assert all(m["delta"] is None and m["base"] is not None for m in report["metrics"])
    assert report["recommendation"] is None


def test_values_beyond_the_base_range_are_counted_from_the_change_data() -> None:
    base_ranges = {
        "age": {"min": 18, "max": 90, "bound_min": 0, "bound_max": 120, "values": 5},
        "income": {"min": 0, "max": 10, "bound_min": 0, "bound_max": 99, "values": 5},
    }
    frame = pd.DataFrame({"age": [17, 18, 50, 95, 99], "income": [0, 1, 2, 3, 4]})
    counts = diffs.outside_counts(frame, base_ranges)
    assert counts == {"age": {"below": 1, "above": 2}, "income": {"below": 0, "above": 0}}
    base, change = snapshot(0.8, 1), snapshot(0.8, 2)
    base.quality = QUALITY | {"ranges": base_ranges}
    change.quality = QUALITY | {
        "ranges": base_ranges | {"age": base_ranges["age"] | {"min": 17, "max": 99}}
    }
    revisions = {
        "base": {"rev": "main", "sha": "a" * 40, "how": "main"},
        "change": {"sha": "b" * 40},
    }
    report = build(base, change, change, revisions, outside=counts)
    text, _ = render.render(report, [], 60_000)
    assert "| below: 1 value(s), above: 2 value(s) |" in text
    assert "income" not in text.split("Observed ranges")[1].split("\n\n")[1]
