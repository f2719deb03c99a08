"""The hidden line that marks the report comment, so the comment step can find it again.

Standard library only (nothing at all): the comment workflow imports it with a bare python3.
"""

MARKER = "<!-- gitops-report -->"

#: GitHub refuses a long issue comment body with HTTP 422, "body is too long (maximum is
#: 65536 characters)". Measured from outside (github.com/dead-claudia/github-limits), what
#: it enforces is 262,144 bytes of UTF-8, which is 65,536 characters only when each takes
#: four bytes. Counting characters (Unicode code points, what `len` counts on a str) up to
#: 65,536 is safe under either reading, as no character takes more than four bytes: a
#: Persian letter is one character and two bytes, an emoji one character and four. The
#: report's cut, the artifact check and the poster all count so.
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
