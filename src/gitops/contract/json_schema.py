"""The JSON Schema of one record to score, exported from the contract.

The train stage writes it (`models/input_schema.json`), releases compare it (a change of
its constraints is a major version), the HTTP API validates every request against exactly
this document and its OpenAPI description refers to it. JSON Schema semantics hold on the
wire: an integral 1200.0 is a valid integer, `true` is neither a number nor text.

Only keywords that mean the same in drafts 7 and 2020-12 are used, so any validator reads it.
Dates travel as text in the contract's format; the API parses them after the schema, as the
CSV path does.
"""

from __future__ import annotations

from typing import Any

from gitops.contract.spec import Contract, FieldSpec

DRAFT = "http://json-schema.org/draft-07/schema#"
_TYPES = {"string": "string", "integer": "integer", "number": "number", "boolean": "boolean",
          "date": "string"}  # fmt: skip


def field_schema(field: FieldSpec, *, is_id: bool = False) -> dict[str, Any]:
    c = field.constraints
    types: list[str] = [_TYPES[field.type]]
    if is_id:
        types = ["string", "integer"]  # ids are returned as sent, text or number
    if not field.required:
        types.append("null")
    prop: dict[str, Any] = {"type": types[0] if len(types) == 1 else types}
    description = field.description + (f" Unit: {field.unit}." if field.unit else "")
    if description:
        prop["description"] = description.strip()
    allowed = field.allowed if field.type != "boolean" else None
    if allowed is not None:
        prop["enum"] = [*allowed, *([None] if not field.required else [])]
    if field.type in ("integer", "number") and allowed is None:
        for key in ("minimum", "maximum", "exclusive_minimum", "exclusive_maximum"):
            value = getattr(c, key)
            if value is not None:
                prop[_camel(key)] = value
    if field.type == "string":
        for key, value in (("minLength", c.min_length), ("maxLength", c.max_length),
                           ("pattern", c.pattern)):  # fmt: skip
            if value is not None:
                prop[key] = value if key != "pattern" else f"^(?:{value})$"
    if field.type == "date" and field.format == "default":
        prop["format"] = "date"
    return prop


def record_schema(contract: Contract, *, title: str = "Record") -> dict[str, Any]:
    """One record to score: every field but the label; blanks sent as null or left out."""
    props = {
        name: field_schema(contract.field(name), is_id=name == contract.id)
        for name in contract.input_names
    }
    required = [f.name for f in contract.features if f.required]
    for rule in contract.rules:  # cross-field rules: JSON Schema cannot check them, say them
        for name in rule.fields:
            if name in props:
                said = props[name].get("description", "")
                props[name]["description"] = f"{said} {_rule_text(rule)}".strip()
    head = f"{contract.title}: one record to score" if contract.title else "One record to score"
    rules = " ".join(_rule_text(rule) for rule in contract.rules)
    out: dict[str, Any] = {
        "$schema": DRAFT,
        "title": title,
        "description": f"{head}, by code names. {rules}".strip(),
        "type": "object",
        "properties": props,
        "required": required,
        "additionalProperties": False,
    }
    stated = [rule_schema(rule) for rule in contract.rules if rule.json_schema is not None]
    if stated:
        out["allOf"] = stated
    return out


def rule_schema(rule: Any) -> dict[str, Any]:
    """A rule's JSON Schema form, titled with its name so a failure can be named."""
    return {"title": rule.name, "description": f"{', '.join(rule.fields)}: {rule.message}"} | dict(
        rule.json_schema or {}
    )


def _rule_text(rule: Any) -> str:
    """A rule as the 422 that enforces it words it: its fields, then its message."""
    return (
        f"Rule {rule.name} (checked after the schema, answered 422 naming "
        f"{', '.join(rule.fields)}): {', '.join(rule.fields)}: {rule.message}."
    )


def _camel(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(p.title() for p in rest)


def json_records(frame: Any, contract: Contract) -> list[dict[str, Any]]:
    """Typed records as JSON objects the input schema accepts: what a caller would send.

    Whole numbers as integers, booleans as true/false, dates as text in the field's format,
    blanks as null; the label is left out.
    """
    names = [n for n in contract.input_names if n in frame.columns]
    out: list[dict[str, Any]] = []
    for row in frame[names].itertuples(index=False):
        record: dict[str, Any] = {}
        for name, value in zip(names, row, strict=True):
            field = contract.field(name)
            if value is None or value != value:  # NaN and NaT: blanks
                record[name] = None
            elif field.type == "boolean":
                record[name] = bool(value)
            elif field.type == "integer":
                record[name] = int(value)
            elif field.type == "number":
                record[name] = float(value)
            elif field.type == "date":
                fmt = "%Y-%m-%d" if field.format == "default" else field.format
                record[name] = value.strftime(fmt)
            else:
                record[name] = value if isinstance(value, str) else str(value)
        out.append(record)
    return out
