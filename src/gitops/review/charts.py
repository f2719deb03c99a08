"""Base-against-change charts as Mermaid `xychart-beta` blocks, which GitHub renders itself.

Nothing is uploaded anywhere: the chart is text in the comment. xychart has no legend, so
the colours are fixed through the init directive and named in each caption.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from gitops.curves import PLOTS
from gitops.settings import Wording

BASE_COLOUR = ("grey", "#8c959f")
CHANGE_COLOUR = ("blue", "#0969da")
IDEAL_COLOUR = ("light green", "#8fd19e")
WIDTH, HEIGHT = 640, 320

#: Titles and hints are templates filled with the task's wording.
TITLES = {
    "roc": ("ROC", "False positive rate", "True positive rate"),
    "precision_recall": ("Precision-recall", "Recall", "Precision"),
    "gains": ("Cumulative gains", "Share of {population} contacted", "Share of {positives} caught"),
    "calibration": ("Calibration", "Predicted risk band", "Observed {positive_rate}"),
}
HINTS = {
    "roc": "Higher and further left is better.",
    "precision_recall": "Higher is better.",
    "gains": "Higher is better; the steeper the start, the more {positives} a short list finds.",
    "calibration": "Closest to the light green line (predicted risk = observed rate) is best; "
    "risk bands that hold no {population} in a revision are left out.",
}


def _worded(text: str, wording: Wording) -> str:
    return text.format(**wording.model_dump())


def _numbers(values: np.ndarray) -> str:
    return "[" + ", ".join(f"{v:.3f}".rstrip("0").rstrip(".") or "0" for v in values) + "]"


def _init(colours: list[str]) -> str:
    config = {
        "theme": "base",
        "themeVariables": {
            "xyChart": {"plotColorPalette": ", ".join(colours), "backgroundColor": "#ffffff"}
        },
        "xyChart": {"width": WIDTH, "height": HEIGHT},
    }
    return f"%%{{init: {json.dumps(config)}}}%%"


def _quote(text: str) -> str:
    return '"' + text.replace('"', "'") + '"'


def _curve(name: str, frame: pd.DataFrame) -> pd.Series:
    _, x, y = PLOTS[name]
    return pd.Series(frame[y].to_numpy(dtype=float), index=np.round(frame[x].to_numpy(float), 4))


def _bands(frame: pd.DataFrame) -> pd.DataFrame:
    """Calibration rows keyed by risk band label, with the band's midpoint (ideal rate)."""
    _, x, _ = PLOTS["calibration"]
    if "bin" in frame.columns:
        labels = frame["bin"].astype(str)
        mids = [np.mean([float(p) for p in b.split("-")]) for b in labels]
    else:
        labels = frame[x].map(lambda v: f"{v:.2f}")
        mids = frame[x].to_numpy(float)
    return frame.assign(_mid=mids).set_index(labels)


def _roc_extent(*curves: pd.Series | None) -> float:
    """Where every ROC curve has reached 1, rounded up to a tenth: the part worth drawing."""
    ends = []
    for curve in curves:
        if curve is None:
            continue
        full = curve.index[curve.to_numpy() >= 0.9995]
        ends.append(float(full.min()) if full.size else 1.0)
    return float(min(1.0, max(0.2, np.ceil(max(ends, default=1.0) * 10 - 1e-9) / 10)))


def chart(
    name: str, base: pd.DataFrame | None, change: pd.DataFrame, wording: Wording | None = None
) -> tuple[str, str]:
    """Caption and Mermaid source for one plot; `base` None draws the change alone."""
    wording = wording or Wording()
    title, x_title, y_title = (_worded(t, wording) for t in TITLES[name])
    new = _curve(name, change)
    old = _curve(name, base) if base is not None else None
    hint = _worded(HINTS[name], wording)
    lines: list[np.ndarray] = []
    colours: list[str] = []
    if name == "calibration":
        # One point per risk band present in every drawn revision, on a categorical axis.
        bands = _bands(change)
        common = [b for b in bands.index if base is None or b in set(_bands(base).index)]
        x_axis = f"x-axis {_quote(x_title)} [{', '.join(_quote(b) for b in common)}]"
        mids = bands.loc[common, "_mid"].to_numpy(float)
        lines.append(np.asarray(mids))
        colours.append(IDEAL_COLOUR[1])
        if base is not None:
            lines.append(_bands(base).loc[common, PLOTS[name][2]].to_numpy(float))
            colours.append(BASE_COLOUR[1])
        lines.append(bands.loc[common, PLOTS[name][2]].to_numpy(float))
        colours.append(CHANGE_COLOUR[1])
    else:
        x_max = _roc_extent(new, old) if name == "roc" else 1.0
        if x_max < 1.0:
            new = new[new.index <= x_max + 1e-9]
            old = None if old is None else old[old.index <= x_max + 1e-9]
            hint += (
                f" Drawn up to a false positive rate of {x_max:g}; beyond it, every curve is at 1."
            )
        x_axis = f"x-axis {_quote(x_title)} 0 --> {x_max:g}"
        if old is not None:
            lines.append(
                old.reindex(new.index).interpolate(limit_direction="both").fillna(0).to_numpy()
            )
            colours.append(BASE_COLOUR[1])
        lines.append(new.fillna(0).to_numpy())
        colours.append(CHANGE_COLOUR[1])
    body = [
        _init(colours),
        "xychart-beta",
        f"    title {_quote(title)}",
        f"    {x_axis}",
        f"    y-axis {_quote(y_title)} 0 --> 1",
        *(f"    line {_numbers(values)}" for values in lines),
    ]
    who = (
        f"{BASE_COLOUR[0]}: base, {CHANGE_COLOUR[0]}: this change"
        if base is not None
        else f"{CHANGE_COLOUR[0]}: this change (no base to compare)"
    )
    caption = f"**{title}** ({who}). {hint}"
    return caption, "```mermaid\n" + "\n".join(body) + "\n```"


def all_charts(
    base: dict[str, pd.DataFrame],
    change: dict[str, pd.DataFrame],
    wording: Wording | None = None,
) -> list[str]:
    """Markdown for every plot the change has, captions above the charts."""
    out = []
    for name in PLOTS:
        if name in change:
            caption, block = chart(name, base.get(name), change[name], wording)
            out.append(f"{caption}\n\n{block}")
    return out
