"""Reading record files as the contract describes them, indexed by line number.

Values are read as text, so that a value of the wrong type is reported by validation,
naming it, instead of surfacing as a pandas parser error; only the contract's missing-value
tokens are blanks. The index is the line of the file (header = line 1), so every error can
point at the line to fix. Published headers become code names.

What exports get wrong is said in the words of the export, before any value is checked: a
file split on another delimiter, a header named twice, a byte that is not UTF-8 (at its line,
column and field). A UTF-8 byte-order mark and Windows line ends are read as if absent;
empty lines at the end of the file are dropped (an empty line between records is refused by
validation, at its line).
"""

from __future__ import annotations

import contextlib
import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from gitops.contract.spec import Contract
from gitops.contract.validate import DataValidationError

#: How record files are read everywhere (the missing-value tokens come per column).
CSV_OPTIONS: dict[str, Any] = {
    "keep_default_na": False,
    "encoding": "utf-8-sig",  # a byte-order mark (Excel's "CSV UTF-8") is not part of a name
    "skipinitialspace": True,
}
DELIMITER = ","
#: Delimiters other exports use; a header that splits better on one of them names it.
OTHER_DELIMITERS = (";", "\t", "|")


def header(path: str | Path) -> list[str]:
    """The header row as written (a repeated name stays repeated, unlike pandas' reading)."""
    path = Path(path)
    with csv_errors(path), path.open(encoding=CSV_OPTIONS["encoding"], newline="") as fh:
        first = fh.readline()
    if not first.strip():
        raise DataValidationError(str(path), ["line 1: file is empty: expected a header row"])
    return _fields(first)


def header_problems(columns: list[str], contract: Contract) -> list[str]:
    """What is wrong with a header before any record is read: delimiter, repeated names."""
    mapped = contract.header_map(columns)
    if len(columns) == 1 or len(set(mapped.values())) < 2:
        line = DELIMITER.join(columns)
        for other in OTHER_DELIMITERS:
            split = line.split(other)
            found = set(contract.header_map(split).values())
            if len(split) > len(columns) and len(found) > len(set(mapped.values())):
                shown = "\\t" if other == "\t" else other
                return [
                    f"line 1 (header): looks like '{shown}'-separated ({len(split)} columns "
                    f"when split on '{shown}', {len(found)} of them in the contract); the "
                    f"contract expects '{DELIMITER}'-separated columns: export with "
                    f"'{DELIMITER}' as the delimiter"
                ]
    problems = []
    seen: dict[str, int] = {}
    for position, column in enumerate(columns, start=1):
        key = mapped.get(column, column)
        if key in seen:
            first = columns[seen[key] - 1]
            same = f"'{column}'" if first == column else f"'{first}' and '{column}'"
            problems.append(
                f"line 1 (header), columns {seen[key]} and {position}: column '{key}' appears "
                f"more than once ({same}): each column must appear once"
            )
        else:
            seen[key] = position
    return problems


def na_values(columns: list[str], contract: Contract) -> dict[str, list[str]]:
    """Missing-value tokens per column as the file names it."""
    mapping = contract.header_map(columns)
    return {
        str(col): list(contract.missing_tokens(contract.field(name)))
        for col, name in mapping.items()
    }


def checked_header(path: Path, contract: Contract) -> list[str]:
    columns = header(path)
    if problems := header_problems(columns, contract):
        raise DataValidationError(str(path), problems)
    return columns


def read_csv(path: str | Path, contract: Contract, *, line_offset: int = 0) -> pd.DataFrame:
    """A CSV of records as text, code-named columns, indexed by line number.

    Empty lines are kept while reading, so the index stays the file's line number after
    one; those at the end of the file are then dropped.
    """
    path = Path(path)
    tokens = na_values(checked_header(path, contract), contract)
    with csv_errors(path):
        frame = pd.read_csv(
            path, dtype=str, na_values=tokens, skip_blank_lines=False, **CSV_OPTIONS
        )
    return with_line_numbers(drop_trailing_blank_rows(frame), contract, line_offset)


def blank_rows(frame: pd.DataFrame) -> pd.Series:
    """Rows without a single value (an empty line, or only delimiters)."""
    return (frame.isna() | frame.eq("")).all(axis=1)


def drop_trailing_blank_rows(frame: pd.DataFrame) -> pd.DataFrame:
    blank = blank_rows(frame).to_numpy()
    end = len(frame)
    while end and blank[end - 1]:
        end -= 1
    return frame.iloc[:end]


def iter_csv(path: str | Path, contract: Contract, *, chunk_rows: int) -> Iterator[pd.DataFrame]:
    """`read_csv` in chunks of `chunk_rows`, for files of any size."""
    path = Path(path)
    tokens = na_values(checked_header(path, contract), contract)
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
    except UnicodeDecodeError:
        raise DataValidationError(str(path), [not_utf8(path)]) from None
    except pd.errors.EmptyDataError:
        raise DataValidationError(
            str(path), ["line 1: file is empty: expected a header row"]
        ) from None
    except pd.errors.ParserError as exc:
        raise DataValidationError(str(path), [parser_problem(path, str(exc))]) from None


def not_utf8(path: Path) -> str:
    """Where the first byte that is not UTF-8 is: line, column (characters) and field.

    The decoder's own offset counts from the start of a buffer, not of the line a person
    opens, so the file is scanned again line by line to find it.
    """
    with path.open("rb") as fh:
        columns: list[str] | None = None
        for number, raw in enumerate(fh, start=1):
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                before = raw[: exc.start].decode("utf-8", errors="replace")
                position = _fields(before + "x")
                index = len(position) - 1
                field = ""
                if columns is not None and index < len(columns):
                    field = f", column '{columns[index]}'"
                elif columns is None:
                    field = f", header field {index + 1}"
                byte = raw[exc.start : exc.start + 1].hex()
                return (
                    f"line {number}, character {len(before) + 1}{field}: byte 0x{byte} is not "
                    f"UTF-8 ({exc.reason}): the file must be UTF-8 text; re-export it as UTF-8 "
                    f"(it may be Latin-1 or Windows-1252)"
                )
            if columns is None:
                columns = next(
                    csv.reader(io.StringIO(text.lstrip("\ufeff")), skipinitialspace=True)
                )
    return "not UTF-8 text"


def _fields(line: str) -> list[str]:
    return next(csv.reader(io.StringIO(line), skipinitialspace=True))


def parser_problem(path: Path, message: str) -> str:
    """pandas' tokenizer message in the contract's terms: the line, the count, the fix."""
    found = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", message)
    if found:
        expected, line, saw = found.groups()
        return (
            f"line {line}: {saw} values where the header has {expected} columns: every line "
            f"must have one value per column (a '{DELIMITER}' inside a value needs quotes)"
        )
    return f"not a well-formed CSV file: {message}"
