"""Checking customer records against the schema, with errors a person can act on.

Every failure names the file, the column, the rule broken and a few offending rows
(as line numbers of the file, header = line 1), so a bad export is fixed at the source.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from churn import schema

if TYPE_CHECKING:  # pandera is imported when first needed: the scoring fast path never is
    import pandera.pandas as pa

#: How many offending rows an error message quotes per rule.
SHOWN_ROWS = 5


class DataValidationError(ValueError):
    """Raised when records break the schema; `problems` holds one line per broken rule."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        super().__init__(f"{source}: invalid data\n" + "\n".join(f"  - {p}" for p in problems))


def _column_schema(col: schema.Column, *, required: bool, nullable: bool = False) -> pa.Column:
    import pandera.pandas as pa

    checks: list[pa.Check] = []
    if col.allowed is not None:
        checks.append(pa.Check.isin(list(col.allowed), error=col.rule()))
    else:
        if col.minimum is not None:
            checks.append(pa.Check.ge(col.minimum, error=f">= {col.minimum:g}"))
        if col.maximum is not None:
            checks.append(pa.Check.le(col.maximum, error=f"<= {col.maximum:g}"))
    # Values are parsed to float first (see `_parse_numbers`), whole numbers checked there.
    return pa.Column("float64", checks=checks, nullable=nullable, required=required)


def dataframe_schema(*, require_target: bool = True) -> pa.DataFrameSchema:
    """The pandera schema for records; scoring inputs carry no target and may omit `age`."""
    import pandera.pandas as pa

    columns = {}
    for col in schema.COLUMNS:
        if col.role == "target" and not require_target:
            continue
        required = col.role != "info" or require_target
        columns[col.name] = _column_schema(col, required=required)
    return pa.DataFrameSchema(columns, strict=False)


def _parse_numbers(
    frame: pd.DataFrame,
) -> tuple[pd.DataFrame, list[tuple[str, str, object, object]]]:
    """Parse schema columns to float; return the frame and (column, rule, line, value) failures."""
    parsed = frame.copy(deep=False)  # columns are replaced, never changed in place
    failures: list[tuple[str, str, object, object]] = []
    for col in schema.COLUMNS:
        if col.name not in frame:
            continue
        raw = frame[col.name]
        if pd.api.types.is_numeric_dtype(raw):
            values = raw.astype("float64")
        elif (fast := _clean_floats(raw)) is not None:
            values = fast
        else:
            values = pd.to_numeric(raw.astype("string").str.strip(), errors="coerce").astype(
                "float64"
            )
            not_number = raw.notna() & values.isna()
            failures += [(col.name, "must be a number", i, raw[i]) for i in raw.index[not_number]]
        infinite = values.abs().eq(float("inf"))
        failures += [(col.name, "must be a finite number", i, raw[i]) for i in raw.index[infinite]]
        values = values.mask(infinite)
        if col.dtype == "int":
            fractional = values.notna() & (values != values.round())
            failures += [
                (col.name, "must be a whole number", i, raw[i]) for i in raw.index[fractional]
            ]
            values = values.mask(fractional)
        parsed[col.name] = values
    return parsed, failures


def _clean_floats(raw: pd.Series) -> pd.Series | None:
    """Floats of a text column in one vectorised cast, or None if any value needs a closer look.

    The common case (every value a plain number) takes a fraction of the time of the
    per-value parse; anything else (blanks around a value, words, "nan") returns None and
    goes through the careful path that names each offending line. Without pyarrow (the
    packaged model does not require it) every column takes the careful path.
    """
    try:
        import pyarrow
        import pyarrow.compute as pc
    except ImportError:
        return None
    try:
        arrow = pyarrow.array(raw.array, from_pandas=True)
        if not pyarrow.types.is_string(arrow.type) and not pyarrow.types.is_large_string(
            arrow.type
        ):
            return None
        cast = pc.cast(arrow, pyarrow.float64())
    except (pyarrow.ArrowInvalid, pyarrow.ArrowTypeError, TypeError):
        return None
    # "-0" casts to -0.0 where the careful path gives 0.0: adding zero makes them equal.
    values = cast.to_numpy(zero_copy_only=False) + 0.0
    if (pd.isna(values) & raw.notna().to_numpy()).any():
        return None
    return pd.Series(values, index=raw.index, name=raw.name)


AGE_RULE = (
    "must match age_group (" + ", ".join(f"{g}:{a}" for g, a in schema.AGE_OF_GROUP.items()) + ")"
)


def _age_mismatch(frame: pd.DataFrame) -> pd.Series:
    """Rows whose age is not the one published for their age_group."""
    if "age" not in frame or "age_group" not in frame:
        return pd.Series(False, index=frame.index)
    expected = frame["age_group"].map(schema.AGE_OF_GROUP)
    return expected.notna() & frame["age"].notna() & expected.ne(frame["age"])


def _age_problems(frame: pd.DataFrame) -> list[str]:
    """Age is published as a fixed mapping of age_group; a mismatch means a broken export."""
    bad = _age_mismatch(frame)
    if not bad.any():
        return []
    rows = frame.index[bad]
    shown = ", ".join(
        f"line {i} (age {frame.at[i, 'age']:g}, age_group {frame.at[i, 'age_group']:g})"
        for i in rows[:SHOWN_ROWS]
    )
    more = f" and {len(rows) - SHOWN_ROWS} more" if len(rows) > SHOWN_ROWS else ""
    return [f"column 'age': {AGE_RULE}: {len(rows)} row(s) fail: {shown}{more}"]


#: How record files are read everywhere: values as text, only an empty field is missing.
CSV_OPTIONS: dict[str, object] = {
    "keep_default_na": False,
    "na_values": [""],
    "encoding": "utf-8",
    "skipinitialspace": True,
}


def read_csv(path: str | Path, *, line_offset: int = 0) -> pd.DataFrame:
    """Read a CSV of records as text, with code-friendly column names.

    Values stay strings so that type errors are reported by validation, naming the value,
    instead of surfacing as a pandas parser error.
    """
    path = Path(path)
    with csv_errors(path):
        frame = pd.read_csv(path, dtype=str, **CSV_OPTIONS)  # type: ignore[call-overload]
    return _with_line_numbers(frame, line_offset)


def iter_csv(path: str | Path, *, chunk_rows: int) -> Iterator[pd.DataFrame]:
    """`read_csv` in chunks of `chunk_rows`, indexed by line number, for files of any size."""
    path = Path(path)
    offset = 0
    with csv_errors(path):
        reader = pd.read_csv(path, dtype=str, chunksize=chunk_rows, **CSV_OPTIONS)  # type: ignore[call-overload]
        with reader:
            for chunk in reader:
                yield _with_line_numbers(chunk, offset)
                offset += len(chunk)


def _with_line_numbers(frame: pd.DataFrame, line_offset: int) -> pd.DataFrame:
    frame = frame.rename(columns=schema.rename_source_columns(frame.columns))
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


def passes(frame: pd.DataFrame, *, require_target: bool = True) -> bool:
    """Whether numeric `frame` meets every rule `check` enforces: a fast yes or no.

    Batch scoring parses numbers directly and asks this first; only when the answer is no
    does it run `check`, whose messages explain the problems. Both read the same rules
    from `schema`, so the fast path accepts nothing `check` would reject.
    """
    if _structural_problems(frame, require_target=require_target):
        return False
    for col in schema.COLUMNS:
        if col.name not in frame:
            continue
        values = frame[col.name].to_numpy()
        if values.dtype.kind != "f" and values.dtype.kind not in "iu":
            return False
        values = values.astype("float64", copy=False)
        ok = np.isfinite(values)  # NaN and ±inf, which `check` both refuses
        if col.dtype == "int":
            ok &= values == np.round(values)
        if col.allowed is not None:
            ok &= np.isin(values, col.allowed)
        if col.minimum is not None:
            ok &= values >= col.minimum
        if col.maximum is not None:
            ok &= values <= col.maximum
        if not ok.all():
            return False
    return not _age_mismatch(frame).any()


def check(frame: pd.DataFrame, source: str, *, require_target: bool = True) -> pd.DataFrame:
    """Validate and type `frame`; the index is read as the file's line numbers in errors."""
    problems = _structural_problems(frame, require_target=require_target)
    if problems:
        raise DataValidationError(source, problems)
    parsed, cases = _failure_cases(frame, dataframe_schema(require_target=require_target))
    problems = describe_failures(cases) if len(cases) else []
    problems += _age_problems(parsed)
    if problems:
        raise DataValidationError(source, problems)
    return _typed(parsed)


def split_valid(frame: pd.DataFrame, source: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Typed valid rows and one row per broken rule (line, column, rule, value) of the others.

    For batches to score or monitor: a bad row is reported, not fatal, so one broken record
    does not hide a whole batch. Labels are checked where given (an empty one stays NaN,
    the column then float). A file
    that cannot be read as records at all (missing columns, no rows) still raises.
    """
    problems = _structural_problems(frame, require_target=False)
    if problems:
        raise DataValidationError(source, problems)
    rules = dataframe_schema(require_target=False)
    if schema.TARGET in frame.columns:
        target = schema.by_name()[schema.TARGET]
        # Outcomes arrive later than customers: an empty label is unknown, not an error.
        rules = rules.add_columns(
            {target.name: _column_schema(target, required=True, nullable=True)}
        )
    parsed, cases = _failure_cases(frame, rules)
    whole = cases["index"].isna()
    if whole.any():
        raise DataValidationError(source, describe_failures(cases[whole]))
    failures = pd.DataFrame(
        {
            "line": pd.to_numeric(cases["index"]).astype("int64"),
            "column": cases["column"].astype(str),
            "rule": [
                _rule_text(str(c), str(k))
                for c, k in zip(cases["column"], cases["check"], strict=True)
            ],
            # The value as the file holds it, not as parsed: what a person searches for.
            "value": [
                _value(frame.at[i, c] if c in frame.columns else v)
                for i, c, v in zip(
                    cases["index"], cases["column"], cases["failure_case"], strict=True
                )
            ],
        }
    )
    mismatch = _age_mismatch(parsed)
    ages = pd.DataFrame(
        {
            "line": parsed.index[mismatch].astype("int64"),
            "column": "age",
            "rule": AGE_RULE,
            "value": [
                f"age {a:g}, age_group {g:g}"
                for a, g in zip(
                    parsed.loc[mismatch, "age"], parsed.loc[mismatch, "age_group"], strict=True
                )
            ]
            if mismatch.any()
            else [],
        }
    )
    failures = pd.concat([failures, ages], ignore_index=True)
    failures = failures.sort_values(["line", "column"], kind="stable", ignore_index=True)
    valid = parsed.drop(index=failures["line"].unique())
    return _typed(valid), failures


def _failure_cases(
    frame: pd.DataFrame, rules: pa.DataFrameSchema
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The frame parsed to numbers and every (column, check, index, failure_case) it breaks."""
    from pandera import errors as pandera_errors

    parsed, type_failures = _parse_numbers(frame)
    cases = pd.DataFrame(type_failures, columns=["column", "check", "index", "failure_case"])
    try:
        rules.validate(parsed, lazy=True)
    except pandera_errors.SchemaErrors as exc:
        found = exc.failure_cases[["column", "check", "index", "failure_case"]]
        # A value that is not a number was already reported as such, not also as empty.
        seen = set(zip(cases["column"], cases["index"], strict=True))
        keep = [(c, i) not in seen for c, i in zip(found["column"], found["index"], strict=True)]
        cases = pd.concat([cases, found[keep]], ignore_index=True)
    return parsed, cases


def _typed(parsed: pd.DataFrame) -> pd.DataFrame:
    ordered = [c for c in schema.all_names() if c in parsed.columns]
    typed = parsed[ordered]
    ints = [
        c.name
        for c in schema.COLUMNS
        if c.dtype == "int" and c.name in typed and typed[c.name].notna().all()
    ]
    return typed.astype(dict.fromkeys(ints, "int64"))


def _structural_problems(frame: pd.DataFrame, *, require_target: bool) -> list[str]:
    expected = schema.all_names() if require_target else schema.feature_names()
    problems = []
    missing = [c for c in expected if c not in frame.columns]
    for name in missing:
        col = schema.by_name()[name]
        problems.append(f"column '{name}' (published as '{col.source}') is missing")
    dupes = frame.columns[frame.columns.duplicated()].tolist()
    if dupes:
        problems.append(f"columns appear more than once: {', '.join(map(str, dupes))}")
    if not missing and len(frame) == 0:
        problems.append("no data rows: the file holds a header only")
    return problems


def describe_failures(cases: pd.DataFrame) -> list[str]:
    """One line per (column, rule) with the count and a few offending rows."""
    lines: list[str] = []
    cases = cases.copy()
    cases["column"] = cases["column"].fillna("(table)")
    for (column, check_name), group in cases.groupby(["column", "check"], sort=False, dropna=False):
        rule = _rule_text(str(column), str(check_name))
        rows = group["index"].dropna().drop_duplicates()
        shown = ", ".join(
            f"line {int(i)} ({_value(v)})"
            for i, v in zip(
                rows.head(SHOWN_ROWS),
                group.loc[rows.head(SHOWN_ROWS).index, "failure_case"],
                strict=True,
            )
        )
        more = f" and {len(rows) - SHOWN_ROWS} more" if len(rows) > SHOWN_ROWS else ""
        where = f": {shown}{more}" if shown else ""
        lines.append(f"column '{column}': {rule}: {len(rows) or len(group)} row(s) fail{where}")
    return lines


def _rule_text(column: str, check_name: str) -> str:
    if check_name.startswith("must be"):
        return check_name
    if check_name == "not_nullable":
        return "must not be empty"
    if check_name == "column_in_dataframe":
        return "is missing"
    return f"must be {check_name}"


def _value(value: object) -> str:
    text = (
        "empty" if value is None or (isinstance(value, float) and pd.isna(value)) else repr(value)
    )
    return text if len(text) <= 40 else text[:37] + "..."
