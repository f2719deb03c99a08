"""`make preview-report`: a markdown report drawn as a pull request comment shows it, as a PNG.

Reviewers see the report on GitHub, not as markdown source: a table that does not line up,
a chart that mermaid refuses or a `<details>` left open is only visible once rendered. This
renders GitHub-flavoured markdown (tables, task lists, strikethrough, raw HTML such as
`<details>`, `:emoji:` codes) to HTML styled with GitHub's own markdown CSS, draws every
```mermaid block with mermaid 11 (the major version GitHub runs), and screenshots the whole
page with headless Chromium.

Chromium runs twice: once to lay the page out and dump the DOM, where the page's script has
recorded whether every chart rendered and how tall the page is; then to screenshot it at
that height. A chart mermaid cannot parse fails the command with its line in the report and
mermaid's message, and the previous PNG is kept (written through `gitops.files`).

The JavaScript and CSS come from the npm packages pinned in tools/preview/package-lock.json
(`npm ci` into .tools/preview/); Chromium is the system's (`CHROMIUM=` names another).
"""

from __future__ import annotations

import argparse
import html
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from gitops.files import write_bytes

if TYPE_CHECKING:
    from markdown_it import MarkdownIt

WIDTH = 1000
#: Chromium's virtual clock: how long the page may take to lay out and draw its charts.
BUDGET_MS = 30_000
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
#: Chromium cannot draw a page taller than its largest texture.
MAX_HEIGHT = 16_000


class PreviewError(Exception):
    """The report cannot be drawn: missing tools, a chart mermaid refuses, a blank capture."""


@dataclass(frozen=True)
class Assets:
    """Where mermaid's browser bundle and GitHub's markdown CSS are."""

    mermaid_js: Path
    css: Path

    @classmethod
    def under(cls, node_modules: Path) -> Assets:
        assets = cls(
            node_modules / "mermaid" / "dist" / "mermaid.min.js",
            node_modules / "github-markdown-css" / "github-markdown-light.css",
        )
        for path in (assets.mermaid_js, assets.css):
            if not path.is_file():
                raise PreviewError(
                    f"{path}: missing; install the pinned packages with `make preview-report` "
                    "(npm ci from tools/preview/package-lock.json)"
                )
        return assets


def find_chromium(explicit: str | None = None) -> str | None:
    """The Chromium to run: `explicit`, $CHROMIUM, or the first of the usual names on PATH."""
    for name in (explicit, os.environ.get("CHROMIUM"), "chromium", "chromium-browser"):
        if name and (found := shutil.which(name)):
            return found
    return None


def _markdown_renderer() -> MarkdownIt:
    """GitHub-flavoured markdown; imported here, as the renderer is a dev dependency."""
    import emoji
    from markdown_it import MarkdownIt
    from mdit_py_plugins.footnote import footnote_plugin
    from mdit_py_plugins.tasklists import tasklists_plugin

    md = (
        MarkdownIt("commonmark", {"html": True, "typographer": False})
        .enable(["table", "strikethrough"])
        .use(tasklists_plugin)
        .use(footnote_plugin)
    )

    def emoji_codes(state) -> None:
        # `:warning:` in prose becomes the emoji, as on GitHub; code spans keep their text.
        for token in state.tokens:
            for child in token.children or []:
                if child.type == "text" and ":" in child.content:
                    child.content = emoji.emojize(child.content, language="alias")

    md.core.ruler.after("inline", "github_emoji", emoji_codes)
    default_fence = md.renderer.rules["fence"]

    def fence(_renderer, tokens, idx, options, env) -> str:
        token = tokens[idx]
        if token.info.strip().split(" ")[0] == "mermaid":
            line = token.map[0] + 1 if token.map else 0
            return (
                f'<div class="mermaid-chart" data-line="{line}">'
                f'<pre class="mermaid-source" hidden>{html.escape(token.content)}</pre></div>\n'
            )
        return default_fence(tokens, idx, options, env)

    md.add_render_rule("fence", fence)
    return md


# Every chart is parsed first, so a broken one is named by its line; then each is drawn in
# place. The outcome lands on <body> for the DOM dump to read.
_SCRIPT = """
(async () => {
  const body = document.body;
  const errors = [];
  try {
    mermaid.initialize({startOnLoad: false, securityLevel: "strict", theme: "default"});
    const charts = [...document.querySelectorAll(".mermaid-chart")];
    for (const [i, chart] of charts.entries()) {
      const source = chart.querySelector(".mermaid-source").textContent;
      try {
        await mermaid.parse(source);
        const {svg} = await mermaid.render("mermaid-" + i, source);
        chart.innerHTML = svg;
      } catch (err) {
        const text = String(err && err.message ? err.message : err).split("\\n").join(" ");
        errors.push(chart.dataset.line + ": " + text);
        chart.textContent = "mermaid error: " + text;
      }
    }
    body.dataset.charts = String(charts.length);
  } catch (err) {
    errors.push("mermaid did not start: " + err);
  }
  body.dataset.errors = JSON.stringify(errors);
  body.dataset.height = String(Math.ceil(document.documentElement.scrollHeight));
  body.dataset.preview = errors.length ? "error" : "ok";
})();
"""

_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>{title}</title>
<link rel="stylesheet" href="{css}">
<style>
  html, body {{ margin: 0; background: #f6f8fa; }}
  .comment {{ box-sizing: border-box; max-width: {inner}px; margin: 16px auto;
    border: 1px solid #d0d7de; border-radius: 6px; background: #ffffff; }}
  .markdown-body {{ padding: 16px 24px; }}
  .mermaid-chart {{ text-align: center; margin: 0 0 16px; }}
  .mermaid-chart svg {{ max-width: 100%; height: auto; }}
</style>
<script src="{mermaid}"></script>
</head><body>
<div class="comment"><article class="markdown-body">
{content}
</article></div>
<script>{script}</script>
</body></html>
"""


def to_html(markdown: str, assets: Assets, *, title: str = "report", width: int = WIDTH) -> str:
    """The page Chromium draws: the report as GitHub's markdown, its charts still to draw."""
    return _PAGE.format(
        title=html.escape(title),
        css=assets.css.resolve().as_uri(),
        mermaid=assets.mermaid_js.resolve().as_uri(),
        inner=width - 32,
        content=_markdown_renderer().render(markdown),
        script=_SCRIPT,
    )


def _chromium(chromium: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [
        chromium,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--hide-scrollbars",
        "--allow-file-access-from-files",
        "--force-device-scale-factor=1",
        f"--user-data-dir={profile}",
        f"--virtual-time-budget={BUDGET_MS}",
        *args,
    ]
    try:
        return subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)
    except subprocess.TimeoutExpired as exc:
        raise PreviewError(f"{chromium} did not finish in {exc.timeout} s") from exc


def _body_data(dom: str) -> dict[str, str]:
    match = re.search(r"<body([^>]*)>", dom)
    if not match:
        return {}
    found = re.findall(r'data-([a-z]+)="([^"]*)"', match.group(1))
    return {key: html.unescape(value) for key, value in found}


@dataclass(frozen=True)
class Rendered:
    """What was drawn: the PNG, its size in pixels and how many charts it holds."""

    path: Path
    width: int
    height: int
    charts: int


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG's header."""
    if not data.startswith(PNG_MAGIC) or len(data) < 24:
        raise PreviewError("not a PNG")
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def render(
    report: Path,
    output: Path,
    assets: Assets,
    *,
    chromium: str | None = None,
    width: int = WIDTH,
) -> Rendered:
    """Draw `report` into `output` (PNG); the previous `output` stays when anything fails."""
    browser = find_chromium(chromium)
    if browser is None:
        raise PreviewError("no Chromium found (install chromium, or name it with CHROMIUM=...)")
    text = report.read_text(encoding="utf-8")
    with tempfile.TemporaryDirectory(prefix="preview-") as tmp:
        page = Path(tmp) / "report.html"
        page.write_text(to_html(text, assets, title=report.name, width=width), encoding="utf-8")
        profile = Path(tmp) / "profile"
        dumped = _chromium(
            browser, profile, f"--window-size={width},1000", "--dump-dom", page.as_uri()
        )
        data = _body_data(dumped.stdout)
        if data.get("preview") not in ("ok", "error"):
            raise PreviewError(
                f"{report}: the page did not finish rendering in {BUDGET_MS // 1000} s of "
                f"browser time (chromium exit {dumped.returncode}): {dumped.stderr.strip()[-400:]}"
            )
        errors = json.loads(data.get("errors", "[]"))
        if errors:
            raise PreviewError(
                f"{report}: mermaid cannot draw {len(errors)} chart(s):\n"
                + "\n".join(f"  - {report}:{e}" for e in errors)
            )
        height = min(int(data.get("height", "0")) or 1000, MAX_HEIGHT)
        # Chromium picks the format from the name, so it writes beside the page, and the
        # PNG is published in one step once it is known to be one.
        png = Path(tmp) / "report.png"
        shot = _chromium(
            browser,
            profile,
            f"--window-size={width},{height}",
            f"--screenshot={png}",
            page.as_uri(),
        )
        captured = png.read_bytes() if png.exists() else b""
        if shot.returncode != 0 or not captured.startswith(PNG_MAGIC):
            raise PreviewError(
                f"{report}: chromium wrote no screenshot (exit {shot.returncode}): "
                f"{shot.stderr.strip()[-400:]}"
            )
        size = png_size(captured)
        write_bytes(output, captured)
    return Rendered(output, size[0], size[1], int(data.get("charts", "0")))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--report", default="reports/pr_report.md", help="markdown to draw")
    parser.add_argument("--output", default="reports/pr_report.png", help="PNG written")
    parser.add_argument(
        "--node-modules", default=".tools/preview/node_modules", help="mermaid and the CSS"
    )
    parser.add_argument("--chromium", help="browser binary (default: $CHROMIUM, chromium)")
    parser.add_argument("--width", type=int, default=WIDTH, help="page width in pixels")
    args = parser.parse_args(argv)
    try:
        done = render(
            Path(args.report),
            Path(args.output),
            Assets.under(Path(args.node_modules)),
            chromium=args.chromium,
            width=args.width,
        )
    except (PreviewError, OSError) as exc:
        print(f"preview-report: {exc}", file=sys.stderr)
        print(f"preview-report: {args.output} was not changed.", file=sys.stderr)
        return 1
    print(
        f"preview-report: wrote {done.path} ({done.width}x{done.height} px, "
        f"{done.charts} mermaid chart(s))",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
