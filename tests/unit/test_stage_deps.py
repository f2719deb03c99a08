"""Every stage lists what its command imports and reads, or DVC misses a change."""

from __future__ import annotations

from pathlib import Path

import yaml

from gitops.pipeline import deps
from support import ROOT, copy_repo


def test_every_stage_lists_the_files_its_command_imports_and_the_params_it_reads() -> None:
    assert deps.problems(ROOT) == []


def test_a_dep_left_out_or_a_new_import_is_named(tmp_path: Path) -> None:
    repo = copy_repo(tmp_path / "repo", with_results=False)
    pipeline = yaml.safe_load((repo / "dvc.yaml").read_text())
    split = pipeline["stages"]["split"]
    split["deps"].remove("src/gitops/contract/spec.py")
    split["params"] = []
    (repo / "dvc.yaml").write_text(yaml.safe_dump(pipeline, sort_keys=False))
    helper = repo / "src/gitops/pipeline/helper.py"
    helper.write_text('"""A new helper."""\n')
    stage = repo / "src/gitops/pipeline/split.py"
    stage.write_text(
        stage.read_text().replace(
            "import argparse\n",
            "import argparse\n\nfrom gitops.pipeline import helper  # noqa: F401\n",
            1,
        )
    )
    found = deps.problems(repo)
    assert "stage 'split': imports or reads src/gitops/contract/spec.py, not in its deps" in found
    assert "stage 'split': imports or reads src/gitops/pipeline/helper.py, not in its deps" in found
    assert "stage 'split': reads params split.seed, not in its params" in found
    assert not [p for p in found if not p.startswith("stage 'split'")]


def test_hooks_the_params_name_are_deps_of_the_stages_that_run_them(tmp_path: Path) -> None:
    repo = copy_repo(tmp_path / "repo", with_results=False)
    pipeline = yaml.safe_load((repo / "dvc.yaml").read_text())
    pipeline["stages"]["train"]["deps"].remove("src/churn/model.py")
    (repo / "dvc.yaml").write_text(yaml.safe_dump(pipeline, sort_keys=False))
    assert deps.problems(repo) == [
        "stage 'train': imports or reads src/churn/model.py, not in its deps"
    ]


def test_a_dep_directory_covers_its_files() -> None:
    assert deps.covered("src/gitops/contract/spec.py", ["src/gitops/contract"])
    assert deps.covered("src/gitops/contract/spec.py", ["src/gitops/"])
    assert not deps.covered("src/gitops/contracts.py", ["src/gitops/contract"])
