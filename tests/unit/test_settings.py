"""params.yaml as one typed object: references resolved once, every mistake named by key."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from gitops.settings import Settings, SettingsError
from support import ROOT


def params() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "params.yaml").read_text())


def test_the_project_params_load_with_references_resolved() -> None:
    settings = Settings.load(ROOT / "params.yaml")
    assert settings.package is not None
    assert settings.package.artifacts["model"] == settings.model.path
    assert settings.package.artifacts["contract"] == settings.data.contract
    assert settings.validate_.drop_duplicates is True
    assert settings.raw["train"]["model"] == settings.train.model


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda p: p["split"].update(sed=1), "unknown key 'split.sed'"),
        (lambda p: p["train"].pop("seed"), "'train.seed' is missing"),
        (lambda p: p["metrics"].update(threshold=1.5), "metrics.threshold: Input should be less"),
        (lambda p: p["validate"].update(drop=True), "unknown key 'validate.drop'"),
        (lambda p: p.update(tuning={}), "unknown key 'tuning'"),
        (lambda p: p["train"].update(categorical_encoding="target"), "train.categorical_encoding"),
        (
            lambda p: p["package"].update(summary="${data.nope}"),
            "'${data.nope}' refers to a missing key",
        ),
    ],
)
def test_mistakes_are_named_by_key(change: Any, message: str, tmp_path: Path) -> None:
    data = copy.deepcopy(params())
    change(data)
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(SettingsError) as err:
        Settings.load(path)
    assert message in str(err.value)
    assert str(err.value).startswith(str(path))


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="params file not found"):
        Settings.load(tmp_path / "params.yaml")
