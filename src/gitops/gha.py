"""The files GitHub Actions hands a step: outputs, job summary, the event payload.

Outside Actions the variables are unset and every writer is a no-op, so the same command
runs on a laptop and in a workflow.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Any


def _append(var: str, text: str) -> bool:
    target = os.environ.get(var)
    if not target:
        return False
    with Path(target).open("a", encoding="utf-8") as fh:
        fh.write(text)
    return True


def output_lines(values: dict[str, str]) -> str:
    """`name=value` lines for GITHUB_OUTPUT; multi-line values get a random delimiter."""
    lines = []
    for name, value in values.items():
        if "\n" in value or "\r" in value:
            delim = f"EOF_{secrets.token_hex(8)}"
            lines.append(f"{name}<<{delim}\n{value}\n{delim}\n")
        else:
            lines.append(f"{name}={value}\n")
    return "".join(lines)


def set_outputs(values: dict[str, str]) -> bool:
    return _append("GITHUB_OUTPUT", output_lines(values))


def add_summary(markdown: str) -> bool:
    return _append("GITHUB_STEP_SUMMARY", markdown if markdown.endswith("\n") else markdown + "\n")


def event() -> dict[str, Any]:
    """The triggering event's payload, or {} outside Actions."""
    path = os.environ.get("GITHUB_EVENT_PATH")
    if not path:
        return {}
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValueError(f"GITHUB_EVENT_PATH {path}: cannot read the event payload: {exc}") from exc
    if not isinstance(data, dict):
        raise ValueError(f"GITHUB_EVENT_PATH {path}: the event payload is not a JSON object")
    return data


def annotation(level: str, message: str) -> str:
    """A `::warning::`/`::notice::` workflow command: shown on the run's page, not only the log.

    Outside Actions the line still reads as a plain message. `%`, CR and LF are escaped as the
    runner expects, so a multi-line reason stays one annotation.
    """
    if level not in ("notice", "warning", "error"):
        raise ValueError(f"annotation level must be notice, warning or error, not {level!r}")
    data = message.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return f"::{level}::{data}"
