"""The wheel builder's pieces: settings resolved from params.yaml, imports checked, dist kept."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import sklearn
import yaml

import sample
from gitops.release import package
from gitops.scoring.cli import settings_app
from gitops.settings import SettingsError, resolve
from support import ROOT, copy_repo


def params() -> dict:
    return yaml.safe_load((ROOT / "params.yaml").read_text())


def test_references_resolve_to_other_params() -> None:
    spec = package.Spec.from_params(params(), ROOT)
    assert spec.artifacts["model"] == ROOT / params()["model"]["path"]
    assert spec.data_summary == ROOT / params()["data"]["quality"]
    with pytest.raises(SettingsError, match=r"'\$\{model.nope\}' refers to a missing key"):
        resolve({"a": ["${model.nope}"]}, params())


def test_pinned_requirements_take_the_installed_version() -> None:
    spec = package.Spec.from_params(params(), ROOT)
    reqs = package.requirements(spec)
    assert f"scikit-learn=={sklearn.__version__}" in reqs
    assert "scikit-learn" not in reqs


def test_training_modules_stay_out_and_a_needed_module_left_out_is_refused(
    tmp_path: Path,
) -> None:
    spec = package.Spec.from_params(params(), ROOT)
    shipped = set(spec.files())
    assert not {p for p in shipped if p.startswith(("gitops/pipeline", "gitops/review"))}
    assert not {"churn/model.py", "churn/features.py", "churn/demo.py"} & shipped
    hooks = [r.check for r in sample.contract().rules]
    package.check_imports(spec, hooks)  # the shipped list is closed under imports
    src = tmp_path / "src"
    for pkg in ("churn", "gitops"):
        (src / pkg).mkdir(parents=True)
        (src / pkg / "__init__.py").write_text("")
    (src / "gitops" / "cli.py").write_text("def main():\n    from gitops import model\n")
    (src / "gitops" / "model.py").write_text("")
    (src / "churn" / "rules.py").write_text("")
    changed = {**params()["package"], "source": str(src), "modules": ["gitops.cli"]}
    broken = package.Spec.from_params({**params(), "package": changed}, ROOT)
    with pytest.raises(
        package.PackageError, match=r"imports gitops\.model, which package\.modules"
    ):
        package.check_imports(broken)
    fixed = {**changed, "modules": ["gitops.cli", "gitops.model"]}
    spec = package.Spec.from_params({**params(), "package": fixed}, ROOT)
    package.check_imports(spec)
    with pytest.raises(
        package.PackageError, match=r"rule hook churn\.rules:check is in churn\.rules"
    ):
        package.check_imports(spec, ["churn.rules:check"])


def test_the_wheel_declares_its_model_package_for_the_runtime() -> None:
    spec = package.Spec.from_params(params(), ROOT)
    text = package.pyproject(spec, "1.2.3")
    assert '[project.entry-points."gitops.models"]' in text
    assert f'"{spec.import_package}" = "{spec.import_package}"' in text
    assert 'packages = ["churn", "gitops"]' in text


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
    app = settings_app(sample.settings(), version="unreleased")
    committed = json.loads((ROOT / "docs/openapi.json").read_text())
    assert app.openapi() == committed, "run `make openapi` and commit docs/openapi.json"
    record = committed["components"]["schemas"]["Record"]
    contract = sample.contract()
    assert record["additionalProperties"] is False
    assert set(record["required"]) == {f.name for f in contract.features if f.required}
    assert not set(contract.roles.info) & set(record["required"])
    exported = json.loads((ROOT / sample.settings().model.input_schema).read_text())
    assert record == {k: v for k, v in exported.items() if k != "$schema"}


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
