"""The model card shipped in every package: what the model is for, on what it was trained,
how well it does (with intervals, not bare numbers) and which exact files it consists of.

Everything comes from files the pipeline writes and from params.yaml; the prose a fork
changes (intended use, limits) lives in the `package.card` section.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gitops import metrics as gm
from gitops.settings import Wording, section_or_default


def intervals(
    predictions: pd.DataFrame,
    *,
    threshold: float,
    top_fraction: float,
    resamples: int,
    seed: int,
) -> dict[str, tuple[float, float]]:
    """Bootstrap 95% percentile interval of every metric over the test rows."""
    draws = gm.bootstrap(
        predictions["label"].to_numpy(),
        predictions["score"].to_numpy(),
        predictions["value"].to_numpy() if "value" in predictions else None,
        threshold=threshold,
        top_fraction=top_fraction,
        resamples=resamples,
        seed=seed,
    )
    return {
        name: (float(np.nanpercentile(v, 2.5)), float(np.nanpercentile(v, 97.5)))
        for name, v in draws.items()
    }


def render(
    card: dict[str, Any],
    manifest: dict[str, Any],
    *,
    quality: dict[str, Any],
    ci: dict[str, tuple[float, float]],
    test_rows: int,
    data_card: str | None,
) -> str:
    """Markdown of the card; `manifest` supplies version, hashes, params and metrics."""
    git = manifest["git"]
    title = card.get("title") or manifest["name"]
    wording = section_or_default(Wording, (manifest.get("params") or {}).get("wording"))
    out = [
        f"# {title} {manifest['version']}",
        "",
        f"Package `{manifest['name']}` {manifest['version']}, built from commit "
        f"`{git['commit']}` ({git['commit_time']})"
        + (" with uncommitted changes" if git["dirty"] else "")
        + ".",
        "",
        "## Intended use",
        "",
        str(card.get("intended_use", "Not stated.")).strip(),
        "",
    ]
    out += _bullets("Not for", card.get("not_for"))
    out += _bullets("Limits", card.get("limits"))
    out += _training_data(manifest, quality, data_card, wording)
    cut = (manifest.get("params") or {}).get("metrics")
    out += _evaluation(manifest["metrics"], ci, test_rows, card, wording, cut)
    out += _section("Gates at release time", manifest["params"].get("gates"))
    out += _section("Parameters at training time", manifest["params"])
    out += ["## Files", "", "| File | SHA-256 |", "|---|---|"]
    out += [f"| `{a['file']}` | `{a['sha256']}` |" for a in manifest["artifacts"].values()]
    out += [
        "",
        "The installed package refuses to load a model file whose SHA-256 differs from the "
        "manifest.",
        "",
    ]
    return "\n".join(out)


def _bullets(title: str, items: list[str] | None) -> list[str]:
    if not items:
        return []
    return [f"## {title}", "", *(f"- {' '.join(str(i).split())}" for i in items), ""]


def _training_data(
    manifest: dict[str, Any], quality: dict[str, Any], data_card: str | None, wording: Wording
) -> list[str]:
    data = manifest["training_data"]
    out = [
        "## Training data",
        "",
        f"- Source `{data.get('source')}`, SHA-256 `{data.get('sha256')}`",
        f"- {quality.get('rows_in')} rows in, {quality.get('rows_out')} kept after validation",
    ]
    out += [f"- Dropped {d['rows']}: {d['reason']}" for d in quality.get("dropped", [])]
    if quality.get("label_rate") is not None:
        positive = f"{quality.get('label')} = {quality.get('positive_class', 1)}"
        out.append(f"- {wording.cap('positive_rate')} ({positive}): {quality['label_rate']:.1%}")
    out += [f"- {finding}" for finding in quality.get("findings", [])]
    out.append("")
    if data_card:
        body = "\n".join(
            "##" + line if line.startswith("#") else line for line in data_card.splitlines()
        )
        body = body.strip()
        # A card that opens with its own title needs no second heading above it.
        out += [body, ""] if body.startswith("#") else ["### Data card", "", body, ""]
    else:
        out += ["No data card was found when the package was built.", ""]
    return out


def _evaluation(
    values: dict[str, float],
    ci: dict[str, tuple[float, float]],
    test_rows: int,
    card: dict[str, Any],
    wording: Wording,
    manifest_metrics_params: dict[str, Any] | None = None,
) -> list[str]:
    out = [
        "## Evaluation",
        "",
        f"On the held-out test set ({test_rows} {wording.population}). Intervals: bootstrap 95% "
        f"percentile intervals over {card.get('bootstrap_resamples')} resamples of the test "
        "rows; a wide interval means the test set is too small to tell close values apart.",
        "",
        "| Metric | Value | 95% interval | Better |",
        "|---|---:|---:|---|",
    ]
    for name, value in values.items():
        info = gm.METRICS.get(name)
        top = (manifest_metrics_params or {}).get("top_fraction")
        label = info.label_for(wording, top) if info else name
        better = ("higher" if info.higher_is_better else "lower") if info else ""
        lo, hi = ci.get(name, (float("nan"), float("nan")))
        out.append(f"| {label} | {value:.4f} | {lo:.4f} – {hi:.4f} | {better} |")
    return [*out, ""]


def _section(title: str, data: Any) -> list[str]:
    if not data:
        return [f"## {title}", "", "None recorded.", ""]
    return [f"## {title}", "", "```json", json.dumps(data, indent=2), "```", ""]


def read_text_if_exists(path: Path) -> str | None:
    return path.read_text(encoding="utf-8") if path.is_file() else None
