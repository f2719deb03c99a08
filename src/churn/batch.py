"""Batch scoring of a CSV export for a CRM import: chunked, validated, all or nothing.

A file is read in chunks, so memory stays bounded whatever its length. The fast path
parses numbers directly and asks `validation.passes`; at the first chunk it doubts, the
file is read again through `validation.check`, which names every broken rule with its
line numbers. Scores go to a temporary file renamed onto the output only at the end: a
failed run leaves no partial file and an earlier output untouched.
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

from churn import io, schema, validation
from churn.scoring import Bundle

#: Name of the id column written when the input has none: the data row, first row = 1.
ROW_NUMBER = "row_number"
#: Problem lines quoted at most, so a broken million-row file still gives a readable error.
MAX_PROBLEMS = 30

#: (records as read, with the id column; the same records validated and typed)
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
    id_column: str = "customer_id",
    require_id: bool = False,
    chunk_rows: int = 100_000,
) -> BatchResult:
    """Score every record of `source` into `target`: id, probability, risk band."""
    source = Path(source)
    header = _header(source)
    if id_column not in header and require_id:
        raise validation.DataValidationError(
            str(source), [f"column '{id_column}' (the customer id, --id-column) is missing"]
        )
    id_in = id_column if id_column in header else None
    out_id = id_in or ROW_NUMBER
    checked = False
    with io.atomic_path(target) as tmp, tmp.open("w", encoding="utf-8", newline="") as fh:
        try:
            rows = _write(bundle, _fast(source, header, id_in, chunk_rows), fh, id_in, out_id)
        except _DoubtError:
            checked = True
            fh.seek(0)
            fh.truncate()
            rows = _write(bundle, _checked(source, chunk_rows), fh, id_in, out_id)
        if rows == 0:
            raise validation.DataValidationError(str(source), ["no data rows: nothing to score"])
    return BatchResult(rows, out_id, checked)


def _header(source: Path) -> list[str]:
    with validation.csv_errors(source):
        frame = pd.read_csv(source, nrows=0, dtype=str, **validation.CSV_OPTIONS)  # type: ignore[call-overload]
    return [str(c) for c in frame.columns]


def _fast(source: Path, header: list[str], id_column: str | None, rows: int) -> Iterator[Chunk]:
    """Numbers parsed by the CSV reader; any doubt (text, gaps, broken rules) hands over."""
    mapping = schema.rename_source_columns(header)
    if len(set(mapping.values())) != len(mapping) or len(set(header)) != len(header):
        raise _DoubtError
    dtypes: dict[str, str] = dict.fromkeys(mapping, "float64")
    if id_column is not None:
        dtypes[id_column] = "str"
    ints = {
        c.name: "int64" for c in schema.COLUMNS if c.dtype == "int" and c.name in mapping.values()
    }
    try:
        reader = pd.read_csv(
            source, usecols=list(dtypes), dtype=dtypes, chunksize=rows, **validation.CSV_OPTIONS
        )  # type: ignore[call-overload]
        with reader:
            empty = True
            for chunk in reader:
                frame = chunk.rename(columns=mapping)
                if not validation.passes(frame, require_target=False):
                    raise _DoubtError
                empty = False
                yield frame, frame.astype(ints)
            if empty:
                raise _DoubtError
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError):
        raise _DoubtError from None


def _checked(source: Path, rows: int) -> Iterator[Chunk]:
    """Every chunk through `validation.check`; all problems of the file raised at the end."""
    problems: list[str] = []
    required = schema.feature_names()
    for chunk in validation.iter_csv(source, chunk_rows=rows):
        try:
            typed = validation.check(chunk, str(source), require_target=False)
        except validation.DataValidationError as exc:
            problems += [p for p in exc.problems if p not in problems]
            broken_header = any(name not in chunk.columns for name in required)
            if broken_header or len(problems) >= MAX_PROBLEMS:
                break
            continue
        if not problems:
            yield chunk, typed
    if problems:
        if len(problems) > MAX_PROBLEMS:
            problems = [*problems[:MAX_PROBLEMS], "... (more problems not shown)"]
        raise validation.DataValidationError(str(source), problems)


def _write(
    bundle: Bundle, chunks: Iterator[Chunk], fh: TextIO, id_in: str | None, id_out: str
) -> int:
    """Score chunk k in the background while chunk k+1 is read and chunk k-1 written."""
    done = 0
    pending: tuple[pd.DataFrame, Future[NDArray[np.float64]]] | None = None
    with ThreadPoolExecutor(1) as pool:
        for raw, typed in chunks:
            scores = pool.submit(bundle.predict, typed)
            if pending is not None:
                done += _write_chunk(
                    bundle, fh, pending[0], pending[1].result(), id_in, id_out, done
                )
            pending = (raw, scores)
        if pending is not None:
            done += _write_chunk(bundle, fh, pending[0], pending[1].result(), id_in, id_out, done)
    return done


def _write_chunk(
    bundle: Bundle,
    fh: TextIO,
    raw: pd.DataFrame,
    probability: NDArray[np.float64],
    id_in: str | None,
    id_out: str,
    done: int,
) -> int:
    settings = bundle.settings
    ids = raw[id_in].to_numpy() if id_in else np.arange(done + 1, done + 1 + len(raw))
    out = pd.DataFrame(
        {
            id_out: ids,
            settings["score_column"]: probability,
            settings["band_column"]: bundle.bands.assign(probability),
        }
    )
    decimals = int(settings.get("probability_decimals", 6))
    out.to_csv(
        fh, header=done == 0, index=False, float_format=f"%.{decimals}f", lineterminator="\n"
    )
    return len(out)
