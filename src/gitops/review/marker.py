"""The hidden line that marks the report comment, so the comment step can find it again.

Standard library only (nothing at all): the comment workflow imports it with a bare python3.
"""

MARKER = "<!-- gitops-report -->"


def has_marker(body: str) -> bool:
    """Whether the marker stands on a line of its own, as the report writes it."""
    return any(line.strip() == MARKER for line in body.splitlines())
