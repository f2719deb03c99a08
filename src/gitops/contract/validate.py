"""Checking records against the contract, with errors a person can act on.

Every failure names the file, the column, the rule broken and a few offending rows (as
line numbers of the file, header = line 1), so a bad export is fixed at the source.

Three entry points share one set of rules (parse, the checks of `gitops.contract.checks`,
the rule hooks): `check` refuses a file that breaks any rule (training data), `split_valid`
keeps the valid rows and lists the others (batches to monitor), and `typed_if_valid` is the
fast yes-or-no of batch scoring, which skips pandera and builds no messages.

The label is encoded here, once: 1 for the contract's positive class, 0 for any other
allowed value, so no later step depends on how the classes sort.
"""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from gitops.contract.checks import all_checks
from gitops.contract.parse import parse_frame
from gitops.contract.spec import Contract, RuleSpec

if TYPE_CHECKING:  # pandera is imported when first needed: the scoring fast path never is
    import pandera.pandas as pa

#: How many offending rows an error message quotes per rule.
SHOWN_ROWS = 5
FAILURE_COLUMNS = ["column", "check", "index", "failure_case"]


class DataValidationError(ValueError):
    """Raised when records break the contract; `problems` holds one line per broken rule."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        super().__init__(f"{source}: invalid data\n" + "\n".join(f"  - {p}" for p in problems))


def dataframe_schema(contract: Contract, *, nullable_label: bool = False) -> pa.DataFrameSchema:
    """The pandera schema of typed records: blanks where allowed, every field's checks."""
    import pandera.pandas as pa

    checks = all_checks(contract)
    columns = {}
    for field in contract.fields:
        nullable = not field.required or (nullable_label and field.name == contract.label)
        columns[field.name] = pa.Column(
            checks=[pa.Check(c.test, error=c.rule, name=c.rule) for c in checks[field.name]],
            nullable=nullable,
            required=False,  # presence is checked first, with the published header named
            coerce=False,
        )
    return pa.DataFrameSchema(columns, strict=False)


def structural_problems(frame: pd.DataFrame, contract: Contract, *, with_label: bool) -> list[str]:
    problems = []
    missing = [c for c in contract.required_columns(with_label=with_label) if c not in frame]
    unexpected = [str(c) for c in frame.columns if c not in contract.by_name]
    for name in missing:
        field = contract.field(name)
        published = (
            f" (published as '{field.title}')" if field.title and field.title != name else ""
        )
        guess = _close_match(field.title or name, name, unexpected)
        hint = (
            f"; unexpected column '{guess}' — did you mean '{field.title or name}'?"
            if guess
            else ""
        )
        problems.append(f"line 1 (header): column '{name}'{published} is missing{hint}")
    dupes = frame.columns[frame.columns.duplicated()].tolist()
    if dupes:
        problems.append(
            f"line 1 (header): columns appear more than once: {', '.join(map(str, dupes))}"
        )
    if not missing and len(frame) == 0:
        problems.append("line 2: no data rows: the file holds a header only")
    return problems


def _close_match(title: str, name: str, candidates: list[str]) -> str | None:
    """The unexpected header most like a missing field's title or name (a rename, a typo)."""
    folded = {" ".join(c.split()).lower(): c for c in candidates}
    for wanted in (title, name):
        key = " ".join(wanted.replace("_", " ").split()).lower()
        found = difflib.get_close_matches(key, list(folded), n=1, cutoff=0.75)
        if found:
            return folded[found[0]]
    return None


def check(
    frame: pd.DataFrame, contract: Contract, source: str, *, with_label: bool = True
) -> pd.DataFrame:
    """Validate and type `frame`; the index is read as the file's line numbers in errors."""
    problems = structural_problems(frame, contract, with_label=with_label)
    if problems:
        raise DataValidationError(source, problems)
    problems = blank_problems(frame, contract)
    parsed, cases = _failure_cases(frame, contract, nullable_label=False)
    if problems and len(cases):  # said once per empty line or column, not once per cell
        empty = set(blank_lines(frame))
        columns = set(blank_columns(frame, contract))
        listed = cases["index"].isin(empty) | (
            cases["column"].isin(columns) & cases["check"].eq("not_nullable")
        )
        cases = cases[~listed]
    problems += describe_failures(cases) if len(cases) else []
    for rule in contract.rules:
        problems += _rule_problems(parsed, rule)
    if problems:
        raise DataValidationError(source, problems)
    return typed(parsed, contract)


def blank_lines(frame: pd.DataFrame) -> list[int]:
    """Lines without a single value (an empty line, or only delimiters) among the records."""
    blank = (frame.isna() | frame.eq("")).all(axis=1)
    return [int(i) for i in frame.index[blank.to_numpy()]]


def blank_columns(frame: pd.DataFrame, contract: Contract) -> list[str]:
    """Required fields blank on every line: a column exported empty, not a few gaps."""
    rows = ~frame.index.isin(blank_lines(frame))
    out = []
    for field in contract.fields:
        if field.required and field.name in frame and rows.any():
            values = frame.loc[rows, field.name]
            if (values.isna() | values.astype(str).str.strip().eq("")).all():
                out.append(field.name)
    return out


def blank_problems(frame: pd.DataFrame, contract: Contract) -> list[str]:
    """Empty lines and empty required columns, each in one line instead of one per cell."""
    problems = []
    lines = blank_lines(frame)
    if lines:
        shown = ", ".join(map(str, lines[:SHOWN_ROWS]))
        more = f" and {len(lines) - SHOWN_ROWS} more" if len(lines) > SHOWN_ROWS else ""
        problems.append(
            f"line {shown}{more}: empty line(s) between records (every value blank): "
            f"a record must not be empty; remove the line(s)"
        )
    rows = len(frame) - len(lines)
    for name in blank_columns(frame, contract):
        field = contract.field(name)
        published = (
            f" (published as '{field.title}')" if field.title and field.title != name else ""
        )
        problems.append(
            f"column '{name}'{published}: must not be empty: blank on every line "
            f"({rows} row(s), lines 2-{int(frame.index.max())}): was the column exported empty?"
        )
    return problems


def split_valid(
    frame: pd.DataFrame, contract: Contract, source: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Typed valid rows and one row per broken rule (line, column, rule, value) of the others.

    For batches to score or monitor: a bad row is reported, not fatal, so one broken record
    does not hide a whole batch. Labels are checked where given; an empty one is unknown
    (outcomes arrive later than customers). A file that cannot be read as records at all
    (missing columns, no rows) still raises.
    """
    problems = structural_problems(frame, contract, with_label=False)
    if problems:
        raise DataValidationError(source, problems)
    parsed, cases = _failure_cases(frame, contract, nullable_label=True)
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
    parts = [failures] + [_rule_rows(parsed, rule) for rule in contract.rules]
    failures = pd.concat([p for p in parts if len(p)] or [failures], ignore_index=True)
    failures = failures.sort_values(["line", "column"], kind="stable", ignore_index=True)
    valid = parsed.drop(index=failures["line"].unique())
    return typed(valid, contract), failures


def typed_if_valid(frame: pd.DataFrame, contract: Contract) -> pd.DataFrame | None:
    """The typed records when every rule holds for every row, else None: a fast yes or no.

    Batch scoring asks this first and runs `check` only when the answer is no, for the
    messages. Both use the same parse, checks and hooks, so the fast path accepts nothing
    `check` would reject.
    """
    if structural_problems(frame, contract, with_label=False):
        return None
    parsed, failures = parse_frame(frame, contract)
    if failures:
        return None
    for name, field_checks in all_checks(contract).items():
        if name not in parsed:
            continue
        values = parsed[name]
        field = contract.field(name)
        blank_ok = not field.required or name == contract.label
        if not blank_ok and values.isna().any():
            return None
        if any(c.failing(values).any() for c in field_checks):
            return None
    if any(rule.offending(parsed).any() for rule in contract.rules):
        return None
    return typed(parsed, contract)


def typed(parsed: pd.DataFrame, contract: Contract) -> pd.DataFrame:
    """Contract columns in contract order; whole numbers as int64; the label as 1/0."""
    ordered = [c for c in contract.names if c in parsed.columns]
    out = parsed[ordered].copy()
    label = contract.label
    if label in out:
        raw = out[label]
        out[label] = np.where(raw.isna(), np.nan, _is_positive(raw, contract)).astype("float64")
    whole = [
        f.name
        for f in contract.fields
        if f.name in out
        and (f.type in ("integer", "boolean") or f.name == label)
        and out[f.name].notna().all()
    ]
    return out.astype(dict.fromkeys(whole, "int64"))


def _is_positive(raw: pd.Series, contract: Contract) -> np.ndarray:
    positive = contract.positive_code()
    if contract.label_field.type in ("integer", "number", "boolean"):
        return (pd.to_numeric(raw, errors="coerce") == float(positive)).to_numpy()
    return (raw == positive).to_numpy()


def as_source(frame: pd.DataFrame, contract: Contract) -> pd.DataFrame:
    """Typed records as the source writes them: the label's classes and booleans' tokens.

    For files made from typed data (a held-out split, synthetic records, a demo batch), so
    they read back through validation like an export.
    """
    out = frame.copy()
    for field in contract.fields:
        if field.name not in out or field.name == contract.label:
            continue
        if field.type == "boolean":
            tokens = {1: field.true_values[0], 0: field.false_values[0]}
            out[field.name] = out[field.name].map(tokens).where(out[field.name].notna())
    label, negatives = contract.label, contract.negatives()
    if label not in out or len(negatives) != 1:
        return out
    field = contract.label_field
    positive, negative = contract.roles.positive, negatives[0]
    if field.type == "boolean":
        yes, no = field.true_values[0], field.false_values[0]
        positive, negative = (yes, no) if contract.roles.positive else (no, yes)
    encoded = out[label]
    out[label] = encoded.map({1: positive, 0: negative}).where(encoded.notna())
    return out


def _failure_cases(
    frame: pd.DataFrame, contract: Contract, *, nullable_label: bool
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The frame parsed and every (column, check, index, failure_case) it breaks."""
    from pandera import errors as pandera_errors

    parsed, type_failures = parse_frame(frame, contract)
    cases = pd.DataFrame(type_failures, columns=FAILURE_COLUMNS)
    try:
        dataframe_schema(contract, nullable_label=nullable_label).validate(parsed, lazy=True)
    except pandera_errors.SchemaErrors as exc:
        found = exc.failure_cases[FAILURE_COLUMNS]
        # A value that could not be read was reported as such, not also as empty.
        seen = set(zip(cases["column"], cases["index"], strict=True))
        keep = [(c, i) not in seen for c, i in zip(found["column"], found["index"], strict=True)]
        cases = pd.concat([cases, found[keep]], ignore_index=True) if any(keep) else cases
    return parsed, cases


def _rule_rows(parsed: pd.DataFrame, rule: RuleSpec) -> pd.DataFrame:
    bad = rule.offending(parsed)
    rows = parsed.index[bad.to_numpy()]
    return pd.DataFrame(
        {
            "line": rows.astype("int64"),
            "column": rule.fields[0],
            "rule": rule.message,
            "value": [_fields_text(parsed, i, rule) for i in rows],
        }
    )


def _rule_problems(parsed: pd.DataFrame, rule: RuleSpec) -> list[str]:
    bad = rule.offending(parsed)
    if not bad.any():
        return []
    rows = parsed.index[bad.to_numpy()]
    shown = ", ".join(f"line {i} ({_fields_text(parsed, i, rule)})" for i in rows[:SHOWN_ROWS])
    more = f" and {len(rows) - SHOWN_ROWS} more" if len(rows) > SHOWN_ROWS else ""
    return [f"column '{rule.fields[0]}': {rule.message}: {len(rows)} row(s) fail: {shown}{more}"]


def _fields_text(frame: pd.DataFrame, row: Any, rule: RuleSpec) -> str:
    return ", ".join(f"{f} {_plain(frame.at[row, f])}" for f in rule.fields)


def _plain(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return f"{value:g}"
    return str(value)


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
    if check_name.startswith("must"):
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
