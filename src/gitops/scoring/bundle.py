"""The model at run time: find it, verify it against its manifest, score records, band them.

An installed wheel carries the model, its contract, manifest and evidence in
`<model package>/artifacts/`; the wheel declares that package in the `gitops.models` entry
point group, so this code finds it without knowing the model package's name. A development
checkout passes `--model models/model.skops` and reads params.yaml instead.

The score is the probability of the contract's positive class, which validation encodes as
1: its column is found through the estimator's `classes_`, never taken by position.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from importlib import metadata, resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy.special import expit

from gitops.contract import load as contract_load
from gitops.contract.json_schema import record_schema
from gitops.contract.spec import Contract
from gitops.files import digest
from gitops.scoring import persist
from gitops.scoring.columns import CompiledColumns
from gitops.scoring.trees import Bins, CompiledTrees
from gitops.settings import ServingSettings, Settings, SettingsError, parse_section

#: Folder of the model package where the wheel builder puts the model and its evidence.
ARTIFACTS = "artifacts"
MANIFEST = "manifest.json"
#: Entry point group a model wheel registers its model package in.
ENTRY_POINTS = "gitops.models"
#: Rows below which splitting a prediction over threads costs more than it saves.
MIN_ROWS_PER_JOB = 5_000


class BundleError(RuntimeError):
    """No model to serve, or a manifest that does not describe one."""


@dataclass(frozen=True)
class Bands:
    """Risk bands: a record gets the band of the highest lower bound its probability reaches.

    The top band starts at the decision threshold (`metrics.threshold`), so "high" is
    exactly what the evaluation counts as flagged; the lower bands come from serving.
    """

    names: tuple[str, ...]
    lower: NDArray[np.float64]

    @classmethod
    def from_settings(cls, serving: ServingSettings, threshold: float) -> Bands:
        return cls.from_mapping({**serving.risk_bands, serving.flagged_band: threshold})

    @classmethod
    def from_mapping(cls, bands: Mapping[str, float]) -> Bands:
        names = tuple(bands)
        lower = np.asarray([float(v) for v in bands.values()], dtype=np.float64)
        if not names or lower[0] != 0 or np.any(np.diff(lower) <= 0) or lower[-1] > 1:
            raise BundleError(
                "serving.risk_bands must start at 0 and rise strictly below the threshold "
                f"(metrics.threshold), which starts the flagged band; got {dict(bands)}"
            )
        return cls(names, lower)

    def as_dict(self) -> dict[str, float]:
        return {n: float(v) for n, v in zip(self.names, self.lower, strict=True)}

    def assign(self, probability: NDArray[np.float64]) -> NDArray[np.object_]:
        index = np.searchsorted(self.lower, probability, side="right") - 1
        return np.asarray(self.names, dtype=object)[np.clip(index, 0, len(self.names) - 1)]


def positive_column(model: Any) -> int:
    """Where `predict_proba` puts class 1 (the positive class, as validation encodes it)."""
    classes = [int(c) for c in getattr(model, "classes_", [])]
    if 1 not in classes:
        raise BundleError(f"the model was trained without the positive class (classes {classes})")
    return classes.index(1)


def positive_proba(model: Any, features: pd.DataFrame) -> NDArray[np.float64]:
    """The probability of the positive class, whatever the order of `classes_`."""
    return np.asarray(model.predict_proba(features)[:, positive_column(model)], dtype=np.float64)


@dataclass(frozen=True)
class Scorer:
    """A model and, when it is a plain gradient boosting, its trees compiled for speed."""

    model: Any
    features: tuple[str, ...]
    preprocess: Any = None
    mapper: Any = None
    trees: CompiledTrees | None = None
    flip: bool = False  # the compiled trees score classes_[1]; flip when that is not 1
    columns: CompiledColumns | None = None  # the preprocessing as numpy, when it compiles
    bins: Bins | None = None  # the bin mapper as numpy (same bins), for `proba_arrays`

    @classmethod
    def of(cls, model: Any, features: list[str]) -> Scorer:
        names = tuple(features)
        boosted = _plain_boosting(model)
        if boosted is None:
            return cls(model, names)
        preprocess, estimator = boosted
        compiled = CompiledTrees.of(estimator)
        if compiled is None:
            return cls(model, names)
        mapper = estimator._bin_mapper
        # The mapper keeps the thread count of training; spinning OpenMP threads make one
        # record cost milliseconds on a busy machine. Batches are split over threads instead.
        mapper.n_threads = 1
        flip = positive_column(model) == 0
        columns = CompiledColumns.of(preprocess)
        bins = Bins.of(mapper)
        return cls(model, names, preprocess, mapper, compiled, flip, columns, bins)

    @property
    def fast(self) -> bool:
        """Whether records can be scored from plain arrays (`proba_arrays`), no DataFrame."""
        return self.trees is not None and self.columns is not None and self.bins is not None

    def proba(self, records: pd.DataFrame) -> NDArray[np.float64]:
        """The positive class's probability; compiled trees when there are some."""
        features = records[list(self.features)]
        if self.trees is None:
            return positive_proba(self.model, features)
        x = np.ascontiguousarray(self.preprocess.transform(features).to_numpy(np.float64))
        return self._from_matrix(x)

    def proba_arrays(self, data: Mapping[str, NDArray[Any]], rows: int) -> NDArray[np.float64]:
        """The same probabilities from one array per feature, without pandas or scikit-learn.

        What the HTTP API calls: for a few records the DataFrame and the ColumnTransformer
        cost a hundred times what the compiled trees do. Only when `fast`.
        """
        if self.columns is None or self.trees is None or self.bins is None:
            raise RuntimeError("this model has no compiled path; score a DataFrame with proba")
        return self._from_binned(self.bins.transform(self.columns.transform(data, rows)))

    def _from_matrix(self, x: NDArray[np.float64]) -> NDArray[np.float64]:
        return self._from_binned(self.mapper.transform(x))

    def _from_binned(self, binned: NDArray[np.uint8]) -> NDArray[np.float64]:
        assert self.trees is not None
        p = np.asarray(expit(self.trees.raw(binned)), dtype=np.float64)
        return 1.0 - p if self.flip else p


@dataclass(frozen=True)
class Bundle:
    """A verified model with what callers need to know about it."""

    scorer: Scorer
    contract: Contract
    manifest: dict[str, Any]
    serving: ServingSettings
    bands: Bands
    input_schema: dict[str, Any]  # the JSON Schema of a record the API enforces
    threads: int = field(default=1)

    @property
    def model(self) -> Any:
        return self.scorer.model

    @property
    def version(self) -> str:
        return str(self.manifest.get("version", "dev"))

    def predict(self, records: pd.DataFrame) -> NDArray[np.float64]:
        """Probability per record (validated, typed records)."""
        return predict(self.scorer, records, threads=self.threads)


def predict(scorer: Scorer, records: pd.DataFrame, *, threads: int = 1) -> NDArray[np.float64]:
    """Probabilities, with large frames split over threads (numpy releases the GIL)."""
    jobs = max(1, min(threads, len(records) // MIN_ROWS_PER_JOB))
    if jobs == 1:
        return scorer.proba(records)
    bounds = np.linspace(0, len(records), jobs + 1).astype(int)
    parts = [records.iloc[a:b] for a, b in itertools.pairwise(bounds)]
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
    """The artifacts folder of the installed model wheel, or None in a source checkout."""
    found = sorted(metadata.entry_points(group=ENTRY_POINTS), key=lambda e: e.name)
    folders = []
    for entry in found:
        try:
            folder = Path(str(resources.files(entry.value).joinpath(ARTIFACTS)))
        except ModuleNotFoundError:
            continue
        if (folder / MANIFEST).is_file():
            folders.append(folder)
    if len(folders) > 1:
        raise BundleError(
            f"{len(folders)} model packages are installed ({', '.join(e.name for e in found)}); "
            "install one model per environment"
        )
    return folders[0] if folders else None


def read_manifest(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BundleError(f"{path}: cannot read the manifest ({exc})") from None
    for key in ("version", "artifacts"):
        if key not in manifest:
            raise BundleError(f"{path}: manifest has no '{key}'")
    for key in ("model", "contract"):
        if key not in manifest["artifacts"]:
            raise BundleError(f"{path}: manifest lists no '{key}' artifact")
    return manifest


def _verified(folder: Path, entry: Mapping[str, Any]) -> Path:
    path = folder / str(entry["file"])
    if not path.is_file():
        raise BundleError(f"{path}: missing from the package")
    actual = digest(path)
    if actual != entry["sha256"]:
        raise persist.ModelFileError(
            f"{path}: SHA-256 is {actual}, the manifest says {entry['sha256']}; "
            "the file was modified or replaced, refusing to load it"
        )
    return path


def load(
    model_path: str | Path | None = None,
    *,
    manifest_path: str | Path | None = None,
    settings: Settings | None = None,
    threads: int = 1,
) -> Bundle:
    """The packaged model (hash-checked against the manifest), or a development model file.

    Development models take their contract and serving settings from `settings` (params.yaml);
    packaged ones from the manifest and the contract shipped beside them. OpenMP inside the
    trees is limited to one thread: on a busy machine its spinning threads cost more than
    they bring; `threads` splits large batches instead.
    """
    _single_threaded_openmp()
    if model_path is None and manifest_path is None:
        folder = packaged_artifacts()
        if folder is None:
            raise BundleError(
                "this installation carries no packaged model: install the model wheel, "
                "or pass --model models/model.skops in a checkout of the project"
            )
        manifest_path = folder / MANIFEST
    if manifest_path is not None:
        manifest = read_manifest(manifest_path)
        folder = Path(manifest_path).parent
        entries = manifest["artifacts"]
        recorded = manifest.get("params") or {}
        serving = _section(ServingSettings, recorded.get("serving"), "manifest serving")
        threshold = float((recorded.get("metrics") or {}).get("threshold", 0.5))
        contract = _contract(_verified(folder, entries["contract"]))
        schema_entry = entries.get("input_schema")
        input_schema = (
            json.loads(_verified(folder, schema_entry).read_text(encoding="utf-8"))
            if schema_entry
            else record_schema(contract)
        )
        if model_path is None:
            model_path = folder / entries["model"]["file"]
        model = persist.load(
            model_path, expected_sha256=entries["model"]["sha256"], trusted=serving.trusted_types
        )
    else:
        if settings is None:
            raise BundleError("--model needs the settings of params.yaml (--params)")
        serving, threshold = settings.serving, settings.metrics.threshold
        contract = _contract(Path(settings.data.contract))
        input_schema = record_schema(contract)
        model = persist.load(str(model_path), trusted=serving.trusted_types)
        model_entry = {"file": str(model_path), "sha256": digest(str(model_path))}
        manifest = {"version": "dev", **names(settings), "artifacts": {"model": model_entry}}
    bands = Bands.from_settings(serving, threshold)
    scorer = Scorer.of(model, contract.feature_names)
    return Bundle(scorer, contract, manifest, serving, bands, input_schema, threads)


def names(settings: Settings) -> dict[str, str]:
    """What the model is called, as a package manifest records it (params.yaml package)."""
    package = settings.package
    if package is None:
        return {"name": "model", "title": "Model", "summary": ""}
    title = package.card.title or package.distribution
    return {"name": package.distribution, "title": title, "summary": package.summary}


def _section(model: Any, value: Any, where: str) -> Any:
    try:
        return parse_section(model, value, where)
    except SettingsError as exc:
        raise BundleError(str(exc)) from None


def _contract(path: Path) -> Contract:
    try:
        return contract_load.load(path)
    except contract_load.ContractError as exc:
        raise BundleError(str(exc)) from None


def describe(bundle: Bundle) -> dict[str, Any]:
    """What an application team asks about a model: `churn info` and `GET /model`."""
    manifest = bundle.manifest
    return {
        "name": manifest.get("name"),
        "version": bundle.version,
        "model_sha256": manifest["artifacts"]["model"].get("sha256"),
        "training_data_sha256": (manifest.get("training_data") or {}).get("sha256"),
        "contract": bundle.contract.name,
        "label": {"field": bundle.contract.label, "positive": bundle.contract.roles.positive},
        "metrics": manifest.get("metrics") or {},
        "gates": (manifest.get("params") or {}).get("gates"),
        "risk_bands": bundle.bands.as_dict(),
        "git": manifest.get("git") or {},
        "build": manifest.get("build") or {},
    }


def _single_threaded_openmp() -> None:
    from threadpoolctl import threadpool_limits  # a scikit-learn dependency

    threadpool_limits(1, user_api="openmp")
