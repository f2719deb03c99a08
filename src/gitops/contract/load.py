"""Reading a contract file and checking the contract itself before anything relies on it.

A contract with a typo would otherwise surface as a puzzling validation error on good data,
so the loader refuses it up front, naming the key: unknown keys, a role naming a field that
does not exist, a positive class the label cannot take, a constraint the type cannot have,
a rule hook that does not import.

Rule hooks are the one place the machinery reaches into the model package: by the dotted
name the contract gives (`churn.rules:age_matches_group`), imported with importlib.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from gitops import yamltext
from gitops.contract.spec import Contract, FieldSpec


class ContractError(ValueError):
    """The contract file is unreadable or contradicts itself; the message names the key."""


def load(path: str | Path, *, resolve_hooks: bool = True) -> Contract:
    """The contract at `path`, checked, its rule hooks imported."""
    path = Path(path)
    if not path.is_file():
        raise ContractError(f"{path}: contract file not found (params.yaml data.contract)")
    try:
        data = yamltext.load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ContractError(f"{path}: not valid YAML ({exc})") from None
    return from_mapping(data, str(path), resolve_hooks=resolve_hooks)


def from_mapping(data: Any, source: str, *, resolve_hooks: bool = True) -> Contract:
    if not isinstance(data, dict):
        raise ContractError(f"{source}: expected a mapping with 'fields' and 'roles'")
    try:
        contract = Contract.model_validate({**data, "source": source})
    except ValidationError as exc:
        raise ContractError(_describe(exc, source, data)) from None
    problems = problems_of(contract)
    if problems:
        raise ContractError("\n".join(f"{source}: {p}" for p in problems))
    if resolve_hooks:
        rules = tuple(
            r.model_copy(update={"hook": import_hook(r.check, f"{source}: rules.{r.name}.check")})
            for r in contract.rules
        )
        contract = contract.model_copy(update={"rules": rules})
    return contract


def import_hook(dotted: str, where: str) -> Callable[..., Any]:
    """`package.module:function`, imported; an error that says what failed otherwise."""
    module_name, _, attr = dotted.partition(":")
    if not module_name or not attr:
        raise ContractError(f"{where}: '{dotted}' is not of the form package.module:function")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ContractError(f"{where}: cannot import {module_name} ({exc})") from None
    hook = getattr(module, attr, None)
    if not callable(hook):
        raise ContractError(f"{where}: {module_name} has no function '{attr}'")
    return hook  # type: ignore[no-any-return]


def problems_of(contract: Contract) -> list[str]:
    """Everything wrong with a parsed contract, one line per problem, key named."""
    out: list[str] = []
    names = [f.name for f in contract.fields]
    out += [
        f"fields: '{n}' appears more than once"
        for n in sorted({n for n in names if names.count(n) > 1})
    ]
    headers = [" ".join(f.header.split()).lower() for f in contract.fields]
    twice = sorted({h for h in headers if headers.count(h) > 1})
    out += [f"fields: the title '{h}' appears more than once" for h in twice]
    for i, field in enumerate(contract.fields):
        out += [f"fields[{i}] ({field.name}).{p}" for p in _field_problems(field)]
    out += _role_problems(contract)
    for i, rule in enumerate(contract.rules):
        unknown = [f for f in rule.fields if f not in contract.by_name]
        if unknown:
            out.append(f"rules[{i}] ({rule.name}).fields: unknown field(s) {', '.join(unknown)}")
    if not contract.features:
        out.append("roles: every field has a role; no field is left to be a feature")
    return out


_VALUE_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "date": (str,),
}


def _typed_ok(field: FieldSpec, value: Any) -> bool:
    types = _VALUE_TYPES.get(field.type, ())
    return isinstance(value, types) and not isinstance(value, bool)


def _field_problems(field: FieldSpec) -> list[str]:
    out: list[str] = []
    c = field.constraints
    if field.categories is not None:
        if field.type in ("boolean", "date"):
            out.append(f"categories: a {field.type} field cannot list categories")
        elif not field.categories:
            out.append("categories: empty")
        bad = [c.value for c in field.categories if not _typed_ok(field, c.value)]
        if bad and field.type not in ("boolean", "date"):
            out.append(f"categories: {bad[0]!r} is not a {field.type}")
        values = [c.value for c in field.categories]
        if len(set(map(repr, values))) != len(values):
            out.append("categories: a value appears more than once")
    if field.categories_ordered and field.categories is None:
        out.append("categoriesOrdered: needs categories")
    if c.enum is not None and field.categories is not None:
        out.append("constraints.enum: use either categories or enum, not both")
    if c.enum is not None and any(not _typed_ok(field, v) for v in c.enum):
        out.append(f"constraints.enum: every value must be a {field.type}")
    numeric = field.type in ("integer", "number")
    for key in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        value = getattr(c, re.sub(r"([A-Z])", r"_\1", key).lower())
        if value is None:
            continue
        if field.type == "date":
            if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
                out.append(f"constraints.{key}: a date field takes an ISO date (YYYY-MM-DD)")
        elif not numeric or isinstance(value, str):
            out.append(f"constraints.{key}: only number, integer and date fields have ranges")
    lengths = (("minLength", c.min_length), ("maxLength", c.max_length), ("pattern", c.pattern))
    for key, value in lengths:
        if value is not None and field.type != "string":
            out.append(f"constraints.{key}: only string fields take {key}")
    if c.pattern is not None:
        try:
            re.compile(c.pattern)
        except re.error as exc:
            out.append(f"constraints.pattern: not a regular expression ({exc})")
    if field.skewed and not numeric:
        out.append("skewed: only number and integer fields can be skewed")
    if field.type == "boolean" and set(field.true_values) & set(field.false_values):
        out.append("trueValues/falseValues: a token cannot be both")
    if field.type == "date" and field.format not in ("default", "any") and "%" not in field.format:
        out.append(f"format: '{field.format}' is neither 'default' nor a strptime pattern")
    if field.type == "date" and field.format == "any":
        out.append("format: 'any' dates are not supported; give a strptime pattern")
    if field.type != "date" and field.format != "default":
        out.append("format: only date fields take a format here")
    return out


def _role_problems(contract: Contract) -> list[str]:
    roles, fields = contract.roles, contract.by_name
    out: list[str] = []
    named = {"id": roles.id, "label": roles.label, "value": roles.value}
    for key, name in named.items():
        if name is not None and name not in fields:
            out.append(f"roles.{key}: no field is named '{name}'")
    out += [f"roles.info: no field is named '{n}'" for n in roles.info if n not in fields]
    if out:
        return out
    label = fields[roles.label]
    allowed = label.allowed
    if allowed is None:
        out.append(
            f"roles.label: field '{label.name}' needs categories, an enum or type boolean, so "
            "that values other than the positive class are checked"
        )
    elif label.type == "boolean":
        if not isinstance(roles.positive, bool):
            out.append(
                "roles.positive: the label is boolean, so the positive class is true or false"
            )
    elif not any(_typed_ok(label, roles.positive) and v == roles.positive for v in allowed):
        shown = ", ".join(map(repr, allowed))
        out.append(f"roles.positive: {roles.positive!r} is not a value of '{label.name}' ({shown})")
    if allowed is not None and len(allowed) < 2:
        out.append(f"roles.label: field '{label.name}' must allow at least two values")
    if roles.id is not None and fields[roles.id].type not in ("string", "integer"):
        out.append("roles.id: the id field must be a string or an integer")
    if roles.id is not None and fields[roles.id].required:
        out.append("roles.id: the id is optional in every file; set constraints.required: false")
    if roles.value is not None:
        value = fields[roles.value]
        if value.type not in ("integer", "number") or not value.required:
            out.append(
                f"roles.value: '{value.name}' must be a required number or integer "
                "(a record's worth cannot be blank)"
            )
    overlap = {roles.label, roles.id} & set(roles.info)
    if overlap - {None}:
        out.append("roles.info: the label and the id are not info columns")
    return out


def _describe(exc: ValidationError, source: str, data: dict[str, Any]) -> str:
    """pydantic's errors with the key path, fields named by their `name`."""
    lines = []
    for err in exc.errors(include_url=False):
        loc = list(err["loc"])
        parts: list[str] = []
        node: Any = data
        for part in loc:
            if isinstance(part, int):
                label = ""
                if isinstance(node, list) and part < len(node) and isinstance(node[part], dict):
                    label = f" ({node[part].get('name')})" if node[part].get("name") else ""
                parts[-1] = f"{parts[-1]}[{part}]{label}" if parts else f"[{part}]"
                node = node[part] if isinstance(node, list) and part < len(node) else None
            else:
                parts.append(str(part))
                node = node.get(part) if isinstance(node, dict) else None
        key = ".".join(parts) or "(top level)"
        if err["type"] == "extra_forbidden":
            lines.append(f"{source}: unknown key '{key}'")
        elif err["type"] == "missing":
            lines.append(f"{source}: '{key}' is missing")
        else:
            lines.append(f"{source}: {key}: {err['msg']}")
    return "\n".join(lines)
