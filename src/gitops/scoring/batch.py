"""Batch scoring of a CSV export for a CRM import: chunked, validated, all or nothing.

A file is read in chunks, so memory stays bounded whatever its length. The fast path lets
the CSV reader parse numbers and asks `typed_if_valid`; at the first chunk it doubts, the
file is read again through `check`, which names every broken rule with its line numbers.
Scores go to a temporary file renamed onto the output only at the end: a failed run leaves
no partial file and an earlier output untouched.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from gitops.contract import reading
from gitops.contract.spec import Contract
from gitops.contract.validate import DataValidationError, check, typed_if_valid
from gitops.files import atomic_path
from gitops.scoring.bundle import Bundle

#: Name of the id column written when the input has none: the data row, first row = 1.
ROW_NUMBER = "row_number"
#: Problem lines quoted at most, so a broken million-row file still gives a readable error.
MAX_PROBLEMS = 30

#: (the ids as read; the same records validated and typed)
Chunk = tuple[pd.DataFrame, pd.DataFrame]


@dataclass(frozen=True)
class BatchResult:
    rows: int
    id_column: str
    checked_path: bool  # True when the fast path gave way to the full check


class _DoubtError(Exception):
    """The fast path cannot vouch for a chunk; the checked path decides."""


def score_csv(
    bundle: Bundle,
    source: str | Path,
    target: str | Path,
    *,
    id_column: str | None = None,
    require_id: bool = False,
    chunk_rows: int = 100_000,
) -> BatchResult:
    """Score every record of `source` into `target`: id, probability, risk band.

    The id column is the contract's `roles.id` unless `id_column` names another; a file
    without it gets the row number.
    """
    source = Path(source)
    contract = bundle.contract
    id_column = id_column or contract.id
    header = reading.header(source)
    names = contract.header_map(header)
    id_in = next((h for h in header if h == id_column or names.get(h) == id_column), None)
    if id_in is None and require_id:
        raise DataValidationError(
            str(source), [f"column '{id_column}' (the record id, --id-column) is missing"]
        )
    out_id = str(names.get(id_in, id_in)) if id_in else ROW_NUMBER
    checked = False
    with atomic_path(target) as tmp, tmp.open("w", encoding="utf-8", newline="") as fh:
        try:
            chunks = _fast(source, contract, header, id_in, chunk_rows)
            rows = _write(bundle, chunks, fh, out_id)
        except _DoubtError:
            checked = True
            fh.seek(0)
            fh.truncate()
            rows = _write(bundle, _checked(source, contract, id_in, chunk_rows), fh, out_id)
        if rows == 0:
            raise DataValidationError(str(source), ["no data rows: nothing to score"])
    return BatchResult(rows, out_id, checked)


#: Name of the pass-through id in a chunk, whatever the file calls it.
_ID = "__id__"


def _fast(
    source: Path, contract: Contract, header: list[str], id_in: str | None, rows: int
) -> Iterator[Chunk]:
    """Numbers parsed by the CSV reader; any doubt (text, gaps, broken rules) hands over."""
    mapping = contract.header_map(header)
    if len(set(mapping.values())) != len(mapping) or len(set(header)) != len(header):
        raise _DoubtError
    dtypes = {
        col: "float64" if contract.field(name).type in ("integer", "number") else "str"
        for col, name in mapping.items()
    }
    if id_in is not None:
        dtypes[id_in] = "str"
    tokens = reading.na_values(header, contract)
    try:
        reader = pd.read_csv(
            source, usecols=list(dtypes), dtype=dtypes, chunksize=rows, na_values=tokens,
            **reading.CSV_OPTIONS,
        )  # fmt: skip
        with reader:
            empty = True
            for chunk in reader:
                ids = chunk[id_in] if id_in is not None else None
                typed = typed_if_valid(chunk.rename(columns=mapping), contract)
                if typed is None:
                    raise _DoubtError
                empty = False
                yield _ids(typed, ids), typed
            if empty:
                raise _DoubtError
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError):
        raise _DoubtError from None


def _ids(typed: pd.DataFrame, ids: pd.Series | None) -> pd.DataFrame:
    return pd.DataFrame({_ID: ids.to_numpy() if ids is not None else None}, index=typed.index)


def _checked(source: Path, contract: Contract, id_in: str | None, rows: int) -> Iterator[Chunk]:
    """Every chunk through `check`; all problems of the file raised at the end."""
    problems: list[str] = []
    required = contract.feature_names
    for chunk in reading.iter_csv(source, contract, chunk_rows=rows):
        id_name = contract.header_map([id_in]).get(id_in, id_in) if id_in else None
        ids = chunk[id_name] if id_name is not None else None
        try:
            typed = check(chunk, contract, str(source), with_label=False)
        except DataValidationError as exc:
            problems += [p for p in exc.problems if p not in problems]
            broken_header = any(name not in chunk.columns for name in required)
            if broken_header or len(problems) >= MAX_PROBLEMS:
                break
            continue
        if not problems:
            yield _ids(typed, ids), typed
    if problems:
        if len(problems) > MAX_PROBLEMS:
            problems = [*problems[:MAX_PROBLEMS], "... (more problems not shown)"]
        raise DataValidationError(str(source), problems)


def _write(bundle: Bundle, chunks: Iterator[Chunk], fh: TextIO, id_out: str) -> int:
    """Score chunk k in the background while chunk k+1 is read and chunk k-1 written."""
    done = 0
    pending: tuple[pd.DataFrame, Future[NDArray[np.float64]]] | None = None
    with ThreadPoolExecutor(1) as pool:
        for raw, typed in chunks:
            scores = pool.submit(bundle.predict, typed)
            if pending is not None:
                done += _write_chunk(bundle, fh, pending[0], pending[1].result(), id_out, done)
            pending = (raw, scores)
        if pending is not None:
            done += _write_chunk(bundle, fh, pending[0], pending[1].result(), id_out, done)
    return done


def _write_chunk(
    bundle: Bundle,
    fh: TextIO,
    raw: pd.DataFrame,
    probability: NDArray[np.float64],
    id_out: str,
    done: int,
) -> int:
    serving = bundle.serving
    ids = raw[_ID].to_numpy() if id_out != ROW_NUMBER else np.arange(done + 1, done + 1 + len(raw))
    out = pd.DataFrame(
        {
            id_out: ids,
            serving.score_column: probability,
            serving.band_column: bundle.bands.assign(probability),
        }
    )
    decimals = serving.probability_decimals
    out.to_csv(
        fh, header=done == 0, index=False, float_format=f"%.{decimals}f", lineterminator="\n"
    )
    return len(out)
