"""Generated blocks inside hand-written pages: replaced between their markers, the rest kept.

A page quotes what a command prints (a request and its answer, a monitoring report); the
quote goes stale as soon as the code changes. Such a quote sits between two marker lines,

    <!-- generated:NAME -->
    ...
    <!-- /generated:NAME -->

and `make docs` rewrites only what is between them, so the prose around it stays the
team's. A page whose markers are missing or unbalanced is refused, naming the file and the
marker, and is left as it was.
"""

from __future__ import annotations

from pathlib import Path

from gitops.files import write_text


class BlockError(ValueError):
    """A page lacks a block's markers, or holds them more than once or out of order."""


def markers(name: str) -> tuple[str, str]:
    return f"<!-- generated:{name} -->", f"<!-- /generated:{name} -->"


def replaced(text: str, name: str, body: str, *, source: str) -> str:
    """`text` with block `name` holding `body`; `source` names the page in errors."""
    start, end = markers(name)
    if text.count(start) != 1 or text.count(end) != 1:
        raise BlockError(
            f"{source}: needs exactly one '{start}' line and one '{end}' line "
            f"(found {text.count(start)} and {text.count(end)})"
        )
    head, _, rest = text.partition(start)
    _, _, tail = rest.partition(end)
    if end in head or start in tail:
        raise BlockError(f"{source}: '{end}' comes before '{start}'")
    return f"{head}{start}\n{body.strip(chr(10))}\n{end}{tail}"


def update(path: str | Path, blocks: dict[str, str], *, check: bool = False) -> bool:
    """Write `blocks` into the page at `path` (atomically); True when it changed.

    With `check`, nothing is written: the return value says whether it would change.
    """
    page = Path(path)
    text = page.read_text(encoding="utf-8")
    new = text
    for name, body in blocks.items():
        new = replaced(new, name, body, source=str(page))
    if new != text and not check:
        write_text(page, new)
    return new != text
