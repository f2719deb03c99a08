"""The hidden line that marks the report comment, so the comment step can find it again.

Standard library only (nothing at all): the comment workflow imports it with a bare python3.
"""

MARKER = "<!-- gitops-report -->"

#: GitHub refuses an issue comment body longer than this ("body is too long (maximum is
#: 65536 characters)", HTTP 422). It counts characters (Unicode code points, what Python's
#: `len` counts on a str), not UTF-8 bytes: a Persian letter or an emoji is one character
#: but two to four bytes. The report's cut, the artifact check and the poster all count so.
MAX_COMMENT_CHARS = 65_536


def too_long_body(length: int, run_url: str | None, what: str = "The model report") -> str:
    """The comment posted instead of a body over GitHub's limit: says so, links the run."""
    where = f"Read it in the workflow run: {run_url}" if run_url else "Read it in the CI run."
    return (
        f"## Model report\n\n{what} is {length:,} characters long, over GitHub's "
        f"{MAX_COMMENT_CHARS:,}-character limit for a comment, so it is not posted here. "
        f"{where} (job summary and the `pr-report` artifact).\n\n{MARKER}\n"
    )


def has_marker(body: str) -> bool:
    """Whether the marker stands on a line of its own, as the report writes it."""
    return any(line.strip() == MARKER for line in body.splitlines())
