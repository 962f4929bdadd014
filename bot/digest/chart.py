"""The digest's chart: 14 days of mentions per brand, stacked by sentiment, as a PNG (matplotlib, headless)."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")  # no display on a server; must precede pyplot's import

from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from bot.digest.model import SENTIMENTS, Digest

_COLOURS = {"positive": "#2b8a3e", "neutral": "#adb5bd", "negative": "#c92a2a", "unknown": "#dee2e6"}
MAX_PANELS = 20
"""Brands drawn at most; the digest's text still lists every brand."""
_STRIP = 0.82
"""Height of a brand's tallest day within its strip (1.0 would touch the strip above)."""


def render_chart(digest: Digest) -> bytes:
    """A PNG with one strip per brand: its daily mentions as bars stacked by sentiment, scaled to its own busiest day.

    All strips share one Axes and each sentiment is one collection of rectangles: a figure with a subplot per brand
    spends seconds laying out twenty sets of ticks, this one a fraction of that.
    """
    brands = list(digest.series)[:MAX_PANELS]
    rows = max(len(brands), 1)
    days = max((len(digest.series[b]) for b in brands), default=14)
    height = 0.55 * rows + 1.4
    # Figure() instead of pyplot: no global figure registry, so nothing leaks between digests or threads.
    fig = Figure(figsize=(9.5, height), dpi=90)
    ax = fig.add_axes((0.24, 0.75 / height, 0.74, 1 - 1.25 / height))
    boxes: dict[str, list[list[tuple[float, float]]]] = {s: [] for s in SENTIMENTS}
    labels = []
    for row, brand in enumerate(brands):
        base = rows - 1 - row
        series = digest.series[brand]
        peak = max((d.total for d in series), default=0)
        for x, day in enumerate(series):
            y = float(base)
            for sentiment in SENTIMENTS:
                share = day.by_sentiment.get(sentiment, 0) / peak * _STRIP if peak else 0.0
                if share:
                    boxes[sentiment].append([(x - 0.4, y), (x + 0.4, y), (x + 0.4, y + share), (x - 0.4, y + share)])
                    y += share
        # A `$` in a brand name would start mathtext; show it literally.
        labels.append(f"{brand[:32]}  ({peak}/day at most)".replace("$", r"\$"))
    for sentiment in SENTIMENTS:
        if boxes[sentiment]:
            ax.add_collection(PolyCollection(boxes[sentiment], facecolors=_COLOURS[sentiment], edgecolors="none"))
    ax.set_xlim(-0.6, days - 0.4)
    ax.set_ylim(-0.08, rows)
    ax.set_yticks([rows - 1 - r + _STRIP / 2 for r in range(len(brands))], labels, fontsize=8)
    ax.tick_params(axis="y", length=0)
    for line in range(1, rows):
        ax.axhline(line - 0.04, color="#e9ecef", linewidth=0.8)
    first = next((digest.series[b] for b in brands if digest.series[b]), [])
    ax.set_xticks(range(0, len(first), 2), [d.day.strftime("%d %b") for d in first][::2], fontsize=7)
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    if not brands:
        ax.text(days / 2, 0.5, "no brands configured", ha="center", va="center", fontsize=9, color="#868e96")
    handles = [Patch(color=_COLOURS[s], label=s) for s in SENTIMENTS]
    fig.legend(handles=handles, loc="lower center", ncols=len(SENTIMENTS), fontsize=8, frameon=False)
    fig.suptitle(f"Mentions per day, 14 days to {digest.day.isoformat()} ({digest.timezone})", fontsize=10)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()
