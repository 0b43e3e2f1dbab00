"""Small server-rendered SVG plots for the dashboard (matplotlib, imported when first used).

Each function returns an ``<svg>`` element that scales to its container's width (its fixed
width and height are dropped, its viewBox kept) and keeps text as text, so it stays sharp.
Figures are drawn about a phone's width (4 in at 96 dpi) so their text stays readable there;
wider screens scale them up.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from typing import Any

_SIZE = re.compile(r'\s(width|height)="[^"]*"')
INK = "#1f2933"
BAR = "#3b6fd4"
ACCENT = "#d9480f"


def _figure(width_in: float, height_in: float) -> Any:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width_in, height_in), dpi=96)
    fig.patch.set_alpha(0.0)
    return fig


def _svg(fig: Any, label: str) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    text = buf.getvalue()
    start = text.index("<svg")
    head_end = text.index(">", start)
    head = _SIZE.sub("", text[start:head_end])
    head += f' role="img" aria-label="{label}" class="plot" preserveAspectRatio="xMinYMin meet"'
    return head + text[head_end:]


def _style(ax: Any) -> None:
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.tick_params(colors=INK, labelsize=10)
    ax.grid(axis="x", color="#dde3ea", linewidth=0.6)
    ax.set_axisbelow(True)


def hbar(
    labels: Sequence[str],
    values: Sequence[float],
    *,
    label: str,
    unit: str = "",
    log: bool = False,
) -> str:
    """Horizontal bars, one per label, each with its value written at its end."""
    import matplotlib

    matplotlib.rcParams["svg.fonttype"] = "none"
    n = max(len(labels), 1)
    fig = _figure(4.0, 0.34 * n + 0.5)
    ax = fig.add_subplot()
    ys = list(range(len(labels)))[::-1]
    vals = [float(v or 0) for v in values]
    ax.barh(ys, vals, color=BAR, height=0.6)
    ax.set_yticks(ys, [str(x) for x in labels])
    if log and any(v > 0 for v in vals):
        ax.set_xscale("symlog", linthresh=1)
    top = max(vals, default=0) or 1
    for y, v in zip(ys, vals, strict=True):
        text = f"{v:,.0f}" if v >= 10 or v == int(v) else f"{v:.3g}"
        ax.text(v, y, f" {text}{unit}", va="center", fontsize=10, color=INK)
    ax.set_xlim(0, top * (3 if log else 1.25))
    ax.set_xlabel(label, fontsize=10, color=INK)
    _style(ax)
    return _svg(fig, label)


def series(
    points: Sequence[tuple[float, float]],
    *,
    label: str,
    xlabel: str,
    marker: bool = True,
) -> str:
    """Points over time (x in seconds, negative = ago), joined by a line."""
    import matplotlib

    matplotlib.rcParams["svg.fonttype"] = "none"
    fig = _figure(4.0, 1.9)
    ax = fig.add_subplot()
    if len(points) >= 2:
        xs, ys = zip(*points, strict=True)
        ax.plot(xs, ys, color=ACCENT, linewidth=1.2, marker="o" if marker else None, ms=2.5)
        ax.set_ylim(bottom=0)
    else:
        ax.text(0.5, 0.5, "waiting for more readings", ha="center", va="center",
                transform=ax.transAxes, fontsize=10, color=INK)  # fmt: skip
        ax.set_xticks([])
        ax.set_yticks([])
    ax.set_xlabel(xlabel, fontsize=10, color=INK)
    ax.set_ylabel(label, fontsize=10, color=INK)
    _style(ax)
    ax.grid(axis="y", color="#dde3ea", linewidth=0.6)
    return _svg(fig, label)
