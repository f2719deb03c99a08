"""`make preview-report` draws a report as GitHub shows it, and refuses a chart mermaid refuses.

Real Chromium, real mermaid from the pinned npm packages, in a copy of the project run as a
GitHub runner would run it. Skipped, saying why, where no Chromium is installed.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from gitops.docs.preview import find_chromium, png_size
from runner import Runner, link_environment
from support import copy_repo

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        find_chromium() is None,
        reason="no Chromium on this machine (chromium or $CHROMIUM): the preview needs one",
    ),
]

CHART = """\
```mermaid
xychart-beta
    title "Gains"
    x-axis "Share contacted" 0 --> 1
    y-axis "Share caught" 0 --> 1
    line [0, 0.4, 0.7, 0.9, 1]
```
"""

REPORT = f"""\
## ✅ All gates pass · :warning: one warning

| Gate | Value | Result |
| :--- | ---: | :--- |
| ROC AUC ≥ 0.9 | 0.95 | ✅ pass |

- [x] data validated
- [ ] reviewed

<details><summary>Details</summary>

Hidden until opened.

</details>

{CHART}"""

# `line` needs its values in brackets: mermaid's parser rejects this one.
BROKEN = """\
## A report with a broken chart

```mermaid
xychart-beta
    x-axis "x" 0 --> 1
    line 0.1, 0.2
```
"""


@pytest.fixture(scope="module")
def checkout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    repo = copy_repo(tmp_path_factory.mktemp("preview") / "repo", with_results=False)
    link_environment(repo)
    return repo


def test_a_report_with_a_chart_becomes_a_whole_page_png(runner: Runner, checkout: Path) -> None:
    report = checkout / "reports" / "small.md"
    report.parent.mkdir(exist_ok=True)
    report.write_text(REPORT, encoding="utf-8")
    out = checkout / "reports" / "small.png"
    proc = runner.make("preview-report", checkout, f"REPORT={report}", f"OUT={out}")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 mermaid chart(s)" in proc.stderr
    data = out.read_bytes()
    width, height = png_size(data)
    assert width == 1000
    # The table, the list and a 320-pixel-high chart: far taller than one line of text.
    assert height > 500, height
    # A drawn chart and text are not a blank page: a blank 1000-pixel PNG compresses to ~5 KB.
    assert len(data) > 20_000, len(data)


def test_a_broken_mermaid_chart_fails_and_keeps_the_previous_png(
    runner: Runner, checkout: Path
) -> None:
    report = checkout / "reports" / "broken.md"
    report.parent.mkdir(exist_ok=True)
    report.write_text(BROKEN, encoding="utf-8")
    out = checkout / "reports" / "broken.png"
    out.write_bytes(b"previous capture")
    before = hashlib.sha256(out.read_bytes()).hexdigest()
    proc = runner.make("preview-report", checkout, f"REPORT={report}", f"OUT={out}")
    assert proc.returncode != 0
    # The report and the chart's line in it are named, with mermaid's own message.
    assert f"{report}:3: " in proc.stderr, proc.stderr
    assert "mermaid cannot draw 1 chart(s)" in proc.stderr
    assert f"{out} was not changed" in proc.stderr
    assert hashlib.sha256(out.read_bytes()).hexdigest() == before
