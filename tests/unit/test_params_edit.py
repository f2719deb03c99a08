"""`make exp -S key=value`: one value set in params.yaml, every other byte kept."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from gitops import params_edit
from gitops.files import digest
from support import ROOT

TEXT = (ROOT / "params.yaml").read_text()


def changed_lines(before: str, after: str) -> list[tuple[str, str]]:
    a, b = before.splitlines(), after.splitlines()
    assert len(a) == len(b)
    return [(x, y) for x, y in zip(a, b, strict=True) if x != y]


def test_a_scalar_is_set_and_its_comment_references_and_layout_are_kept() -> None:
    out = params_edit.set_value(TEXT, "train.model", "random_forest")
    ((old, new),) = changed_lines(TEXT, out)
    assert old.split("#")[0].split(":")[1].strip() == "hist_gradient_boosting"
    assert new.startswith("  model: random_forest ")
    assert new.split("#", 1)[1] == old.split("#", 1)[1]  # the comment, word for word
    assert yaml.safe_load(out)["train"]["model"] == "random_forest"
    assert "${" in TEXT
    assert out.count("${") == TEXT.count("${")


def test_a_flow_list_is_set_in_place() -> None:
    out = params_edit.set_value(TEXT, "monitor.watch_metrics", "[roc_auc, recall]")
    assert len(changed_lines(TEXT, out)) == 1
    assert yaml.safe_load(out)["monitor"]["watch_metrics"] == ["roc_auc", "recall"]


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("train.no_such_key", "1", "no key train.no_such_key"),
        ("train.hyperparameters", "{}", "holds a block, not a value"),
        ("split.test_size", "[oops", "not a YAML value"),
        ("split.test_size", "lots", "split.test_size"),
    ],
)
def test_what_cannot_be_set_is_refused_and_the_file_is_kept(
    tmp_path: Path, key: str, value: str, message: str
) -> None:
    path = tmp_path / "params.yaml"
    shutil.copy2(ROOT / "params.yaml", path)
    before = digest(path)
    with pytest.raises(ValueError, match=message):
        params_edit.apply(path, [f"{key}={value}"])
    assert digest(path) == before


def test_several_values_are_written_once(tmp_path: Path) -> None:
    path = tmp_path / "params.yaml"
    shutil.copy2(ROOT / "params.yaml", path)
    assert params_edit.apply(path, ["train.model=random_forest", "train.seed=7"]) == [
        "train.model",
        "train.seed",
    ]
    data = yaml.safe_load(path.read_text())
    assert (data["train"]["model"], data["train"]["seed"]) == ("random_forest", 7)
    assert len(changed_lines(TEXT, path.read_text())) == 2
    with pytest.raises(ValueError, match="expected key=value"):
        params_edit.apply(path, ["train.model"])
