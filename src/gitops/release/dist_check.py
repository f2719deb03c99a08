"""Checks that the packaged wheel is the version being released, before anything is tagged.

A tag is public and hard to take back; a wheel whose metadata says another version, or a
dist/ whose checksums do not match, would publish something other than what was reviewed.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass
from email.message import Message
from email.parser import HeaderParser
from pathlib import Path

from gitops.files import digest


class DistError(RuntimeError):
    """The packaged files do not match the release; the message names the file."""


@dataclass(frozen=True)
class CheckedWheel:
    path: Path
    version: str
    sha256: str
    checked_files: tuple[str, ...]  # every file SHA256SUMS lists, all verified


def normalize(name: str) -> str:
    """Wheel file-name form of a distribution name (PEP 427/503): churn-model → churn_model."""
    return re.sub(r"[-_.]+", "_", name).lower()


def _metadata(path: Path) -> Message:
    try:
        with zipfile.ZipFile(path) as zf:
            names = [n for n in zf.namelist() if re.fullmatch(r"[^/]+\.dist-info/METADATA", n)]
            if len(names) != 1:
                raise DistError(f"{path}: expected one *.dist-info/METADATA, found {len(names)}")
            text = zf.read(names[0]).decode("utf-8")
    except zipfile.BadZipFile:
        raise DistError(f"{path}: not a zip archive, so not a wheel") from None
    return HeaderParser().parsestr(text)


def wheel_metadata(path: Path) -> dict[str, str]:
    """Name and Version from the wheel's METADATA."""
    headers = _metadata(path)
    return {"name": headers.get("Name", ""), "version": headers.get("Version", "")}


def wheel_requirements(path: Path) -> list[str]:
    """The wheel's runtime requirements (its Requires-Dist lines), as written."""
    return [str(r) for r in _metadata(path).get_all("Requires-Dist") or []]


def read_sums(path: Path) -> dict[str, str]:
    """`sha256sum` output (`<hex>  <file>`, `*` marking binary mode) as {file: hex}."""
    sums: dict[str, str] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        match = re.fullmatch(r"([0-9a-fA-F]{64}) [ *](.+)", line)
        if not match:
            raise DistError(f"{path}:{number}: expected '<sha256>  <file>', got '{line[:80]}'")
        sums[match[2]] = match[1].lower()
    if not sums:
        raise DistError(f"{path}: lists no files")
    return sums


def check_dist(dist: Path, package: str, version: str) -> CheckedWheel:
    """The wheel of `package` at `version` in `dist`, its metadata and SHA256SUMS verified."""
    prefix = f"{normalize(package)}-{version}-"
    wheels = sorted(dist.glob("*.whl")) if dist.is_dir() else []
    matching = [w for w in wheels if w.name.lower().startswith(prefix.lower())]
    if len(matching) != 1:
        found = ", ".join(w.name for w in wheels) or "no wheel"
        raise DistError(
            f"{dist}: expected one wheel {prefix}*.whl, found {found}; "
            f"run `make package VERSION={version}`"
        )
    wheel = matching[0]
    meta = wheel_metadata(wheel)
    if normalize(meta["name"]) != normalize(package):
        raise DistError(f"{wheel}: METADATA Name is '{meta['name']}', expected '{package}'")
    if meta["version"] != version:
        raise DistError(f"{wheel}: METADATA Version is '{meta['version']}', expected '{version}'")
    sums_path = dist / "SHA256SUMS"
    if not sums_path.is_file():
        raise DistError(f"{sums_path}: missing; the package step must write checksums")
    sums = read_sums(sums_path)
    if wheel.name not in sums:
        raise DistError(f"{sums_path}: does not list {wheel.name}")
    for name, expected in sums.items():
        target = dist / name
        if not target.is_file():
            raise DistError(f"{sums_path}: lists {name}, which is not in {dist}")
        actual = digest(target)
        if actual != expected:
            raise DistError(f"{target}: sha256 {actual} does not match {sums_path} ({expected})")
    return CheckedWheel(wheel, version, sums[wheel.name], tuple(sorted(sums)))
