"""The project's own data as tests of the machinery see it: through params.yaml and the contract.

Machinery tests take the sample's path, its columns and their roles from here, never by
name, so a fork's tests of the machinery keep passing on the fork's data.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pandas as pd

from gitops.contract import load, reading
from gitops.contract.spec import Contract, FieldSpec
from gitops.contract.validate import check
from gitops.settings import Settings
from support import ROOT


@cache
def settings(root: Path = ROOT) -> Settings:
    return Settings.load(root / "params.yaml")


@cache
def contract(root: Path = ROOT) -> Contract:
    return load.load(root / settings(root).data.contract)


def raw_path(root: Path = ROOT) -> Path:
    """The bundled sample (params.yaml data.raw)."""
    return root / settings(root).data.raw


def raw_text(root: Path = ROOT) -> pd.DataFrame:
    """The sample as read: text values, code names, line numbers as index."""
    return reading.read_csv(raw_path(root), contract(root))


@cache
def _typed(root: Path) -> pd.DataFrame:
    return check(raw_text(root), contract(root), str(raw_path(root)))


def typed(root: Path = ROOT) -> pd.DataFrame:
    """The sample validated and typed (a copy: tests may change it)."""
    return _typed(root).copy()


def header(root: Path = ROOT) -> list[str]:
    return reading.header(raw_path(root))


def column_index(name: str, root: Path = ROOT) -> int:
    """Where a field sits in the sample's header row."""
    mapping = contract(root).header_map(header(root))
    return [mapping.get(h) for h in header(root)].index(name)


def fields(*kinds: str, root: Path = ROOT) -> list[FieldSpec]:
    """Features of the given kinds (numeric, ordinal, categorical, boolean, date, text)."""
    return [f for f in contract(root).features if not kinds or f.kind in kinds]


def first(kind: str, *, bounded: bool = False) -> FieldSpec:
    """A feature of `kind` (with a minimum, when `bounded`), for tests that need one."""
    for field in fields(kind):
        if not bounded or field.constraints.minimum is not None:
            return field
    raise LookupError(f"the contract has no {kind} feature")
