"""Saving and loading the trained model: skops only, byte-reproducible, hash-checked.

skops names the arrays inside its zip after Python object ids and stamps the current
time on every entry, so two identical models would never produce identical files. The
file is rewritten with ids renumbered in traversal order and fixed timestamps: the same
training run gives the same bytes, DVC sees an unchanged output and a reproduced
pipeline leaves `dvc.lock` as committed.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import skops.io as sio

from gitops.files import write_bytes

#: Types outside skops' default trust list that the default preprocessing and estimators
#: contain (the encoders keep a numpy dtype). Anything else in a model file is refused:
#: loading never executes code a file brings with it.
TRUSTED_TYPES: tuple[str, ...] = (
    "numpy.dtype",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.tree._tree.Tree",
)
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)


class ModelFileError(RuntimeError):
    """The model file is missing, modified or holds types we do not trust."""


def dumps(model: Any) -> bytes:
    """skops bytes of `model`, identical for identical models."""
    return _canonical(sio.dumps(model))


def save(model: Any, path: str | Path) -> str:
    """Write the model atomically and return its SHA-256."""
    data = dumps(model)
    write_bytes(path, data)
    return hashlib.sha256(data).hexdigest()


def load(
    path: str | Path, *, expected_sha256: str | None = None, trusted: tuple[str, ...] = ()
) -> Any:
    """Load a model file, refusing one whose hash or contents are not what we expect.

    `trusted` adds types a fork's estimator needs (params.yaml serving.trusted_types).
    """
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"{path}: model file not found")
    data = path.read_bytes()
    if expected_sha256 is not None:
        actual = hashlib.sha256(data).hexdigest()
        if actual != expected_sha256:
            raise ModelFileError(
                f"{path}: SHA-256 is {actual}, the manifest says {expected_sha256}; "
                "the file was modified or replaced, refusing to load it"
            )
    try:
        untrusted = sio.get_untrusted_types(data=data)
    except Exception as exc:
        raise ModelFileError(f"{path}: not a readable skops file ({exc})") from None
    unexpected = sorted(set(untrusted) - set(TRUSTED_TYPES) - set(trusted))
    if unexpected:
        raise ModelFileError(f"{path}: holds types that are not trusted: {', '.join(unexpected)}")
    return sio.loads(data, trusted=list(untrusted))


def _canonical(raw: bytes) -> bytes:
    src = zipfile.ZipFile(io.BytesIO(raw))
    schema = json.loads(src.read("schema.json"))
    ids: dict[int, int] = {}
    _renumber(schema, ids)
    out = io.BytesIO()
    entries = {"schema.json": json.dumps(schema, indent=2).encode()}
    for name in src.namelist():
        stem, dot, ext = name.partition(".")
        if name != "schema.json":
            new = f"{ids[int(stem)]}{dot}{ext}" if stem.isdigit() and int(stem) in ids else name
            entries[new] = src.read(name)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as dst:
        for name in sorted(entries):
            _write(dst, name, entries[name])
    return out.getvalue()


def _renumber(node: Any, ids: dict[int, int]) -> None:
    """Replace object ids (in `__id__` and array file names) by their order of appearance."""
    if isinstance(node, dict):
        if isinstance(node.get("__id__"), int):
            node["__id__"] = ids.setdefault(node["__id__"], len(ids))
        file = node.get("file")
        if isinstance(file, str) and file.partition(".")[0].isdigit():
            stem, dot, ext = file.partition(".")
            node["file"] = f"{ids.setdefault(int(stem), len(ids))}{dot}{ext}"
        for value in node.values():
            _renumber(value, ids)
    elif isinstance(node, list):
        for value in node:
            _renumber(value, ids)


def _write(dst: zipfile.ZipFile, name: str, data: bytes) -> None:
    info = zipfile.ZipInfo(name, date_time=_FIXED_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    dst.writestr(info, data)
