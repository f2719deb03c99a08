"""The data card's column table, generated from the contract so the two never disagree.

The data card (params.yaml data.card) holds the table between two marker lines; the prose
around it is the team's. `python -m gitops.contract.card` rewrites the table, `--check`
fails when it is out of date (a test runs the check).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from gitops.contract import load
from gitops.contract.spec import Contract, FieldSpec
from gitops.files import write_text
from gitops.settings import Settings, SettingsError

START, END = "<!-- contract:columns:start -->", "<!-- contract:columns:end -->"


def _role(contract: Contract, field: FieldSpec) -> str:
    roles = contract.roles
    if field.name == roles.label:
        return f"label (positive: {roles.positive})"
    if field.name == roles.id:
        return "id"
    if field.name in roles.info:
        return "info"
    return "feature" + (", value" if field.name == roles.value else "")


def _meaning(field: FieldSpec) -> str:
    text = field.description.rstrip(".")
    if field.labels:
        text += "; " + ", ".join(f"{v} {label}" for v, label in field.labels.items())
    if field.unit:
        text += f" ({field.unit})"
    return text


def _rule(field: FieldSpec) -> str:
    rule = field.rule()
    return rule + ("" if field.required else "; may be blank")


def column_table(contract: Contract) -> str:
    """Markdown: one row per field, in the contract's order."""
    rows = [
        "| code name | published header | type | role | meaning | rule |",
        "|---|---|---|---|---|---|",
    ]
    for f in contract.fields:
        kind = f.type + (f", {f.kind}" if f.kind in ("categorical", "ordinal") else "")
        cells = [f"`{f.name}`", f"`{f.header}`", kind, _role(contract, f), _meaning(f), _rule(f)]
        rows.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(rows)


def updated(text: str, contract: Contract) -> str:
    """`text` with the table between the markers replaced; an error when they are missing."""
    head, found, rest = text.partition(START)
    if not found or END not in rest:
        raise ValueError(f"the data card needs the marker lines {START} and {END}")
    return f"{head}{START}\n{column_table(contract)}\n{END}{rest.partition(END)[2]}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--check", action="store_true", help="fail when the table is stale")
    args = parser.parse_args(argv)
    try:
        settings = Settings.load(args.params)
        if not settings.data.card:
            raise ValueError(f"{args.params}: data.card names no data card")
        card = Path(settings.data.card)
        text = card.read_text(encoding="utf-8")
        new = updated(text, load.load(settings.data.contract))
    except (SettingsError, load.ContractError, OSError, ValueError) as exc:
        print(f"card: {exc}", file=sys.stderr)
        return 2
    if args.check:
        if new != text:
            print(f"card: {card}'s column table differs from the contract; run "
                  "`python -m gitops.contract.card`", file=sys.stderr)  # fmt: skip
            return 1
        print(f"card: {card} matches the contract")
        return 0
    if new != text:
        write_text(card, new)
    print(f"card: {card} {'updated' if new != text else 'already matches the contract'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
