"""Reading record files as the contract describes them, indexed by line number.

Values are read as text, so that a value of the wrong type is reported by validation,
naming it, instead of surfacing as a pandas parser error; only the contract's missing-value
tokens are blanks. The index is the line of the file (header = line 1), so every error can
point at the line to fix. Published headers become code names.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from gitops.contract.spec import Contract
from gitops.contract.validate import DataValidationError

#: How record files are read everywhere (the missing-value tokens come per column).
CSV_OPTIONS: dict[str, Any] = {
    "keep_default_na": False,
    "encoding": "utf-8",
    "skipinitialspace": True,
}


def header(path: str | Path) -> list[str]:
    """The header row as written."""
    path = Path(path)
    with csv_errors(path):
        frame = pd.read_csv(path, nrows=0, dtype=str, **CSV_OPTIONS)
    return [str(c) for c in frame.columns]


def na_values(columns: list[str], contract: Contract) -> dict[str, list[str]]:
    """Missing-value tokens per column as the file names it."""
    mapping = contract.header_map(columns)
    return {
        str(col): list(contract.missing_tokens(contract.field(name)))
        for col, name in mapping.items()
    }


def read_csv(path: str | Path, contract: Contract, *, line_offset: int = 0) -> pd.DataFrame:
    """A CSV of records as text, code-named columns, indexed by line number."""
    path = Path(path)
    tokens = na_values(header(path), contract)
    with csv_errors(path):
        frame = pd.read_csv(path, dtype=str, na_values=tokens, **CSV_OPTIONS)
    return with_line_numbers(frame, contract, line_offset)


def iter_csv(path: str | Path, contract: Contract, *, chunk_rows: int) -> Iterator[pd.DataFrame]:
    """`read_csv` in chunks of `chunk_rows`, for files of any size."""
    path = Path(path)
    tokens = na_values(header(path), contract)
    offset = 0
    with csv_errors(path):
        reader = pd.read_csv(path, dtype=str, na_values=tokens, chunksize=chunk_rows, **CSV_OPTIONS)
        with reader:
            for chunk in reader:
                yield with_line_numbers(chunk, contract, offset)
                offset += len(chunk)


def with_line_numbers(frame: pd.DataFrame, contract: Contract, line_offset: int) -> pd.DataFrame:
    frame = frame.rename(columns=contract.header_map(frame.columns))
    frame.index = pd.RangeIndex(2 + line_offset, 2 + line_offset + len(frame))
    return frame


@contextlib.contextmanager
def csv_errors(path: Path) -> Iterator[None]:
    """Turn pandas' reading errors into errors that name the file and say what is wrong."""
    if not path.exists():
        raise DataValidationError(str(path), ["file not found"])
    try:
        yield
    except UnicodeDecodeError as exc:
        raise DataValidationError(
            str(path), [f"not UTF-8 text: byte {exc.start} cannot be decoded ({exc.reason})"]
        ) from None
    except pd.errors.EmptyDataError:
        raise DataValidationError(str(path), ["file is empty: expected a header row"]) from None
    except pd.errors.ParserError as exc:
        raise DataValidationError(str(path), [f"not a well-formed CSV file: {exc}"]) from None
