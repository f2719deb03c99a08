"""Whether an input schema change breaks callers: constraints do, documentation does not.

Schemas are compared as parsed JSON, so key order and indentation never count, and the
documentation keywords are dropped before comparing, so rewording a field's description is
not a breaking change for the application that calls the model.
"""

from __future__ import annotations

import json
from typing import Any

#: JSON Schema keywords that document a field without constraining it.
ANNOTATIONS = frozenset({"title", "description", "examples", "$comment"})
#: Keywords whose keys are names chosen by the schema author, not keywords.
NAMED_SUBSCHEMAS = frozenset({"properties", "patternProperties", "$defs", "definitions"})


def _strip_annotations(node: Any) -> Any:
    """The schema without documentation keywords (property names are kept, whatever they are)."""
    if isinstance(node, list):
        return [_strip_annotations(v) for v in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in NAMED_SUBSCHEMAS and isinstance(value, dict):
            out[key] = {name: _strip_annotations(sub) for name, sub in value.items()}
        elif key not in ANNOTATIONS:
            out[key] = _strip_annotations(value)
    return out


def schema_changes(old: str | None, new: str, source: str) -> tuple[bool, bool, str]:
    """(contract changed, wording changed, summary) between two JSON Schema texts.

    Only constraints count as a contract change; titles and descriptions are wording.
    """
    try:
        new_doc = json.loads(new)
    except json.JSONDecodeError as err:
        raise ValueError(f"{source}: not valid JSON ({err})") from None
    if old is None:
        return True, False, f"{source} is new"
    try:
        old_doc = json.loads(old)
    except json.JSONDecodeError:
        return True, False, f"{source} was not valid JSON in the previous release"
    if old_doc == new_doc:
        return False, False, ""
    if _strip_annotations(old_doc) == _strip_annotations(new_doc):
        return False, True, f"{source}: descriptions changed, constraints did not"
    return True, False, _describe_fields(old_doc, new_doc, source)


def _describe_fields(old: Any, new: Any, source: str) -> str:
    old_props = old.get("properties") if isinstance(old, dict) else None
    new_props = new.get("properties") if isinstance(new, dict) else None
    if not isinstance(old_props, dict) or not isinstance(new_props, dict):
        return f"{source} changed"
    parts = []
    added = sorted(set(new_props) - set(old_props))
    removed = sorted(set(old_props) - set(new_props))
    changed = sorted(
        name
        for name in set(old_props) & set(new_props)
        if _strip_annotations(old_props[name]) != _strip_annotations(new_props[name])
    )
    for label, names in (("added", added), ("removed", removed), ("changed", changed)):
        if names:
            parts.append(f"{label} {', '.join(names)}")
    if set(old.get("required", [])) != set(new.get("required", [])):
        parts.append("required fields changed")
    rest = {k: v for k, v in old.items() if k not in ("properties", "required")}
    if _strip_annotations(rest) != _strip_annotations(
        {k: v for k, v in new.items() if k not in ("properties", "required")}
    ):
        parts.append("top-level rules changed")
    return f"{source} changed: {'; '.join(parts) or 'constraints differ'}"
