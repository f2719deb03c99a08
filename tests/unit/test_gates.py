"""Gate decisions: floors, ceilings and noise-aware regression allowances."""

from __future__ import annotations

import pytest

from gitops.metrics import METRICS
from gitops.review.gates import FAIL, PASS, SKIP, WARN, Policy, Rule, decide, overall, parse
from gitops.review.report import settings_from

KNOWN = set(METRICS)


def one(rule: Rule, new: dict, deltas: dict | None) -> str:
    (verdict,) = decide(Policy((rule,)), new, deltas, None)
    return verdict.verdict


def test_parse_reads_every_kind_and_the_stale_mode() -> None:
    policy = parse(
        {
            "min": {"roc_auc": 0.9},
            "max": {"log_loss": 0.3},
            "max_regression": {"average_precision": 0.02},
            "stale_results": "warn",
        },
        KNOWN,
    )
    assert [r.id for r in policy.rules] == [
        "min.roc_auc",
        "max.log_loss",
        "max_regression.average_precision",
    ]
    assert policy.stale_results == "warn"


@pytest.mark.parametrize(
    ("gates", "message"),
    [
        ({"min": {"roc_aux": 0.9}}, "gates.min.roc_aux is not a metric"),
        ({"min": {"roc_auc": "high"}}, "gates.min.roc_auc must be a number"),
        ({"max_regression": {"roc_auc": -0.1}}, "must be >= 0"),
        ({"floor": {"roc_auc": 0.9}}, "unknown key(s) under gates: floor"),
        ({"stale_results": "ignore"}, "gates.stale_results must be one of"),
        ({"suspicious": "ignore"}, "gates.suspicious must be one of"),
        ({"too_good": {"roc_aux": 0.999}}, "gates.too_good.roc_aux is not a metric"),
        ({"too_good": [0.999]}, "gates.too_good must map metric names to numbers"),
        ({"max_leap": 0}, "gates.max_leap must be a number > 0"),
        ({"min": [0.9]}, "gates.min must map metric names to numbers"),
    ],
)
def test_parse_names_the_offending_key(gates: dict, message: str) -> None:
    with pytest.raises(ValueError, match=r"params\.yaml") as err:
        parse(gates, KNOWN)
    assert message in str(err.value)


def test_absolute_gates_judge_the_measured_value() -> None:
    assert one(Rule("min", "roc_auc", 0.97), {"roc_auc": 0.99}, None) == PASS
    assert one(Rule("min", "roc_auc", 0.97), {"roc_auc": 0.95}, None) == FAIL
    assert one(Rule("max", "log_loss", 0.2), {"log_loss": 0.25}, None) == FAIL
    assert one(Rule("min", "roc_auc", 0.97), {}, None) == FAIL


def test_regression_fails_only_when_beyond_the_allowance_and_significant() -> None:
    rule = Rule("max_regression", "roc_auc", 0.01)
    new = {"roc_auc": 0.95}
    real = {"roc_auc": {"delta": -0.03, "interval": [-0.05, -0.01]}}
    noise = {"roc_auc": {"delta": -0.03, "interval": [-0.07, 0.01]}}
    small = {"roc_auc": {"delta": -0.005, "interval": [-0.009, -0.001]}}
    better = {"roc_auc": {"delta": 0.02, "interval": [0.01, 0.03]}}
    assert one(rule, new, real) == FAIL
    assert one(rule, new, noise) == WARN
    assert one(rule, new, small) == PASS
    assert one(rule, new, better) == PASS
    assert one(rule, new, None) == SKIP
    assert one(rule, new, {"roc_auc": {"delta": -0.03, "interval": None}}) == FAIL


def test_regression_respects_lower_is_better_metrics() -> None:
    rule = Rule("max_regression", "log_loss", 0.01)
    up = {"log_loss": {"delta": 0.05, "interval": [0.02, 0.08]}}
    down = {"log_loss": {"delta": -0.05, "interval": [-0.08, -0.02]}}
    assert one(rule, {"log_loss": 0.3}, up) == FAIL
    assert one(rule, {"log_loss": 0.2}, down) == PASS


def test_stale_results_fail_or_warn_as_configured() -> None:
    for mode, expected in (("fail", FAIL), ("warn", WARN)):
        verdicts = decide(Policy((), mode), {}, None, ["stage train: changed"])
        assert [v.verdict for v in verdicts] == [expected]
    assert decide(Policy(()), {}, None, [])[0].verdict == PASS
    assert overall(decide(Policy((), "warn"), {}, None, ["x"])) == PASS
    assert overall(decide(Policy(()), {}, None, ["x"])) == FAIL


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"resamples": "many"}, "report.resamples: Input should be a valid integer"),
        ({"confidence": 1.5}, "report.confidence: Input should be less than 1"),
        ({"resample": 10}, "unknown key 'report.resample'"),
    ],
)
def test_report_settings_errors_name_the_key(section: dict, message: str) -> None:
    with pytest.raises(ValueError, match=r"params\.yaml") as err:
        settings_from({"report": section})
    assert message in str(err.value)


def test_report_settings_defaults() -> None:
    cfg, settings = settings_from({})
    assert cfg.max_chars == 60_000
    assert settings.confidence == 0.95
