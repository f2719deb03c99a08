"""The pull-request comment: markdown rendered from the report's JSON, and nothing else.

Rendering only from the JSON keeps the comment and `pr_report.json` in agreement. GitHub
refuses comments over 65,536 characters, so when the body is too long the least important
sections are dropped first (charts, then data, then params, then metrics) and the comment
says what was left out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gitops.metrics import METRICS
from gitops.review.diffs import RANGE_SHAPE
from gitops.review.marker import MARKER
from gitops.settings import Wording, section_or_default

ICONS = {"pass": "✅", "fail": "❌", "warn": "⚠️", "skip": "➖"}
MINUS = "−"
CUT_ORDER = ("charts", "data", "params", "metrics")


@dataclass
class Section:
    key: str
    title: str
    body: str

    def text(self) -> str:
        return f"### {self.title}\n\n{self.body.strip()}\n"


def _is_share(metric: str | None) -> bool:
    info = METRICS.get(metric or "")
    return bool(info and info.kind == "business")


def _signed(x: float, digits: int) -> str:
    s = f"{x:+.{digits}f}"
    return s.replace("-", MINUS)


def value(metric: str | None, x: float | None) -> str:
    if x is None:
        return "—"
    if _is_share(metric):
        return f"{100 * x:.1f}%"
    return f"{x:.4f}"


def delta(metric: str | None, x: float | None) -> str:
    if x is None:
        return "—"
    if _is_share(metric):
        return f"{_signed(100 * x, 1)} pp"
    return _signed(x, 4)


def interval(metric: str | None, iv: list[float] | None) -> str:
    if iv is None:
        return "—"
    lo, hi = iv
    if _is_share(metric):
        return f"{_signed(100 * lo, 1)} to {_signed(100 * hi, 1)} pp"
    return f"{_signed(lo, 4)} to {_signed(hi, 4)}"


def words(report: dict[str, Any]) -> Wording:
    """The task's wording the report was built with (neutral words for older reports)."""
    return section_or_default(Wording, report.get("wording"))


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _code(text: str | None, limit: int = 60) -> str:
    if text is None:
        return "*(absent)*"
    short = text if len(text) <= limit else text[: limit - 1] + "…"
    return "`" + _cell(short).replace("`", "'") + "`"


def table(header: list[str], rows: list[list[str]], align: str = "") -> str:
    marks = [":---" if (align[i : i + 1] or "l") == "l" else "---:" for i in range(len(header))]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(marks) + " |"]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def verdict_line(report: dict[str, Any]) -> str:
    """Pass or fail, naming what failed (by metric: the gates table has the rules)."""
    gates = report["gates"]
    failing = [g for g in gates if g["verdict"] == "fail"]
    warns = [g for g in gates if g["verdict"] == "warn"]

    def names(items: list[dict[str, Any]]) -> str:
        return ", ".join(dict.fromkeys(g.get("label") or g["rule"] for g in items))

    tail = f" · ⚠️ warning: {names(warns)}" if warns else ""
    if failing:
        count = f"{len(failing)} gate{'s' * (len(failing) != 1)} failed"
        return f"## ❌ {count}: {names(failing)}{tail}"
    judged = [g for g in gates if g["verdict"] in ("pass", "warn")]
    return f"## ✅ All gates pass ({len(judged)} checked){tail}"


def recommendation_line(report: dict[str, Any]) -> str | None:
    """The line under the verdict: what the significant moves add up to (None: nothing)."""
    text = report.get("recommendation")
    return f"**{text}**" if text else None


def notes(report: dict[str, Any]) -> list[str]:
    out = []
    suspects = report.get("suspicious") or []
    if suspects:
        listed = "; ".join(suspects[:5])
        more = len(suspects) - 5
        listed += f"; and {more} more" if more > 0 else ""
        out.append(
            "🚩 **Too good to be true.** These results look more like a leak (a feature that "
            f"carries the label, test rows seen in training) than progress: {listed}. "
            "Check the features and the split before trusting the gain."
        )
    stale = report["stale"]
    if stale["differences"]:
        listed = "; ".join(stale["differences"][:5])
        more = len(stale["differences"]) - 5
        listed += f"; and {more} more" if more > 0 else ""
        out.append(
            "⚠️ **Stale results.** The results committed on this branch are not what the "
            f"pipeline reproduces ({listed}). Fix: `{stale['fix']}`"
        )
    policy = report["policy"]
    if policy["changed"]:
        keys = ", ".join(f"`{k}`" for k in policy["keys"])
        line = f"⚠️ **Policy change.** This change edits the merge gates ({keys})."
        if policy["verdict_under_base_gates"] is not None:
            under = policy["verdict_under_base_gates"]
            line += f" Under the base's gates it would **{under}**"
            rescued = policy["only_failing_under_base_gates"]
            line += f"; these would fail there only: {'; '.join(rescued)}." if rescued else "."
        out.append(line)
    comp = report["comparison"]
    conf = f"{100 * comp.get('confidence', 0.95):g}%"
    if comp["mode"] == "paired":
        out.append(
            f"🔬 Compared on the same {comp['rows_change']:,} test {words(report).population} "
            "(paired bootstrap, "
            f"{comp['resamples']:,} resamples, {conf} intervals)."
        )
    elif comp["mode"] == "unpaired":
        out.append(
            f"🔬 The test rows differ ({comp['reason']}; {comp['rows_shared']:,} in both), so "
            f"the revisions are compared **unpaired** (independent resamples, "
            f"{comp['resamples']:,} each, {conf} intervals): wider intervals, a moved metric "
            "may reflect the data as much as the model."
        )
    elif comp["mode"] == "new data":
        out.append(
            f"🆕 **New data.** The base and the change score different data ({comp['reason']}),"
            " so their metrics are not comparable: values are shown side by side as they are, "
            "and only floors and ceilings are judged, no regression gate."
        )
    elif comp["mode"] == "no base":
        out.append(
            f"ℹ️ No metrics at the base ({comp['reason']}): absolute values and absolute gates only."
        )
    else:
        out.append(f"ℹ️ No intervals: {comp['reason']}.")
    return out


def gates_section(report: dict[str, Any]) -> Section:
    rows = []
    for g in report["gates"]:
        metric = g["metric"]
        is_reg = g["id"].startswith("max_regression.")
        if is_reg:
            shown = "none" if g["value"] is None or g["value"] <= 0 else delta(metric, g["value"])
            shown = shown.lstrip("+")
        else:
            shown = value(metric, g["value"])
        limit = (
            delta(metric, g["threshold"]).lstrip("+") if is_reg else value(metric, g["threshold"])
        )
        if g["id"] == "stale_results":
            shown, limit = (g["note"] or "match"), "match"
        if g["id"] == "suspicious":
            shown, limit = (g["note"] or "none"), "none"
        verdict = f"{ICONS[g['verdict']]} {g['verdict']}"
        rows.append([g["rule"], shown, limit, verdict + (f" ({g['note']})" if g["note"] else "")])
    body = table(["Gate", "Value", "Limit", "Result"], rows, "lrrl")
    if any(g["id"].startswith("max_regression.") for g in report["gates"]):
        body += (
            "\n\n*Drop* gates measure how much worse the change is than the base; they fail "
            "only when the drop is beyond the limit **and** significant (its interval excludes "
            "zero). A drop beyond the limit that could be noise is a warning."
        )
    return Section("gates", "Gates", body)


def _verdict(m: dict[str, Any]) -> str:
    if m["significant"] is None:
        return "—"
    if m["delta"] == 0 and m["interval"] == [0.0, 0.0]:
        return "= unchanged"
    if not m["significant"]:
        return "⚪ within noise"
    return "🟢 better" if m["direction"] == "better" else "🔴 worse"


def metrics_section(report: dict[str, Any]) -> Section:
    conf = f"{100 * report['comparison'].get('confidence', 0.95):g}%"
    rows = []
    for m in report["metrics"]:
        name = m["label"] + ("" if m["higher_is_better"] else " ↓")
        rows.append(
            [
                f"**{name}**" if m["kind"] == "business" else name,
                value(m["name"], m["base"]),
                value(m["name"], m["change"]),
                delta(m["name"], m["delta"]),
                interval(m["name"], m["interval"]),
                _verdict(m),
            ]
        )
    body = table(
        ["Metric", "Base", "Change", "Δ", f"{conf} interval of Δ", "Reading"], rows, "lrrrrl"
    )
    body += (
        f"\n\nBusiness metrics in **bold** (shares of all {words(report).positives}, in "
        "percentage points, pp); "
        "↓ marks metrics where lower is better. The interval is where the true Δ lies with "
        f"{conf} confidence given the test set's size; if it contains zero, the move could "
        "be noise."
    )
    return Section("metrics", "Metrics", body)


def params_section(report: dict[str, Any]) -> Section:
    changes = report["params"]
    if not changes:
        return Section("params", "Params", "No param changed.")
    rows = [
        [
            f"`{c['key']}`" + (" ⚠️ policy" if c["policy"] else ""),
            _code(c["base"]),
            _code(c["change"]),
        ]
        for c in changes
    ]
    body = table(["Param", "Base", "Change"], rows)
    if len(rows) > 15:
        body = f"<details><summary>{len(rows)} params changed</summary>\n\n{body}\n\n</details>"
    return Section("params", f"Params ({len(changes)} changed)", body)


def _num(x: Any, pct: bool = False) -> str:
    if x is None:
        return "—"
    if pct:
        return f"{100 * float(x):.1f}%"
    if isinstance(x, int | float):
        return f"{x:,}"
    return str(x)


def data_section(report: dict[str, Any]) -> Section:
    data = report["data"]
    if not data["available"]["change"]:
        return Section("data", "Data", "No data quality summary in the workspace.")
    s = data["summary"]
    comp = report["comparison"]
    w = words(report)
    rows = [
        ["Rows in the raw file", _num(s["rows_in"]["base"]), _num(s["rows_in"]["change"])],
        ["Rows after validation", _num(s["rows_out"]["base"]), _num(s["rows_out"]["change"])],
        [w.cap("positives"), _num(s["positives"]["base"]), _num(s["positives"]["change"])],
        [
            w.cap("positive_rate"),
            _num(s["label_rate"]["base"], True),
            _num(s["label_rate"]["change"], True),
        ],
    ]
    for d in data["dropped"]:
        rows.append([f"Dropped: {d['reason']}", _num(d["base"]), _num(d["change"])])
    if comp.get("rows_change") is not None:
        rows.append(["Test rows scored", _num(comp.get("rows_base")), _num(comp["rows_change"])])
    sha = s["sha256"]
    rows.append(
        [
            "Raw file (sha256)",
            _code((sha["base"] or "")[:12] or None),
            _code((sha["change"] or "")[:12] or None),
        ]
    )
    grid = table(["", "Base", "Change"], rows, "lrr")
    if data["changed"] or not data["available"]["base"]:
        body = ("The data changed." if data["changed"] else "No base to compare.") + "\n\n" + grid
    else:
        rate = _num(s["label_rate"]["change"], True)
        body = (
            f"Unchanged: {_num(s['rows_in']['change'])} raw rows, "
            f"{_num(s['rows_out']['change'])} after validation, {w.positive_rate} {rate}."
            f"\n\n<details><summary>Details</summary>\n\n{grid}\n\n</details>"
        )
    if data["schema"]:
        body += "\n\nSchema changes:\n\n" + table(
            ["Column", "Base", "Change"],
            [[f"`{c['column']}`", _code(c["base"]), _code(c["change"])] for c in data["schema"]],
        )
    ranges = data.get("ranges") or []
    if ranges:
        body += "\n\n" + ranges_text(ranges, bool(data["available"]["base"]))
    if data["findings_new"]:
        body += "\n\nNew findings:\n" + "".join(f"\n- {f}" for f in data["findings_new"])
    if data["findings_gone"]:
        body += "\n\nNo longer found:\n" + "".join(f"\n- {f}" for f in data["findings_gone"])
    return Section("data", "Data", body)


def _range(entry: dict[str, Any] | None) -> str:
    if entry is None:
        return "—"
    text = f"{_num(entry.get('min'))} to {_num(entry.get('max'))}"
    if entry.get("bound_max") is not None:
        text += f" (bound {_num(entry['bound_max'])})"
    counts = [f"{k.replace('_', ' ')} {_num(v)}" for k, v in entry.items() if k not in RANGE_SHAPE]
    return text + (f"; {', '.join(counts)}" if counts else "")


def ranges_text(ranges: list[dict[str, Any]], has_base: bool) -> str:
    """Observed ranges: a table of the fields that moved, else one line that they did not."""
    moved = [r for r in ranges if r["changed"]] if has_base else ranges
    if not moved:
        flagged = [
            f"`{r['field']}` {_range(r['change'])}"
            for r in ranges
            if r["change"] and any(k not in RANGE_SHAPE and v for k, v in r["change"].items())
        ]
        line = f"Observed ranges of {len(ranges)} field(s) unchanged."
        return line + (f" Valid but unusual: {'; '.join(flagged)}." if flagged else "")
    rows = [
        [
            f"`{r['field']}`",
            _range(r["base"]),
            _range(r["change"]),
            _beyond_text(r),
        ]
        for r in moved
    ]
    outside = [r["field"] for r in moved if r.get("beyond")]
    lead = "Observed ranges that moved (every value is within the contract's bounds)"
    if outside:
        lead += (
            f"; {len(outside)} field(s) reach outside the base's range, which its model "
            "scores by extrapolation"
        )
    return lead + ":\n\n" + table(["Field", "Base", "Change", "Beyond the base"], rows)


def _beyond_text(row: dict[str, Any]) -> str:
    """Which side of the base's range the change reaches, with its counts when known."""
    counts = row.get("outside") or {}
    sides = [
        f"{side}: {_num(counts[side])} value(s)" if counts.get(side) else side
        for side in row.get("beyond") or []
    ]
    return ", ".join(sides) or "—"


def charts_section(report: dict[str, Any], charts: list[str]) -> Section:
    if not charts:
        return Section("charts", "Charts", "No plot data.")
    return Section("charts", "Charts", "\n\n".join(charts))


def footer(report: dict[str, Any]) -> str:
    rev = report["revisions"]
    base = rev["base"]
    parts = []
    if base:
        parts.append(f"base `{base['sha'][:8]}` ({base['how']})")
    change = rev["change"]
    workspace = " + uncommitted changes" if change.get("dirty") else ""
    parts.append(f"change `{change['sha'][:8]}`{workspace}")
    if report.get("run_url"):
        parts.append(f"[workflow run]({report['run_url']})")
    parts.append("`make report`")
    return "---\n<sub>Compared " + " · ".join(parts) + "</sub>\n\n" + MARKER + "\n"


def render(report: dict[str, Any], charts: list[str], max_chars: int) -> tuple[str, list[str]]:
    """The comment body and the sections left out to keep it under `max_chars`."""
    sections = [
        gates_section(report),
        metrics_section(report),
        params_section(report),
        data_section(report),
        charts_section(report, charts),
    ]
    omitted: list[str] = []

    def assemble() -> str:
        head = [verdict_line(report), ""]
        advice = recommendation_line(report)
        if advice:
            head += [advice, ""]
        head += [f"> {n}\n" for n in notes(report)]
        if omitted:
            head.append(
                f"> ✂️ Trimmed to fit GitHub's comment limit: {', '.join(omitted)} left out "
                "(all figures are in `pr_report.json`).\n"
            )
        body = [s.text() for s in sections]
        return "\n".join(head) + "\n" + "\n".join(body) + "\n" + footer(report)

    text = assemble()
    for key in CUT_ORDER:
        if len(text) <= max_chars:
            break
        for s in sections:
            if s.key == key:
                s.body = "_Left out to fit GitHub's comment limit._"
                omitted.append(s.title.split(" (")[0].lower())
        text = assemble()
    if len(text) > max_chars:
        end = footer(report)
        keep = text[: max(0, max_chars - len(end) - 80)]
        keep = keep[: keep.rfind("\n") + 1] if "\n" in keep else keep
        text = keep + "\n_… cut here to fit GitHub's comment limit._\n\n" + end
        omitted.append("the rest")
    return text, omitted
