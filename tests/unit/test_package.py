"""The wheel builder's pieces: settings resolved from params.yaml, imports checked, dist kept."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import sklearn
import yaml

from churn import io, serve
from gitops.release import package
from support import ROOT, copy_repo


def params() -> dict:
    return yaml.safe_load((ROOT / "params.yaml").read_text())


def test_references_resolve_to_other_params() -> None:
    spec = package.Spec.from_params(params(), ROOT)
    assert spec.artifacts["model"] == ROOT / params()["model"]["path"]
    assert spec.data_summary == ROOT / params()["data"]["quality"]
    with pytest.raises(package.PackageError, match=r"'\$\{model.nope\}' refers to a missing key"):
        package.resolve({"a": ["${model.nope}"]}, params())


def test_pinned_requirements_take_the_installed_version() -> None:
    spec = package.Spec.from_params(params(), ROOT)
    reqs = package.requirements(spec)
    assert f"scikit-learn=={sklearn.__version__}" in reqs
    assert "scikit-learn" not in reqs


def test_training_modules_stay_out_and_a_needed_module_left_out_is_refused(
    tmp_path: Path,
) -> None:
    spec = package.Spec.from_params(params(), ROOT)
    assert not {"model", "features", "quality", "stages"} & set(spec.modules)
    package.check_imports(spec)  # the shipped list is closed under imports
    src = tmp_path / "src" / "churn"
    src.mkdir(parents=True)
    (src / "cli.py").write_text("from churn import model\n")
    (src / "model.py").write_text("")
    broken = package.Spec.from_params(
        {**params(), "package": {**params()["package"], "source": str(tmp_path / "src"),
                                 "modules": ["cli"]}},
        ROOT,
    )  # fmt: skip
    with pytest.raises(package.PackageError, match=r"imports churn\.model, which package\.modules"):
        package.check_imports(broken)


def test_missing_model_fails_and_leaves_dist_untouched(tmp_path: Path) -> None:
    repo = copy_repo(tmp_path / "repo", with_results=False)  # no model.skops: never trained
    (repo / "dist").mkdir()
    (repo / "dist" / "previous.whl").write_text("released earlier")
    with pytest.raises(package.PackageError, match=r"models/model.skops: missing \(model\)"):
        package.package(repo, repo / "params.yaml", "1.0.0", repo / "dist", "uv")
    assert (repo / "dist" / "previous.whl").read_text() == "released earlier"
    with pytest.raises(package.PackageError, match="not a PEP 440 version"):
        package.package(repo, repo / "params.yaml", "v1", repo / "dist", "uv")


def test_committed_openapi_document_is_current() -> None:
    settings = io.section(params(), "serving")
    app = serve.create_app(settings, serve.Limits.from_settings(settings), version="unreleased")
    committed = json.loads((ROOT / "docs/openapi.json").read_text())
    assert app.openapi() == committed, "run `make openapi` and commit docs/openapi.json"
    record = committed["components"]["schemas"]["CustomerRecord"]
    assert record["additionalProperties"] is False
    assert "call_failures" in record["required"]
    assert "age" not in record["required"]


def test_optional_artifacts_are_embedded_only_when_present(tmp_path: Path) -> None:
    spec = package.Spec.from_params(params(), tmp_path)
    for key, path in spec.artifacts.items():
        if key not in spec.optional:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(key)
    assert "reference" not in package.collect_artifacts(spec)
    reference = spec.artifacts["reference"]
    reference.write_text("{}")
    assert package.collect_artifacts(spec)["reference"] == reference
    spec.artifacts["model"].unlink()
    with pytest.raises(package.PackageError, match=r"model.skops: missing \(model\)"):
        package.collect_artifacts(spec)


def test_results_the_pipeline_did_not_produce_are_refused(tmp_path: Path) -> None:
    """A model retrained by hand, or params edited after `make run`, never get packaged."""
    current = params()
    model = tmp_path / "models" / "model.skops"
    model.parent.mkdir()
    model.write_bytes(b"trained by the pipeline")
    lock = {
        "schema": "2.0",
        "stages": {
            "train": {
                "params": {"params.yaml": {"train": current["train"]}},
                "outs": [{"path": "models/model.skops", "hash": "md5",
                          "md5": hashlib.md5(model.read_bytes()).hexdigest()}],  # noqa: S324
            }
        },
    }  # fmt: skip
    (tmp_path / "dvc.lock").write_text(yaml.safe_dump(lock))
    package.check_lock(tmp_path, current, {"model": model})
    model.write_bytes(b"trained by hand")
    with pytest.raises(package.PackageError, match=r"is not the output dvc\.lock records"):
        package.check_lock(tmp_path, current, {"model": model})
    edited = {**current, "train": {**current["train"], "seed": 7}}
    with pytest.raises(package.PackageError, match="'train' changed since stage 'train' ran"):
        package.check_lock(tmp_path, edited, {})
