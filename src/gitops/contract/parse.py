"""From what a file or a request holds to typed values, one column at a time.

Values arrive as text (CSV, read with every column as strings) or already typed (a
frame from the fast CSV reader, the HTTP API, a test). Each field's type says how to read
them; what cannot be read is reported as a (column, rule, line, value) failure and becomes
blank, so constraints and rules then judge only what was read.

Typed values: numbers and integers are float64 (integers become int64 at the end, when no
blank is left), booleans 1.0/0.0, strings Python str, dates datetime64. Missing-value tokens
of the contract become blanks.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from gitops.contract.spec import Contract, FieldSpec

#: (column, rule, index, value as found)
Failure = tuple[str, str, object, object]
#: A number written with thousands separators, as spreadsheets display them.
THOUSANDS = r"[-+]?\d{1,3}(,\d{3})+(\.\d+)?"
THOUSANDS_RULE = "must be a number without thousands separators (write 1234, not 1,234)"


def parse_frame(frame: pd.DataFrame, contract: Contract) -> tuple[pd.DataFrame, list[Failure]]:
    """Every contract field present in `frame`, typed; columns replaced, never changed in place."""
    parsed = frame.copy(deep=False)
    failures: list[Failure] = []
    for field in contract.fields:
        if field.name in frame.columns:
            values, found = parse_column(frame[field.name], field, contract.missing_tokens(field))
            parsed[field.name] = values
            failures += found
    return parsed, failures


def parse_column(
    raw: pd.Series, field: FieldSpec, missing: tuple[str, ...] = ("",)
) -> tuple[pd.Series, list[Failure]]:
    if raw.dtype == object or pd.api.types.is_string_dtype(raw):
        text = raw.astype(object)
        text = text.where(~text.isin(missing) & raw.notna(), np.nan)
    else:
        text = raw
    parser = {
        "integer": _number,
        "number": _number,
        "string": _string,
        "boolean": _boolean,
        "date": _date,
    }[field.type]
    return parser(text, field)


def _fail(raw: pd.Series, mask: pd.Series | np.ndarray, name: str, rule: str) -> list[Failure]:
    index = raw.index[np.asarray(mask, dtype=bool)]
    return [(name, rule, i, raw[i]) for i in index]


def _number(raw: pd.Series, field: FieldSpec) -> tuple[pd.Series, list[Failure]]:
    failures: list[Failure] = []
    if pd.api.types.is_bool_dtype(raw):
        values = pd.Series(np.nan, index=raw.index)
        failures += _fail(raw, raw.notna(), field.name, "must be a number")
    elif pd.api.types.is_numeric_dtype(raw):
        values = raw.astype("float64")
    elif (fast := _clean_floats(raw)) is not None:
        values = fast
    else:
        text = _stripped_text(raw)
        values = pd.to_numeric(text, errors="coerce").astype("float64")
        # Anything that is not text (a JSON true, a list) is no number either.
        not_number = raw.notna() & values.isna()
        # "1,234" from a spreadsheet's display format: said as such, since the fix differs.
        grouped = not_number & text.astype("string").str.fullmatch(THOUSANDS).fillna(False)
        failures += _fail(raw, not_number & ~grouped, field.name, "must be a number")
        failures += _fail(raw, grouped, field.name, THOUSANDS_RULE)
    infinite = values.abs().eq(float("inf"))
    failures += _fail(raw, infinite, field.name, "must be a finite number")
    values = values.mask(infinite)
    if field.type == "integer":
        fractional = values.notna() & (values != values.round())
        failures += _fail(raw, fractional, field.name, "must be a whole number")
        values = values.mask(fractional)
    return values.rename(raw.name), failures


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


def _stripped_text(raw: pd.Series) -> pd.Series:
    """Text values without surrounding blanks; anything that is not text becomes blank."""
    if pd.api.types.infer_dtype(raw, skipna=True) in ("string", "empty"):
        text = raw.astype("string").str.strip()
    else:  # mixed values, as a JSON request may send: only the text is kept
        text = raw.map(lambda v: v.strip() if isinstance(v, str) else None).astype("string")
    return text.astype(object).where(text.notna(), np.nan)


def _string(raw: pd.Series, field: FieldSpec) -> tuple[pd.Series, list[Failure]]:
    if pd.api.types.infer_dtype(raw, skipna=True) in ("string", "empty"):
        failures: list[Failure] = []
    else:
        wrong = raw.notna() & ~raw.map(lambda v: isinstance(v, str))
        failures = _fail(raw, wrong, field.name, "must be text")
    values = _stripped_text(raw)
    values = values.where(values.ne("") & values.notna(), np.nan)
    return values.rename(raw.name), failures


def _boolean(raw: pd.Series, field: FieldSpec) -> tuple[pd.Series, list[Failure]]:
    truth = dict.fromkeys(field.true_values, 1.0) | dict.fromkeys(field.false_values, 0.0)
    rule = f"must be {field.rule()}"
    if pd.api.types.is_bool_dtype(raw):
        return raw.astype("float64").rename(raw.name), []
    if pd.api.types.is_numeric_dtype(raw):  # typed already: 1 and 0
        values = raw.astype("float64")
        bad = values.notna() & ~values.isin([0.0, 1.0])
        return values.mask(bad).rename(raw.name), _fail(raw, bad, field.name, rule)

    def read(v: object) -> float | None:
        if v is None or (isinstance(v, float) and np.isnan(v)):
            return np.nan
        if isinstance(v, bool):
            return float(v)
        if isinstance(v, str):
            return truth.get(v.strip())
        return None

    values = raw.map(read)
    bad = values.isna() & raw.notna()
    return values.astype("float64").rename(raw.name), _fail(raw, bad, field.name, rule)


def _date(raw: pd.Series, field: FieldSpec) -> tuple[pd.Series, list[Failure]]:
    if pd.api.types.is_datetime64_any_dtype(raw):
        return raw.rename(raw.name), []
    fmt = "%Y-%m-%d" if field.format == "default" else field.format
    values = pd.to_datetime(_stripped_text(raw), format=fmt, errors="coerce")
    bad = values.isna() & raw.notna()
    shown = "YYYY-MM-DD" if field.format == "default" else field.format
    return values.rename(raw.name), _fail(raw, bad, field.name, f"must be a date ({shown})")
