"""`make contract`: a draft data contract from a CSV export, for a person to review.

Reads the export as text and proposes, per column: a code name (the header in snake case),
a type (boolean when the values are a yes/no pair, integer, number, ISO date, else text),
categories for columns with few distinct values, whether blanks occur, observed ranges
widened to plausibility bounds, and `skewed` for counts and amounts that span orders of
magnitude. The label, its positive class and the id column come from the command line.

pandera can infer a schema too, but from a typed frame: it neither reads text into types
nor proposes categories for text or bounds beyond the observed range, which is most of what
a first contract needs, so the rules here are simple and written down. What a draft cannot
know (units, descriptions, which columns are info, cross-field rules, the value column,
whether categories are ordered) is left for the review, marked TODO.
"""

from __future__ import annotations

import argparse
import math
import re
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from gitops.contract.load import ContractError, from_mapping
from gitops.contract.reading import CSV_OPTIONS, csv_errors
from gitops.contract.validate import DataValidationError
from gitops.files import write_text
from gitops.settings import Settings, SettingsError

#: Distinct values up to which a column is drafted as categories (integers, text).
MAX_INTEGER_CATEGORIES = 10
MAX_TEXT_CATEGORIES = 30
#: Yes/no pairs a boolean column may use (as written, case kept).
BOOLEAN_PAIRS = (("true", "false"), ("True", "False"), ("TRUE", "FALSE"), ("yes", "no"),
                 ("Yes", "No"), ("YES", "NO"), ("y", "n"), ("Y", "N"))  # fmt: skip
#: Tokens exports write for "unknown"; taken as blanks when the rest of a column is numbers.
MISSING_TOKENS = ("NA", "N/A", "n/a", "NaN", "null", "NULL", "None", "-", "?")
_INT = re.compile(r"^[+-]?\d+$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def code_name(header: str, taken: set[str]) -> str:
    """`Call  Failure` -> `call_failure`; unique among the names already taken."""
    base = re.sub(r"[^0-9a-z]+", "_", header.strip().lower()).strip("_") or "column"
    if base[0].isdigit():
        base = f"c_{base}"
    name, n = base, 2
    while name in taken:
        name, n = f"{base}_{n}", n + 1
    taken.add(name)
    return name


def plausible_maximum(observed: float) -> float:
    """Ten times the largest value seen, rounded up to 1, 2 or 5 times a power of ten."""
    if observed <= 0:
        return 1.0
    target = observed * 10
    power = 10 ** math.floor(math.log10(target))
    for step in (1, 2, 5, 10):
        if step * power >= target:
            return float(step * power)
    return float(10 * power)


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else float(value)


def draft_field(header: str, name: str, values: pd.Series) -> dict[str, Any]:
    """One field from a column's text values (blanks are NaN)."""
    seen = values.dropna().map(str.strip)
    seen = seen[seen != ""]
    field: dict[str, Any] = {"name": name, "title": header}
    tokens = sorted(set(seen) & set(MISSING_TOKENS))
    rest = seen[~seen.isin(tokens)]
    if tokens and len(rest) and pd.to_numeric(rest, errors="coerce").notna().all():
        field["missingValues"] = ["", *tokens]  # numbers with a token for unknown
        seen = rest
    required = len(seen) == len(values)
    distinct = sorted(set(seen))
    pair = next((p for p in BOOLEAN_PAIRS if set(distinct) and set(distinct) <= set(p)), None)
    if pair is not None:
        field |= {"type": "boolean", "trueValues": [pair[0]], "falseValues": [pair[1]]}
    elif len(seen) and seen.map(lambda v: bool(_INT.match(v))).all():
        numbers = pd.to_numeric(seen)
        if len(distinct) <= MAX_INTEGER_CATEGORIES:
            field |= {"type": "integer", "categories": sorted(int(v) for v in numbers.unique())}
        else:
            field |= {"type": "integer", **_range(numbers)}
    elif len(seen) and pd.to_numeric(seen, errors="coerce").notna().all():
        field |= {"type": "number", **_range(pd.to_numeric(seen))}
    elif len(seen) and seen.map(lambda v: bool(_DATE.match(v))).all():
        field |= {"type": "date"}
    elif len(distinct) <= MAX_TEXT_CATEGORIES:
        field |= {"type": "string", "categories": distinct}
    else:
        longest = int(seen.map(len).max()) if len(seen) else 1
        field |= {"type": "string", "constraints": {"maxLength": max(10, 2 * longest)}}
    field["description"] = "TODO: what this column means."
    constraints = field.pop("constraints", {})
    field["constraints"] = {"required": required, **constraints}
    return field


def _range(numbers: pd.Series) -> dict[str, Any]:
    low, high = float(numbers.min()), float(numbers.max())
    out: dict[str, Any] = {}
    median = float(numbers.median())
    if low >= 0 and high > 10 * max(median, 1.0):
        out["skewed"] = True  # spans orders of magnitude: a count or an amount
    out["constraints"] = {
        "minimum": 0 if low >= 0 else _number(math.floor(low)),
        "maximum": _number(plausible_maximum(high)) if high > 0 else 1,
    }
    return out


def draft(
    frame: pd.DataFrame, *, label: str, positive: str, id_column: str | None = None
) -> dict[str, Any]:
    """A contract mapping for the text frame `frame` (published headers as columns)."""
    taken: set[str] = set()
    fields = [draft_field(str(h), code_name(str(h), taken), frame[h]) for h in frame.columns]

    def find(column: str, what: str) -> dict[str, Any]:
        folded = " ".join(column.split()).lower()
        for f in fields:
            if folded in (" ".join(f["title"].split()).lower(), f["name"]):
                return f
        raise ValueError(f"{what} '{column}' is not a column of the file")

    label_field = find(label, "LABEL")
    allowed = label_field.get("categories")
    if label_field["type"] == "boolean":
        positive_value: Any = positive in label_field["trueValues"]
    elif allowed is None:
        distinct = frame[label_field["title"]].nunique()
        raise ValueError(f"LABEL '{label}' has {distinct} distinct values: a label takes few")
    else:
        positive_value = int(positive) if label_field["type"] == "integer" else positive
        if positive_value not in allowed:
            raise ValueError(f"POSITIVE '{positive}' is not a value of '{label}' ({allowed})")
    roles: dict[str, Any] = {"label": label_field["name"], "positive": positive_value}
    if id_column:
        id_field = find(id_column, "ID")
        id_field.pop("categories", None)
        id_field["type"] = "string"
        id_field["constraints"] = {"required": False, "maxLength": 200}
        roles["id"] = id_field["name"]
    dates = [f["name"] for f in fields if f["type"] == "date" and f["name"] != roles.get("id")]
    if dates:
        roles["info"] = dates  # dates are no feature by default
    return {
        "name": "records",
        "title": "TODO: what the export is",
        "missingValues": [""],
        "fields": fields,
        "roles": roles,
    }


HEADER = """\
# A draft data contract, written by `make contract` from {source}. Review it before use:
# - names: the code names downstream (snake case of the headers); rename freely,
# - types and categories: guessed from the values seen; ordered ones need categoriesOrdered,
# - maximum: ten times the largest value seen, rounded up; write down why a bound is right,
# - descriptions and units (TODO), the value column (roles.value), info columns, rules.
# Format: docs/contract.md.
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input", required=True, help="a CSV export")
    parser.add_argument("--label", required=True, help="the column to predict")
    parser.add_argument("--positive", required=True, help="the label's positive class")
    parser.add_argument("--id", help="the record id column, if any")
    parser.add_argument("--output", help="default: params.yaml data.contract")
    parser.add_argument("--force", action="store_true", help="replace an existing contract")
    parser.add_argument("--params", default="params.yaml")
    args = parser.parse_args(argv)
    try:
        output = Path(args.output or Settings.load(args.params).data.contract)
        if output.exists() and not args.force:
            raise ValueError(f"{output} exists; pass FORCE=1 (--force) to replace it, or OUTPUT=")
        path = Path(args.input)
        with csv_errors(path):
            frame = pd.read_csv(path, dtype=str, **CSV_OPTIONS, na_values=[""])
        mapping = draft(frame, label=args.label, positive=args.positive, id_column=args.id)
        from_mapping(mapping, str(output), resolve_hooks=False)  # the draft is a valid contract
    except (SettingsError, ContractError, DataValidationError, ValueError) as exc:
        print(f"contract: {exc}", file=sys.stderr)
        return 2
    text = HEADER.format(source=path.name) + yaml.safe_dump(
        mapping, sort_keys=False, allow_unicode=True, width=100
    )
    write_text(output, text)
    print(f"contract: wrote {output} ({len(mapping['fields'])} fields); review it, then `make run`")
    return 0


if __name__ == "__main__":
    sys.exit(main())
