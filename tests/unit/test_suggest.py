"""`make suggest-gates` on the project's own predictions: numbers from the run's noise."""

from __future__ import annotations

import pytest
import yaml

from gitops.review import significance
from gitops.review.report import metric_opts, settings_from
from gitops.review.snapshot import from_workspace
from gitops.review.suggest import as_yaml, suggest, write_into
from support import ROOT


@pytest.fixture(scope="module")
def proposal() -> list:
    run = from_workspace(ROOT)
    assert run.predictions is not None
    assert run.metrics is not None
    params = run.params or {}
    _, settings = settings_from(params)
    scored = significance.Scored.of(run.predictions, *metric_opts(params, params))
    return suggest(scored, run.metrics, params["gates"], settings)


def test_floors_sit_below_the_measured_value_by_its_noise(proposal: list) -> None:
    measured = from_workspace(ROOT).metrics or {}
    floors = {s.metric: s.value for s in proposal if s.section == "min"}
    assert set(floors) == {"roc_auc", "average_precision", "top_positives_caught"}
    for metric, floor in floors.items():
        assert floor < measured[metric]
        assert floor == round(floor, 2)
    ceilings = {s.metric: s.value for s in proposal if s.section == "max"}
    assert ceilings["log_loss"] > measured["log_loss"]
    allowances = {s.metric: s.value for s in proposal if s.section == "max_regression"}
    assert set(allowances) == {
        "roc_auc",
        "average_precision",
        "top_positives_caught",
        "top_value_caught",
    }
    assert all(0 < a < 1 for a in allowances.values())
    assert allowances["roc_auc"] < allowances["top_positives_caught"]  # AUC is measured tighter


def test_the_yaml_block_parses_to_the_proposal(proposal: list) -> None:
    block = yaml.safe_load(as_yaml(proposal, "a test"))
    assert block["gates"]["min"] == {s.metric: s.value for s in proposal if s.section == "min"}


def test_writing_changes_only_the_numbers_and_keeps_comments(proposal: list) -> None:
    text = (ROOT / "params.yaml").read_text()
    new = write_into(text, proposal)
    comments = [line.split("#", 1)[1] for line in text.splitlines() if "#" in line]
    assert all(c in new for c in comments)
    before, after = yaml.safe_load(text), yaml.safe_load(new)
    for s in proposal:
        assert after["gates"][s.section][s.metric] == s.value
    before.pop("gates")
    gates = after.pop("gates")
    assert before == after
    assert gates["stale_results"] == "fail"


def test_writing_refuses_a_key_params_yaml_does_not_have(proposal: list) -> None:
    text = (ROOT / "params.yaml").read_text().replace("    top_value_caught: 0.05\n", "")
    with pytest.raises(ValueError, match=r"gates\.max_regression\.top_value_caught not found"):
        write_into(text, proposal)
