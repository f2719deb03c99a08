"""The page `make preview-report` draws: GitHub-flavoured markdown, charts left to mermaid."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitops.docs.preview import Assets, PreviewError, png_size, to_html

ASSETS = Assets(Path("mermaid.min.js"), Path("github-markdown-light.css"))

REPORT = """\
## :warning: One warning

| Gate | Result |
| :--- | ---: |
| ROC AUC | ✅ pass |

- [x] validated
- [ ] reviewed

~~old~~ and `:warning:` in code

<details><summary>Details</summary>

Hidden.

</details>

```mermaid
xychart-beta
    line [0, 1]
```
"""


def test_github_markdown_becomes_the_page_and_the_chart_is_left_for_mermaid() -> None:
    page = to_html(REPORT, ASSETS)
    assert "<h2>⚠️ One warning</h2>" in page  # emoji codes, as GitHub shows them
    assert "<code>:warning:</code>" in page  # ... but not in code
    assert '<th style="text-align:right">Result</th>' in page  # tables with alignment
    assert 'type="checkbox"' in page
    assert "checked" in page
    assert "<s>old</s>" in page  # strikethrough
    assert "<details><summary>Details</summary>" in page  # raw HTML kept
    # The chart's source waits, escaped, for mermaid; its line in the report goes along.
    assert '<div class="mermaid-chart" data-line="18">' in page
    assert "line [0, 1]" in page
    assert '<pre><code class="language-mermaid"' not in page
    assert "github-markdown-light.css" in page
    assert "mermaid.min.js" in page


def test_missing_assets_are_named(tmp_path: Path) -> None:
    with pytest.raises(PreviewError, match=r"mermaid\.min\.js: missing"):
        Assets.under(tmp_path)


def test_png_size_reads_the_header_and_refuses_what_is_not_a_png() -> None:
    header = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + (1000).to_bytes(4, "big")
    assert png_size(header + (3167).to_bytes(4, "big")) == (1000, 3167)
    with pytest.raises(PreviewError, match="not a PNG"):
        png_size(b"previous capture")
