"""The outputs DVC caches, read from dvc.yaml: what a checkout copies instead of recomputing."""

from __future__ import annotations

from pathlib import Path

import yaml

from gitops.pipeline import outputs
from gitops.settings import Settings
from support import ROOT


def test_the_projects_cached_outputs_are_the_data_splits_and_the_model() -> None:
    settings = Settings.load(ROOT / "params.yaml")
    assert outputs.cached(ROOT) == [
        settings.data.clean,
        settings.data.train,
        settings.data.test,
        settings.model.path,
    ]


def _project(tmp_path: Path) -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "params.yaml").write_text("paths:\n  table: out/table.csv\n")
    stages = {
        "make": {
            "cmd": "true",
            "outs": ["${paths.table}", {"out/summary.json": {"cache": False}}, {"out/dir": None}],
        }
    }
    (tmp_path / "dvc.yaml").write_text(yaml.safe_dump({"stages": stages}))
    return tmp_path


def test_a_new_cached_output_is_found_and_uncached_ones_are_not(tmp_path: Path) -> None:
    assert outputs.cached(_project(tmp_path)) == ["out/table.csv", "out/dir"]


def test_copying_brings_files_and_folders_and_skips_what_the_source_lacks(tmp_path: Path) -> None:
    src = _project(tmp_path / "src")
    (src / "out/dir").mkdir(parents=True)
    (src / "out/dir/part.bin").write_bytes(b"\x00\x01")
    (src / "out/summary.json").write_text("{}")
    dest = tmp_path / "dest"
    dest.mkdir()
    assert outputs.copy_cached(src, dest) == ["out/dir"]
    assert (dest / "out/dir/part.bin").read_bytes() == b"\x00\x01"
    assert not (dest / "out/summary.json").exists()  # git carries it, not DVC's cache
