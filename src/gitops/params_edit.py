"""Set one value in params.yaml in place, keeping every other byte: comments, layout, `${}`.

`dvc exp run -S key=value` rewrites the whole file through its YAML library: flow lists
become block lists, comments move, and `${...}` references are replaced by what they
resolve to, so the experiment's review report lists params that nobody changed. `make exp`
sets values with this instead, then runs `dvc exp run`, which records the edited file.

Only existing keys holding a scalar or a one-line flow value (`[a, b]`) are set; the result
is read back and must differ from the original in that key alone and pass the settings
check (`gitops.settings`), or nothing is written.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from gitops import yamltext
from gitops.files import write_text
from gitops.settings import Settings

_KEY = re.compile(r"^(?P<indent> *)(?P<key>[A-Za-z_][\w.-]*):(?P<sep> *)(?P<rest>.*)$")
_COMMENT = re.compile(r"(?P<pad>\s+)(?P<comment>#.*)$")


class ParamsEditError(ValueError):
    """A value that cannot be set as asked; the message names the file, line and key."""


def _lookup(data: Any, path: list[str]) -> Any:
    for part in path:
        if not isinstance(data, dict) or part not in data:
            raise KeyError(".".join(path))
        data = data[part]
    return data


def _without(data: dict[str, Any], path: list[str]) -> dict[str, Any]:
    copy = yamltext.load(yaml.safe_dump(data))
    node = copy
    for part in path[:-1]:
        node = node[part]
    node.pop(path[-1])
    return copy


def set_value(text: str, key: str, value: str, source: str = "params.yaml") -> str:
    """`text` with `key` (dotted) set to `value` (YAML), everything else byte for byte."""
    target = key.split(".")
    try:
        new = yamltext.load(value) if value.strip() else None
    except yaml.YAMLError as exc:
        raise ParamsEditError(f"{key}={value}: not a YAML value ({exc})") from None
    if "\n" in value:
        raise ParamsEditError(f"{key}: the value must fit on one line")
    lines = text.splitlines(keepends=True)
    stack: list[tuple[int, str]] = []
    for number, line in enumerate(lines):
        m = _KEY.match(line.rstrip("\n"))
        if not m:
            continue
        indent = len(m["indent"])
        while stack and stack[-1][0] >= indent:
            stack.pop()
        stack.append((indent, m["key"]))
        if [k for _, k in stack] != target:
            continue
        rest = m["rest"]
        comment = _COMMENT.search(rest) if not rest.lstrip().startswith(("'", '"')) else None
        old = rest[: comment.start()] if comment else rest
        if not old.strip() or old.strip() in ("|", ">"):
            raise ParamsEditError(
                f"{source}: line {number + 1}: {key} holds a block, not a value: edit the file"
            )
        width = len(m["sep"]) + len(old)
        head = f"{m['indent']}{m['key']}:{m['sep'] or ' '}{value}"
        if comment:
            pad = " " * max(1, width - len(m["sep"] or " ") - len(value) + len(comment["pad"]))
            head += pad + comment["comment"]
        newline = "\n" if line.endswith("\n") else ""
        edited = "".join([*lines[:number], head + newline, *lines[number + 1 :]])
        _check(text, edited, target, new, source)
        return edited
    raise ParamsEditError(f"{source}: no key {key} (only existing keys can be set)")


def _check(before: str, after: str, path: list[str], new: Any, source: str) -> None:
    """The edit changed that key to that value and nothing else, and the settings accept it."""
    old_data, new_data = yamltext.load(before), yamltext.load(after)
    key = ".".join(path)
    if _lookup(new_data, path) != new or _without(old_data, path) != _without(new_data, path):
        raise ParamsEditError(f"{source}: {key}: the value could not be set in place: edit it")
    Settings.from_mapping(new_data, source)


def apply(path: Path, assignments: list[str]) -> list[str]:
    """Set each `key=value` in the file at `path`; written once, and only if all are valid."""
    text = original = path.read_text(encoding="utf-8")
    changed = []
    for item in assignments:
        key, eq, value = item.partition("=")
        if not eq or not key:
            raise ParamsEditError(f"-S {item}: expected key=value, e.g. train.model=random_forest")
        text = set_value(text, key.strip(), value.strip(), str(path))
        changed.append(key.strip())
    if text != original:
        write_text(path, text)
    return changed
