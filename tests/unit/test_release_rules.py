"""The version rules and release texts as pure functions: data in, decision or text out."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from typing import Any

import numpy as np
import pytest

from gitops.metrics import METRICS
from gitops.release.notes import github_outputs, metrics_table, render
from gitops.release.schema_diff import schema_changes
from gitops.release.version import (
    Bump,
    ReleaseConfig,
    Snapshot,
    bump_version,
    decide,
    model_md5,
    skip_taken,
)
from support import ROOT

SECTION: dict[str, Any] = {
    "artifact": "churn",
    "input_schema": "models/input_schema.json",
    "model": "models/model.skops",
    "code": ["src/churn/", "pyproject.toml"],
    "metrics": "models/metrics.json",
}
CONFIG = ReleaseConfig.from_params({"release": SECTION})
SCHEMA = json.dumps(
    {
        "type": "object",
        "properties": {
            "age": {"type": "integer", "minimum": 0, "description": "Years."},
            "plan": {"type": "string", "enum": ["a", "b"]},
        },
        "required": ["age", "plan"],
    }
)


def schema_with(**edit: Any) -> str:
    doc = json.loads(SCHEMA)
    for name, prop in edit.items():
        if prop is None:
            del doc["properties"][name]
        else:
            doc["properties"][name] = prop
    return json.dumps(doc, indent=4)


def lock(md5: str, path: str = "models/model.skops") -> str:
    return (
        "schema: '2.0'\nstages:\n  train:\n    cmd: python train.py\n    outs:\n"
        f"    - path: {path}\n      hash: md5\n      md5: {md5}\n      size: 10\n"
    )


OLD = Snapshot(SCHEMA, "a" * 32)


@pytest.mark.parametrize(
    ("previous", "bump", "expected"),
    [
        ("v1.2.3", Bump.PATCH, "1.2.4"),
        ("1.2.3", Bump.MINOR, "1.3.0"),
        ("v1.2.3", Bump.MAJOR, "2.0.0"),
        ("v0.9.9-rc.1", Bump.PATCH, "0.9.10"),
    ],
)
def test_bump_version(previous: str, bump: Bump, expected: str) -> None:
    assert bump_version(previous, bump) == expected


def test_bump_version_rejects_non_semver() -> None:
    with pytest.raises(ValueError, match=re.escape("'v1.2' is not SemVer")):
        bump_version("v1.2", Bump.PATCH)


def test_each_change_gets_its_bump() -> None:
    def bump_of(new: Snapshot, code: list[str]) -> tuple[Bump, str | None]:
        d = decide(CONFIG, "v1.4.2", OLD, new, code)
        return d.bump, d.version

    assert bump_of(Snapshot(SCHEMA, "a" * 32), []) == (Bump.NONE, None)
    assert bump_of(Snapshot(SCHEMA, "a" * 32), ["src/churn/model.py"]) == (Bump.PATCH, "1.4.3")
    assert bump_of(Snapshot(SCHEMA, "b" * 32), []) == (Bump.MINOR, "1.5.0")
    assert bump_of(Snapshot(schema_with(tenure={"type": "integer"}), "a" * 32), []) == (
        Bump.MAJOR,
        "2.0.0",
    )
    # The highest bump wins and every reason is kept.
    both = decide(CONFIG, "v1.4.2", OLD, Snapshot(SCHEMA, "b" * 32), ["src/churn/x.py"])
    assert (both.bump, both.version, both.tag) == (Bump.MINOR, "1.5.0", "churn@v1.5.0")
    assert [r.split(":")[0] for r in both.reasons] == ["model changed", "packaged code changed"]


def test_first_release_uses_configured_version() -> None:
    d = decide(CONFIG, None, None, Snapshot(SCHEMA, "a" * 32), [])
    assert (d.bump, d.version, d.previous) == (Bump.FIRST, "1.0.0", None)
    custom = ReleaseConfig.from_params({"release": {**SECTION, "first_version": "0.1.0"}})
    assert decide(custom, None, None, OLD, []).version == "0.1.0"


def test_schema_wording_is_a_patch_and_constraints_are_major() -> None:
    reworded = schema_with(age={"type": "integer", "minimum": 0, "description": "Age in years."})
    d = decide(CONFIG, "v1.0.0", OLD, Snapshot(reworded, "a" * 32), [])
    assert (d.bump, d.version) == (Bump.PATCH, "1.0.1")
    assert "descriptions changed" in d.reasons[0]
    tightened = schema_with(age={"type": "integer", "minimum": 18, "description": "Years."})
    contract, wording, summary = schema_changes(SCHEMA, tightened, "s.json")
    assert (contract, wording) == (True, False)
    assert summary == "s.json changed: changed age"
    _, _, summary = schema_changes(SCHEMA, schema_with(plan=None, tenure={}), "s.json")
    assert summary == "s.json changed: added tenure; removed plan"
    # Reformatting alone is no change at all.
    assert schema_changes(SCHEMA, json.dumps(json.loads(SCHEMA), indent=8), "s.json")[:2] == (
        False,
        False,
    )


def test_a_property_named_like_a_keyword_is_still_a_field() -> None:
    old = json.dumps({"properties": {"title": {"type": "string"}}})
    new = json.dumps({"properties": {}})
    assert schema_changes(old, new, "s.json")[0] is True


def test_model_hash_is_read_from_the_stage_output() -> None:
    assert model_md5(lock("c" * 32), "models/model.skops") == "c" * 32
    assert model_md5(lock("c" * 32, path="other.bin"), "models/model.skops") is None
    assert model_md5(None, "models/model.skops") is None
    with pytest.raises(ValueError, match=re.escape("dvc.lock: no 'stages'")):
        model_md5("schema: '2.0'\n", "models/model.skops")
    with pytest.raises(ValueError, match=re.escape("dvc.lock at abc: not valid YAML")):
        model_md5("stages: [", "models/model.skops", source="dvc.lock at abc")


def test_candidate_without_model_or_schema_is_an_error() -> None:
    no_model = re.escape("dvc.lock: no stage outputs 'models/model.skops'")
    with pytest.raises(ValueError, match=no_model):
        decide(CONFIG, "v1.0.0", OLD, Snapshot(SCHEMA, None), [])
    with pytest.raises(ValueError, match=re.escape("models/input_schema.json: missing")):
        decide(CONFIG, "v1.0.0", OLD, Snapshot(None, "a" * 32), [])
    with pytest.raises(ValueError, match="not valid JSON"):
        decide(CONFIG, "v1.0.0", OLD, Snapshot("{", "a" * 32), [])


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({}, "missing key\\(s\\) artifact, input_schema, model, code, metrics"),
        ({**SECTION, "code": []}, "release.code must be a non-empty list"),
        ({**SECTION, "artifact": "-churn"}, "'-churn' is not a GTO name"),
        ({**SECTION, "first_version": "1.0"}, "release.first_version '1.0' is not X.Y.Z"),
        ({**SECTION, "remotes": "x"}, "unknown key\\(s\\) remotes"),
    ],
)
def test_config_errors_name_the_field(section: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=f"params.yaml: .*{message}"):
        ReleaseConfig.from_params({"release": section})


def test_config_section_missing() -> None:
    with pytest.raises(ValueError, match=re.escape("params.yaml: missing section 'release'")):
        ReleaseConfig.from_params({})


def test_metric_moves_carry_the_report_s_reading_and_no_claim_without_one() -> None:
    old = {"roc_auc": 0.90, "log_loss": 0.30, "recall": 0.5, "f1": 0.7}
    new = {"roc_auc": 0.92, "log_loss": 0.35, "recall": 0.50001, "f1": 0.71, "extra": 1.0}
    readings = {"roc_auc": "within noise", "log_loss": "worse"}
    rows = metrics_table(old, new, "1.0.0", "1.1.0", readings=readings)
    assert rows[0] == "| Metric | v1.0.0 | v1.1.0 | Change |"
    assert f"| {METRICS['roc_auc'].label} | 0.9000 | 0.9200 | +0.0200 (within noise) |" in rows
    assert f"| {METRICS['log_loss'].label} | 0.3000 | 0.3500 | +0.0500 (worse) |" in rows
    assert f"| {METRICS['f1'].label} | 0.7000 | 0.7100 | +0.0100 |" in rows
    assert f"| {METRICS['recall'].label} | 0.5000 | 0.5000 | no change |" in rows
    assert rows[-1] == "| extra | — | 1.0000 | — |"


def test_notes_and_outputs() -> None:
    d = decide(CONFIG, "v1.0.0", OLD, Snapshot(SCHEMA, "b" * 32), [])
    text = render(
        d,
        commit="f" * 40,
        previous_commit="e" * 40,
        metrics_path="models/metrics.json",
        old_metrics={"roc_auc": 0.9},
        new_metrics={"roc_auc": 0.95},
        wheel="churn_model-1.1.0-py3-none-any.whl",
        wheel_sha256="0" * 64,
        readings={"roc_auc": "better"},
    )
    assert text.startswith("# churn v1.1.0\n\n**Minor release")
    assert "previous release churn@v1.0.0 (commit eeeeeeeeeeee)" in text
    assert f"model changed: models/model.skops md5 {'a' * 12} → {'b' * 12}" in text
    assert "+0.0500 (better)" in text
    assert "gto assign churn --version v1.1.0 --stage prod" in text
    assert github_outputs(d, pushed=True, notes="dist/RELEASE_NOTES.md").splitlines() == [
        "release=true",
        "version=1.1.0",
        "tag=churn@v1.1.0",
        "bump=minor",
        "previous=1.0.0",
        "pushed=true",
        "notes=dist/RELEASE_NOTES.md",
    ]
    none = decide(CONFIG, "v1.0.0", OLD, OLD, [])
    assert github_outputs(none, pushed=False, notes=None).splitlines()[:3] == [
        "release=false",
        "version=",
        "tag=",
    ]
    with pytest.raises(ValueError, match="no release is due"):
        render(
            none,
            commit="f" * 40,
            previous_commit=None,
            metrics_path="m.json",
            old_metrics=None,
            new_metrics={},
            wheel=None,
            wheel_sha256=None,
        )


def test_withdrawn_versions_are_never_reused() -> None:
    d = decide(CONFIG, "v1.0.0", OLD, Snapshot(SCHEMA, "b" * 32), [])
    assert skip_taken(d, {"1.0.0"}) == d
    moved = skip_taken(d, {"1.0.0", "1.1.0", "1.1.1"})
    assert moved.version == "1.1.2"
    assert moved.reasons[-1] == "v1.1.0, v1.1.1 used before by a withdrawn registration, so v1.1.2"


def test_readings_of_a_noisy_twin_and_a_broken_model_on_the_real_predictions() -> None:
    """The release notes' readings are the review report's: same bootstrap, same words."""
    from gitops.review.report import readings
    from gitops.review.snapshot import from_workspace

    base = from_workspace(ROOT)
    assert base.predictions is not None
    rng = np.random.default_rng(3)
    twin = replace(base, predictions=base.predictions.assign(
        score=np.clip(base.predictions["score"] + rng.normal(0, 1e-4, len(base.predictions)), 0, 1)
    ))  # fmt: skip
    twin.metrics = {k: v + 1e-5 for k, v in (base.metrics or {}).items()}
    read = readings(base, twin)
    assert read["roc_auc"] == "within noise"
    assert "better" not in read.values()
    broken = replace(
        base, predictions=base.predictions.assign(score=rng.uniform(size=len(base.predictions)))
    )
    broken.metrics = {k: v - 0.3 for k, v in (base.metrics or {}).items()}
    assert readings(base, broken)["roc_auc"] == "worse"
