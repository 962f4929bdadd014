"""The digest's chart: 14 days of mentions per brand, stacked by sentiment, as a PNG (matplotlib, headless)."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")  # no display on a server; must precede pyplot's import

from matplotlib.figure import Figure
from matplotlib.patches import Patch

from bot.digest.model import SENTIMENTS, Digest

_COLOURS = {"positive": "#2b8a3e", "neutral": "#adb5bd", "negative": "#c92a2a", "unknown": "#dee2e6"}
MAX_PANELS = 20


def render_chart(digest: Digest) -> bytes:
    """A PNG with one small panel per brand: daily mentions as bars stacked by sentiment."""
    brands = list(digest.series)[:MAX_PANELS] or ["(no brands configured)"]
    cols = min(len(brands), 4)
    rows = -(-len(brands) // cols)
    # Figure() instead of pyplot: no global figure registry, so nothing leaks between digests or threads.
    # A fixed layout: matplotlib's constrained layout costs more than the drawing itself for 20 panels.
    fig = Figure(figsize=(3.2 * cols, 2.4 * rows + 0.9), dpi=80)
    fig.subplots_adjust(left=0.05, right=0.98, top=1 - 0.5 / (2.4 * rows + 0.9), bottom=0.6 / (2.4 * rows + 0.9),
                        hspace=0.45, wspace=0.25)
    axes = fig.subplots(rows, cols, squeeze=False, sharex=True)
    for index, brand in enumerate(brands):
        ax = axes[index // cols][index % cols]
        days = digest.series.get(brand, [])
        xs = list(range(len(days)))
        bottom = [0] * len(days)
        for sentiment in SENTIMENTS:
            heights = [d.by_sentiment.get(sentiment, 0) for d in days]
            if any(heights):
                ax.bar(xs, heights, bottom=bottom, color=_COLOURS[sentiment], label=sentiment, width=0.8)
                bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
        # A `$` in a brand name would start mathtext; show it literally.
        ax.set_title(brand[:40].replace("$", r"\$"), fontsize=9)
        ax.set_xticks(xs[::3], [d.day.strftime("%d %b") for d in days][::3], fontsize=7)
        ax.tick_params(axis="y", labelsize=7)
        ax.set_ylim(bottom=0)
    for index in range(len(brands), rows * cols):
        axes[index // cols][index % cols].set_visible(False)
    handles = [Patch(color=_COLOURS[s], label=s) for s in SENTIMENTS]
    fig.legend(handles=handles, loc="lower center", ncols=len(SENTIMENTS), fontsize=8, frameon=False)
    fig.suptitle(f"Mentions per day, 14 days to {digest.day.isoformat()} ({digest.timezone})", fontsize=10)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()
