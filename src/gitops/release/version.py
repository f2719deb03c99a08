"""Which version a change on main deserves, decided from what a caller of the model sees.

The rule follows semantic versioning from the point of view of the application that
installs the model: a changed input schema can break its calls (major), a new model changes
its answers but not how to ask (minor), changed packaged code alone is a fix (patch), and a
change that ships nothing (docs, tests, workflows) is no release at all. Everything here is
pure: the command line reads git, GTO and params.yaml and passes plain data in.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any

from gitops import dvclock
from gitops.release.schema_diff import schema_changes

#: SemVer as GTO accepts it after the leading "v" (pre-release and build metadata allowed).
SEMVER = re.compile(
    r"^(?P<major>0|[1-9]\d*)\.(?P<minor>0|[1-9]\d*)\.(?P<patch>0|[1-9]\d*)"
    r"(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$"
)
#: Artifact names GTO can put in a tag (`name@vX.Y.Z`, `name#stage#n`).
ARTIFACT_NAME = re.compile(r"^[a-zA-Z0-9]([a-zA-Z0-9-/_]*[a-zA-Z0-9])?$")


class Bump(Enum):
    NONE = "none"
    FIRST = "first"
    PATCH = "patch"
    MINOR = "minor"
    MAJOR = "major"


@dataclass(frozen=True)
class ReleaseConfig:
    """The `release:` section of params.yaml."""

    artifact: str
    input_schema: str
    model: str
    code: tuple[str, ...]
    metrics: str
    first_version: str = "1.0.0"
    package: str = "churn-model"
    remote: str = "origin"
    dist: str = "dist"
    notes: str = "dist/RELEASE_NOTES.md"

    @classmethod
    def from_params(cls, params: dict[str, Any], source: str = "params.yaml") -> ReleaseConfig:
        section = params.get("release")
        if not isinstance(section, dict):
            raise ValueError(f"{source}: missing section 'release' (a mapping)")
        section = {**_from_package(params.get("package")), **section}
        required = ("artifact", "input_schema", "model", "code", "metrics")
        missing = [key for key in required if key not in section]
        if missing:
            raise ValueError(f"{source}: release: missing key(s) {', '.join(missing)}")
        unknown = set(section) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"{source}: release: unknown key(s) {', '.join(sorted(unknown))}")
        code = section["code"]
        if not isinstance(code, list) or not code or not all(isinstance(p, str) for p in code):
            raise ValueError(f"{source}: release.code must be a non-empty list of paths")
        values = {k: v for k, v in section.items() if k != "code"}
        for key, value in values.items():
            if not isinstance(value, str) or not value:
                raise ValueError(f"{source}: release.{key} must be a non-empty string")
        if not ARTIFACT_NAME.match(section["artifact"]):
            raise ValueError(
                f"{source}: release.artifact '{section['artifact']}' is not a GTO name "
                "(letters, digits, '-', '_', '/'; starts and ends with a letter or digit)"
            )
        first = values.get("first_version", cls.first_version)
        if not SEMVER.match(first):
            raise ValueError(f"{source}: release.first_version '{first}' is not X.Y.Z")
        return cls(**values, code=tuple(p.rstrip("/") for p in code))

    def tag(self, version: str) -> str:
        """The GTO registration tag of a version: `artifact@vX.Y.Z`."""
        return f"{self.artifact}@v{version}"


def _from_package(package: Any) -> dict[str, Any]:
    """Defaults read from the `package:` section, so what ships is listed in one place only:
    the wheel's modules are the packaged code, its distribution name is the package."""
    if not isinstance(package, dict):
        return {}
    out: dict[str, Any] = {}
    if isinstance(package.get("distribution"), str):
        out["package"] = package["distribution"]
    modules, source, name = (
        package.get("modules"),
        package.get("source"),
        package.get("import_package"),
    )
    if isinstance(modules, list) and isinstance(source, str) and isinstance(name, str):
        # A dotted module is a file or a package folder; git compares either by path. The
        # model package's own __init__.py ships in every wheel.
        paths = [f"{source}/{m.replace('.', '/')}" for m in modules]
        out["code"] = [*paths, *(f"{p}.py" for p in paths), f"{source}/{name}/__init__.py"]
    return out


@dataclass(frozen=True)
class Snapshot:
    """What a caller receives, as recorded at one commit: the schema text and the model hash."""

    schema: str | None
    model_md5: str | None


@dataclass(frozen=True)
class Decision:
    artifact: str
    bump: Bump
    previous: str | None  # last released version, without the "v"
    version: str | None  # version to publish, None when no release is due
    reasons: tuple[str, ...] = field(default_factory=tuple)

    @property
    def due(self) -> bool:
        return self.version is not None

    @property
    def tag(self) -> str | None:
        return None if self.version is None else f"{self.artifact}@v{self.version}"


def strip_v(version: str) -> str:
    return version[1:] if version.startswith("v") else version


def bump_version(previous: str, bump: Bump) -> str:
    """Next X.Y.Z; a pre-release or build suffix on the previous version is dropped."""
    match = SEMVER.match(strip_v(previous))
    if not match:
        raise ValueError(f"previous version '{previous}' is not SemVer X.Y.Z")
    major, minor, patch = (int(match[k]) for k in ("major", "minor", "patch"))
    if bump is Bump.MAJOR:
        return f"{major + 1}.0.0"
    if bump is Bump.MINOR:
        return f"{major}.{minor + 1}.0"
    if bump is Bump.PATCH:
        return f"{major}.{minor}.{patch + 1}"
    raise ValueError(f"no version follows from a '{bump.value}' bump")


def model_md5(lock_text: str | None, path: str, source: str = "dvc.lock") -> str | None:
    """The md5 DVC recorded for the stage output `path`, or None when no stage outputs it."""
    try:
        lock = dvclock.parse(lock_text, source)
    except dvclock.LockError as err:
        raise ValueError(str(err)) from None
    return None if lock is None else lock.output_md5(path)


def _short(md5: str | None) -> str:
    return "none" if md5 is None else md5[:12]


def decide(
    config: ReleaseConfig,
    previous: str | None,
    old: Snapshot | None,
    new: Snapshot,
    changed_code: list[str],
) -> Decision:
    """The bump a change deserves: the highest of what changed, each reason recorded.

    `previous` is the last released version (None: nothing released yet), `old` and `new`
    what the previous release and the candidate commit ship, `changed_code` the packaged
    code paths that differ between them.
    """
    if new.schema is None:
        raise ValueError(f"{config.input_schema}: missing in the candidate commit")
    if new.model_md5 is None:
        raise ValueError(
            f"dvc.lock: no stage outputs '{config.model}' in the candidate commit; "
            "run the pipeline (`make run`) and commit dvc.lock"
        )
    if previous is None or old is None:
        return Decision(
            config.artifact,
            Bump.FIRST,
            None,
            config.first_version,
            (f"first release of '{config.artifact}': no {config.artifact}@v* tag yet",),
        )
    reasons: list[str] = []
    bumps: list[Bump] = []
    contract, wording, summary = schema_changes(old.schema, new.schema, config.input_schema)
    if contract:
        bumps.append(Bump.MAJOR)
        reasons.append(f"input schema changed, callers may need to change: {summary}")
    if old.model_md5 != new.model_md5:
        bumps.append(Bump.MINOR)
        reasons.append(
            f"model changed: {config.model} md5 {_short(old.model_md5)} → {_short(new.model_md5)}"
        )
    if wording:
        bumps.append(Bump.PATCH)
        reasons.append(f"input schema wording changed: {summary}")
    if changed_code:
        bumps.append(Bump.PATCH)
        shown = ", ".join(changed_code[:8]) + (" …" if len(changed_code) > 8 else "")
        reasons.append(f"packaged code changed: {shown}")
    if not bumps:
        return Decision(
            config.artifact,
            Bump.NONE,
            strip_v(previous),
            None,
            (f"nothing shipped changed since {config.tag(strip_v(previous))}",),
        )
    order = [Bump.PATCH, Bump.MINOR, Bump.MAJOR]
    bump = max(bumps, key=order.index)
    return Decision(
        config.artifact,
        bump,
        strip_v(previous),
        bump_version(previous, bump),
        tuple(reasons),
    )


def skip_taken(decision: Decision, taken: Collection[str]) -> Decision:
    """Never reuse a version number: one registered and later withdrawn (`gto deprecate`)
    is stepped past with patch bumps, so the new number still signals the same bump."""
    if decision.version is None or decision.version not in taken:
        return decision
    version, skipped = decision.version, []
    while version in taken:
        skipped.append(f"v{version}")
        version = bump_version(version, Bump.PATCH)
    reason = f"{', '.join(skipped)} used before by a withdrawn registration, so v{version}"
    return replace(decision, version=version, reasons=(*decision.reasons, reason))
