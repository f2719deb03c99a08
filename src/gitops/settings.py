"""params.yaml as one typed object, loaded once per command and passed down.

Every command reads params.yaml through `Settings.load` at its command-line layer and hands
the sections on; nothing below reads the file again. Unknown keys are refused with the key
named, so a misspelt threshold is an error instead of a silently ignored default, and
`${a.b}` references are resolved here, once.

The review report reads a base revision's params.yaml too, which may predate a key: it takes
sections one by one with `section_or_default`, which falls back instead of failing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from gitops import yamltext

_REF = re.compile(r"\$\{([A-Za-z0-9_.]+)\}")
M = TypeVar("M", bound=BaseModel)


class SettingsError(ValueError):
    """params.yaml is missing, unreadable or holds a key or value that is not allowed."""


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DataSettings(Section):
    raw: str
    contract: str
    clean: str
    train: str
    test: str
    quality: str
    card: str | None = None


class ValidateSettings(Section):
    drop_duplicates: bool = True
    drop_conflicting_labels: bool = True
    findings: str | None = None  # "module:function" of the model package
    # A feature whose single-feature ROC AUC (either direction) reaches this is a leakage
    # suspect in the quality summary (gitops.pipeline.screening); 1 would flag only perfection.
    leakage_auc: float = Field(0.98, gt=0.5, le=1)


class SplitSettings(Section):
    test_size: float = Field(gt=0, lt=1)
    seed: int


class ImputeSettings(Section):
    numeric: Literal["median", "mean", "most_frequent", "none"] = "median"
    categorical: Literal["most_frequent", "none"] = "most_frequent"


class TrainSettings(Section):
    estimators: str  # the module holding the model package's ESTIMATORS registry
    model: str
    seed: int
    features: str | None = None  # "module:function" adding features beyond the defaults
    categorical_encoding: Literal["onehot", "ordinal"] = "onehot"
    impute: ImputeSettings = ImputeSettings()
    monotonic_increasing: list[str] = []
    hyperparameters: dict[str, dict[str, Any]] = {}
    # CPU threads a fit may use. Fixed here, never left to the machine: a histogram booster
    # sums gradients in per-thread chunks, so its fitted bytes differ with the core count.
    threads: int = Field(1, ge=1)


class ModelSettings(Section):
    path: str
    input_schema: str


class ResultsSettings(Section):
    metrics: str
    predictions: str
    plots: str


class MetricsSettings(Section):
    threshold: float = Field(0.5, gt=0, lt=1)
    top_fraction: float = Field(0.1, gt=0, le=1)


class Wording(Section):
    """What the machinery calls things; neutral defaults, the model's words in params.yaml."""

    positive: str = "positive"
    positives: str = "positives"
    positive_rate: str = "positive rate"
    population: str = "records"
    value: str = "value"
    top_segment: str = "the highest-scored records"

    def cap(self, key: str) -> str:
        """A word capitalised to start a label: 'churners' -> 'Churners'."""
        text = str(getattr(self, key))
        return text[:1].upper() + text[1:]


class ReferenceSettings(Section):
    path: str
    bins: int = Field(10, ge=2)
    risk_bands: list[float]


class DemoSettings(Section):
    scenario: str  # "module:function" of the model package
    source: str
    output: str
    rows: int = Field(ge=1)
    seed: int
    broken_rows: int = Field(0, ge=0)
    settings: dict[str, Any] = {}


class MonitorSettings(Section):
    psi_warn: float
    psi_alert: float
    p_value: float
    max_invalid_share: float
    max_risk_shift: float
    max_metric_drop: float
    min_labelled_rows: int
    watch_metrics: list[str]
    bootstrap: int
    seed: int
    report: str = "reports/monitor"
    demo: DemoSettings | None = None


class ServingSettings(Section):
    """How a packaged model scores; recorded in the manifest, so it serves as released."""

    score_column: str = "probability"
    band_column: str = "risk_band"
    probability_decimals: int = Field(6, ge=0, le=17)
    risk_bands: dict[str, float] = {"low": 0.0}
    flagged_band: str = "high"
    chunk_rows: int = Field(100_000, ge=1)
    max_request_bytes: int = Field(1_048_576, ge=1)
    max_records: int = Field(1000, ge=1)
    trusted_types: tuple[str, ...] = ()  # types beyond scikit-learn's a model file may hold


class CardSettings(Section):
    title: str | None = None
    intended_use: str | None = None
    not_for: list[str] = []
    limits: list[str] = []
    data_card: str | None = None
    predictions: str | None = None
    bootstrap_resamples: int = 1000
    seed: int = 0


class PackageSettings(Section):
    distribution: str
    import_package: str
    source: str = "src"
    summary: str = ""
    modules: list[str]
    scripts: dict[str, str] = {}
    requires_python: str = ">=3.11"
    dependencies: list[str] = []
    pin_installed: list[str] = []
    artifacts: dict[str, str]
    optional: list[str] = []
    data_summary: str
    record_params: list[str] = []
    release_assets: list[str] = []
    card: CardSettings = CardSettings()


class GatesSettings(Section):
    min: dict[str, float] = {}
    max: dict[str, float] = {}
    max_regression: dict[str, float] = {}
    stale_results: Literal["fail", "warn"] = "fail"
    # Too good to be true: leakage suspects, a near-perfect value or an implausible leap.
    suspicious: Literal["fail", "warn"] = "fail"
    too_good: dict[str, float] = {"roc_auc": 0.999, "average_precision": 0.999}
    max_leap: float = Field(5.0, gt=0)  # improvement / half-width of the base's interval


class ReportSettings(Section):
    base_branch: str = "main"
    output: str = "reports/pr_report.md"
    json_path: str = Field("reports/pr_report.json", alias="json")
    max_chars: int = Field(60_000, ge=1_000, le=65_536)  # characters, as GitHub counts them
    metric_tolerance: float = 1e-6
    resamples: int = Field(1000, ge=2)
    max_resample_rows: int = 20_000_000
    min_resamples: int = 100
    seed: int = 0
    confidence: float = Field(0.95, gt=0, lt=1)

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Settings(Section):
    """The whole of params.yaml. `raw` keeps the file as read, for the sections recorded."""

    data: DataSettings
    validate_: ValidateSettings = Field(ValidateSettings(), alias="validate")
    split: SplitSettings
    train: TrainSettings
    model: ModelSettings
    results: ResultsSettings
    metrics: MetricsSettings = MetricsSettings()
    wording: Wording = Wording()
    reference: ReferenceSettings | None = None
    monitor: MonitorSettings | None = None
    deploy: dict[str, Any] | None = None  # read by gitops.actions.deploy
    remote: dict[str, Any] | None = None  # read by gitops.actions.remote
    release: dict[str, Any] | None = None  # read by gitops.release.version
    serving: ServingSettings = ServingSettings()
    package: PackageSettings | None = None
    image: dict[str, Any] | None = None  # read by gitops.release.image
    gates: GatesSettings = GatesSettings()
    report: ReportSettings = ReportSettings()
    raw: dict[str, Any] = Field(default_factory=dict, exclude=True)
    source: str = Field("params.yaml", exclude=True)

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @field_validator("raw", mode="before")
    @classmethod
    def _raw(cls, value: Any) -> Any:
        return value or {}

    @classmethod
    def load(cls, path: str | Path = "params.yaml") -> Settings:
        """Read, resolve and check params.yaml; errors name the file and the key."""
        path = Path(path)
        if not path.is_file():
            raise SettingsError(f"{path}: params file not found")
        try:
            data = yamltext.load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise SettingsError(f"{path}: not valid YAML ({exc})") from None
        return cls.from_mapping(data, str(path))

    @classmethod
    def from_mapping(cls, data: Any, source: str = "params.yaml") -> Settings:
        if not isinstance(data, Mapping):
            raise SettingsError(f"{source}: expected a mapping at the top level")
        resolved = resolve(dict(data), dict(data), source)
        for key in ("raw", "source"):
            if key in resolved:
                raise SettingsError(f"{source}: '{key}' is not a params section")
        try:
            return cls.model_validate({**resolved, "raw": resolved, "source": source})
        except ValidationError as exc:
            raise SettingsError(describe(exc, source)) from None

    def section(self, name: str) -> Any:
        """The raw (resolved) value of a top-level key, for recording in a manifest."""
        return self.raw.get(name)

    def threshold(self) -> float:
        return self.metrics.threshold


def describe(exc: ValidationError, source: str, prefix: str = "") -> str:
    """pydantic's errors as lines that name the dotted key."""
    lines = []
    for err in exc.errors(include_url=False):
        parts = [prefix] if prefix else []
        parts += ["validate" if p == "validate_" else str(p) for p in err["loc"]]
        key = ".".join(parts) or "(top level)"
        if err["type"] == "extra_forbidden":
            lines.append(f"{source}: unknown key '{key}'")
        elif err["type"] == "missing":
            lines.append(f"{source}: '{key}' is missing")
        else:
            lines.append(f"{source}: {key}: {err['msg']}")
    return "\n".join(lines)


def parse_section(model: type[M], value: Any, where: str, prefix: str = "") -> M:
    """One section on its own (a manifest's `serving`, a change's `report`)."""
    try:
        return model.model_validate(value or {})
    except ValidationError as exc:
        raise SettingsError(describe(exc, where, prefix)) from None


def section_or_default(model: type[M], value: Any) -> M:
    """A section as best it parses; the defaults when an older revision wrote it otherwise."""
    try:
        return model.model_validate(value or {})
    except ValidationError:
        return model()


def resolve(value: Any, params: dict[str, Any], source: str = "params.yaml") -> Any:
    """Replace `${a.b}` in strings by that key of params.yaml, recursively."""
    if isinstance(value, dict):
        return {k: resolve(v, params, source) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, params, source) for v in value]
    if not isinstance(value, str):
        return value

    def lookup(match: re.Match[str]) -> str:
        node: Any = params
        for key in match[1].split("."):
            if not isinstance(node, dict) or key not in node:
                raise SettingsError(f"{source}: '{match[0]}' refers to a missing key")
            node = node[key]
        return str(node)

    return _REF.sub(lookup, value)
