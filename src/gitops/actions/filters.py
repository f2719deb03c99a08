"""GitHub Actions branch/tag filter patterns, matched the way GitHub documents them.

A tag filter that silently matches nothing means a deploy that never runs, so the patterns in
our workflows are tested against real tag names with this matcher:

- `*` any characters except `/`;  `**` any characters
- `?` zero or one of the preceding character;  `+` one or more of the preceding character
- `[...]` one character listed or in a range (a-z, A-Z, 0-9 only)
- `!` at the start negates; later patterns override earlier ones
- `\\` escapes the next character
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_CLASS_RE = re.compile(r"(?:[A-Za-z0-9](?:-[A-Za-z0-9])?)+")


class PatternError(ValueError):
    """A filter pattern GitHub would not accept or would read differently than intended."""


def _class_atom(pattern: str, start: int) -> tuple[str, int]:
    end = pattern.find("]", start + 1)
    if end < 0:
        raise PatternError(f"{pattern!r}: '[' at {start} has no closing ']'")
    body = pattern[start + 1 : end]
    if not _CLASS_RE.fullmatch(body):
        raise PatternError(
            f"{pattern!r}: '[{body}]' may hold only letters, digits and ranges like a-z or 0-9"
        )
    for lo, hi in re.findall(r"([A-Za-z0-9])-([A-Za-z0-9])", body):
        same_kind = (lo.isdigit() and hi.isdigit()) or (lo.islower() and hi.islower())
        same_kind = same_kind or (lo.isupper() and hi.isupper())
        if not same_kind or lo > hi:
            raise PatternError(f"{pattern!r}: range {lo}-{hi} is not within a-z, A-Z or 0-9")
    return f"[{body}]", end + 1


def to_regex(pattern: str) -> re.Pattern[str]:
    """Regex matching exactly the refs `pattern` (without its leading `!`) matches."""
    atoms: list[str] = []
    quantified = False
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            if i + 1 >= len(pattern):
                raise PatternError(f"{pattern!r}: trailing '\\' escapes nothing")
            atoms.append(re.escape(pattern[i + 1]))
            i += 2
        elif ch == "*":
            if pattern.startswith("**", i):
                atoms.append(".*")
                i += 2
            else:
                atoms.append("[^/]*")
                i += 1
        elif ch in "?+":
            if not atoms or quantified:
                raise PatternError(f"{pattern!r}: '{ch}' at {i} has no character to repeat")
            atoms[-1] = f"(?:{atoms[-1]}){ch}"
            quantified = True
            i += 1
            continue
        elif ch == "[":
            atom, i = _class_atom(pattern, i)
            atoms.append(atom)
        else:
            atoms.append(re.escape(ch))
            i += 1
        quantified = False
    return re.compile("".join(atoms))


def matches(ref: str, patterns: Iterable[str]) -> bool:
    """Whether GitHub would run for `ref` given a `branches:`/`tags:` list, in order."""
    included = False
    positive = 0
    for pattern in patterns:
        negated = pattern.startswith("!")
        body = pattern[1:] if negated else pattern
        positive += not negated
        if to_regex(body).fullmatch(ref):
            included = not negated
    if positive == 0:
        raise PatternError("a filter with only '!' patterns matches nothing; add a positive one")
    return included
