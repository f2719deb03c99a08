"""The model at run time: find it, verify it against its manifest, score records, band them.

An installed wheel carries the model, its manifest and its evidence in `churn/artifacts/`;
a development checkout passes `--model models/model.skops` and reads `params.yaml`.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy.special import expit

from churn import io, persist, schema
from churn.trees import CompiledTrees

#: Folder of the import package where the wheel builder puts the model and its evidence.
ARTIFACTS = "artifacts"
MANIFEST = "manifest.json"
#: Rows below which splitting a prediction over threads costs more than it saves.
MIN_ROWS_PER_JOB = 5_000


class BundleError(RuntimeError):
    """No model to serve, or a manifest that does not describe one."""


@dataclass(frozen=True)
class Bands:
    """Risk bands: a customer gets the band of the highest lower bound its probability reaches."""

    names: tuple[str, ...]
    lower: NDArray[np.float64]

    @classmethod
    def from_mapping(cls, bands: Mapping[str, float]) -> Bands:
        names = tuple(bands)
        lower = np.asarray([float(v) for v in bands.values()], dtype=np.float64)
        if not names or lower[0] != 0 or np.any(np.diff(lower) <= 0) or lower[-1] > 1:
            raise BundleError(
                f"serving.risk_bands must start at 0 and rise strictly within [0, 1], got {bands}"
            )
        return cls(names, lower)

    def assign(self, probability: NDArray[np.float64]) -> NDArray[np.object_]:
        index = np.searchsorted(self.lower, probability, side="right") - 1
        return np.asarray(self.names, dtype=object)[np.clip(index, 0, len(self.names) - 1)]


@dataclass(frozen=True)
class Scorer:
    """A model and, when it is a plain gradient boosting, its trees compiled for speed."""

    model: Any
    preprocess: Any = None
    mapper: Any = None
    trees: CompiledTrees | None = None

    @classmethod
    def of(cls, model: Any) -> Scorer:
        boosted = _plain_boosting(model)
        if boosted is None:
            return cls(model)
        preprocess, estimator = boosted
        compiled = CompiledTrees.of(estimator)
        if compiled is None:
            return cls(model)
        mapper = estimator._bin_mapper
        # The mapper keeps the thread count of training; spinning OpenMP threads make one
        # record cost milliseconds on a busy machine. Batches are split over threads instead.
        mapper.n_threads = 1
        return cls(model, preprocess, mapper, compiled)

    def proba(self, features: pd.DataFrame) -> NDArray[np.float64]:
        """`predict_proba`'s churn column; compiled trees when there are some."""
        if self.trees is None:
            return np.asarray(self.model.predict_proba(features)[:, 1], dtype=np.float64)
        x = np.ascontiguousarray(self.preprocess.transform(features).to_numpy(np.float64))
        return np.asarray(expit(self.trees.raw(self.mapper.transform(x))), dtype=np.float64)


@dataclass(frozen=True)
class Bundle:
    """A verified model with what callers need to know about it."""

    scorer: Scorer
    manifest: dict[str, Any]
    settings: dict[str, Any]  # the `serving` params the model was packaged with
    bands: Bands
    threads: int = field(default=1)

    @property
    def model(self) -> Any:
        return self.scorer.model

    @property
    def version(self) -> str:
        return str(self.manifest.get("version", "dev"))

    def predict(self, records: pd.DataFrame) -> NDArray[np.float64]:
        """Churn probability per record (validated records, schema names)."""
        return predict(self.scorer, records, threads=self.threads)


def predict(scorer: Scorer, records: pd.DataFrame, *, threads: int = 1) -> NDArray[np.float64]:
    """Probabilities, with large frames split over threads (numpy releases the GIL)."""
    features = records[schema.feature_names()]
    jobs = max(1, min(threads, len(features) // MIN_ROWS_PER_JOB))
    if jobs == 1:
        return scorer.proba(features)
    bounds = np.linspace(0, len(features), jobs + 1).astype(int)
    parts = [features.iloc[a:b] for a, b in itertools.pairwise(bounds)]
    with ThreadPoolExecutor(jobs) as pool:
        return np.concatenate(list(pool.map(scorer.proba, parts)))


def _plain_boosting(model: Any) -> tuple[Any, Any] | None:
    """(preprocessing, estimator) when the model is a pipeline ending in a binary HGB."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.pipeline import Pipeline

    if not isinstance(model, Pipeline) or len(model.steps) < 2:
        return None
    est = model.steps[-1][1]
    if type(est) is not HistGradientBoostingClassifier or est.n_trees_per_iteration_ != 1:
        return None
    return model[:-1], est


def packaged_artifacts() -> Path | None:
    """The artifacts folder of an installed wheel, or None in a source checkout."""
    folder = resources.files("churn").joinpath(ARTIFACTS)
    path = Path(str(folder))
    return path if (path / MANIFEST).is_file() else None


def read_manifest(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BundleError(f"{path}: cannot read the manifest ({exc})") from None
    for key in ("version", "artifacts"):
        if key not in manifest:
            raise BundleError(f"{path}: manifest has no '{key}'")
    if "model" not in manifest["artifacts"]:
        raise BundleError(f"{path}: manifest lists no 'model' artifact")
    return manifest


def load(
    model_path: str | Path | None = None,
    *,
    manifest_path: str | Path | None = None,
    params_path: str | Path = "params.yaml",
    threads: int = 1,
) -> Bundle:
    """The packaged model (hash-checked against the manifest), or a development model file.

    OpenMP inside the trees is limited to one thread: on a busy machine its spinning
    threads cost more than they bring; `threads` splits large batches instead.
    """
    _single_threaded_openmp()
    if model_path is None and manifest_path is None:
        folder = packaged_artifacts()
        if folder is None:
            raise BundleError(
                "this installation carries no packaged model: install the churn-model wheel, "
                "or pass --model models/model.skops in a checkout of the project"
            )
        manifest_path = folder / MANIFEST
    manifest: dict[str, Any] = {}
    if manifest_path is not None:
        manifest = read_manifest(manifest_path)
        entry = manifest["artifacts"]["model"]
        if model_path is None:
            model_path = Path(manifest_path).parent / entry["file"]
        model = persist.load(model_path, expected_sha256=entry["sha256"])
        settings = dict(manifest.get("params", {}).get("serving") or {})
    else:
        model = persist.load(str(model_path))
        model_entry = {"file": str(model_path), "sha256": persist.sha256_file(model_path)}
        manifest = {"version": "dev", "artifacts": {"model": model_entry}}
        try:
            settings = io.section(io.load_params(params_path), "serving", str(params_path))
        except (OSError, KeyError, ValueError) as exc:
            raise BundleError(f"--model takes its settings from --params: {exc}") from None
    if "risk_bands" not in settings:
        raise BundleError("no serving.risk_bands: the package or params.yaml must define them")
    bands = Bands.from_mapping(settings["risk_bands"])
    return Bundle(Scorer.of(model), manifest, settings, bands, threads)


def describe(bundle: Bundle) -> dict[str, Any]:
    """What an application team asks about a model: `churn info` and `GET /model`."""
    manifest = bundle.manifest
    return {
        "name": manifest.get("name"),
        "version": bundle.version,
        "model_sha256": manifest["artifacts"]["model"].get("sha256"),
        "training_data_sha256": (manifest.get("training_data") or {}).get("sha256"),
        "metrics": manifest.get("metrics") or {},
        "gates": (manifest.get("params") or {}).get("gates"),
        "risk_bands": dict(bundle.settings["risk_bands"]),
        "git": manifest.get("git") or {},
        "build": manifest.get("build") or {},
    }


def _single_threaded_openmp() -> None:
    from threadpoolctl import threadpool_limits  # a scikit-learn dependency

    threadpool_limits(1, user_api="openmp")
