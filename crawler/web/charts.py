"""Charts drawn on the server as inline SVG (no JavaScript, nothing for the CSP to refuse).

Every label is escaped; each data point of a line chart is one ``<circle class="point">`` with a
``<title>`` (hover text), each bar one ``<rect class="bar">``, so a test can count them. Sizes are
in SVG user units; the CSS scales the SVG to its container.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

__all__ = ["Series", "bar_chart", "line_chart"]

#: Colours of the series, in order (the palette of marsad.css).
#: Width of one x label (a YYYY-MM-DD date at font-size 11) with its margin, in SVG units.
X_LABEL_WIDTH = 84

PALETTE = ("#0b6e4f", "#c2570c", "#3056a8", "#8a3ea8", "#5b6670")
#: Line styles of the series, in order: a series drawn over an equal one still shows.
DASHES = ("", ' stroke-dasharray="6 4"', ' stroke-dasharray="2 3"')


@dataclass(frozen=True)
class Series:
    """One line: a name and one value per x label (the same labels for every series)."""

    name: str
    values: Sequence[float]


def _number(value: float) -> str:
    if value == int(value):
        return f"{int(value):,}"
    return f"{value:,.3g}" if abs(value) < 1 else f"{value:,.1f}"


def _percent(value: float) -> str:
    return f"{value * 100:.2g}%" if value < 0.1 else f"{value * 100:.0f}%"


def _ticks(top: float, count: int = 4) -> list[float]:
    return [top * k / count for k in range(count + 1)]


def line_chart(
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    title: str,
    width: int = 720,
    height: int = 220,
    percent: bool = False,
    css_class: str = "chart",
) -> Markup:
    """A line chart of *series* over *labels* (x, in order; usually days): one polyline and one
    circle per point and series. *percent* formats the y axis as shares (0..1)."""
    fmt: Callable[[float], str] = _percent if percent else _number
    left, right, top, bottom = 56, 12, 14, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    high = max((v for s in series for v in s.values), default=0.0) or 1.0
    n = len(labels)

    def x(i: int) -> float:
        return left + (plot_w * i / (n - 1) if n > 1 else plot_w / 2)

    def y(v: float) -> float:
        return top + plot_h - plot_h * v / high

    parts = [
        f'<svg class="{escape(css_class)}" xmlns="http://www.w3.org/2000/svg" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
    ]
    for tick in _ticks(high):
        ty = y(tick)
        parts.append(
            f'<line class="grid" x1="{left}" y1="{ty:.1f}" x2="{width - right}" y2="{ty:.1f}" '
            'stroke="#d8dee4" stroke-width="1"/>'
            f'<text class="tick" x="{left - 6}" y="{ty + 4:.1f}" text-anchor="end" '
            f'font-size="11" fill="#5b6670">{escape(fmt(tick))}</text>'
        )
    if n:
        room = max(2, plot_w // X_LABEL_WIDTH)  # labels that fit side by side
        step = max(1, -(-n // room))
        shown = list(range(0, n, step))[:room]
        if shown[-1] != n - 1:
            if len(shown) > 1 and x(n - 1) - x(shown[-1]) < X_LABEL_WIDTH:  # would overlap
                shown.pop()
            shown.append(n - 1)
        for i in shown:
            parts.append(
                f'<text class="xlabel" x="{x(i):.1f}" y="{height - 12}" text-anchor="middle" '
                f'font-size="11" fill="#5b6670">{escape(labels[i])}</text>'
            )
    for k, line in enumerate(series):
        colour = PALETTE[k % len(PALETTE)]
        points = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(line.values))
        parts.append(
            f'<g class="series" data-series="{escape(line.name)}">'
            f'<polyline fill="none" stroke="{colour}" stroke-width="2"{DASHES[k % len(DASHES)]} '
            f'points="{points}"/>'
        )
        for i, value in enumerate(line.values):
            parts.append(
                f'<circle class="point" cx="{x(i):.1f}" cy="{y(value):.1f}" r="2.5" '
                f'fill="{colour}"><title>{escape(labels[i])} · {escape(line.name)}: '
                f"{escape(fmt(value))}</title></circle>"
            )
        parts.append("</g>")
    legend_x = left
    for k, line in enumerate(series):
        colour = PALETTE[k % len(PALETTE)]
        parts.append(
            f'<rect class="legend" x="{legend_x}" y="2" width="10" height="10" fill="{colour}"/>'
            f'<text x="{legend_x + 14}" y="11" font-size="11" fill="#1d232a">'
            f"{escape(line.name)}</text>"
        )
        legend_x += 24 + 7 * len(line.name)
    parts.append("</svg>")
    return Markup("".join(parts))


def bar_chart(
    items: Sequence[tuple[str, float]],
    *,
    title: str,
    width: int = 360,
    bar_height: int = 18,
    css_class: str = "chart bars",
) -> Markup:
    """Horizontal bars, one ``<rect class="bar">`` per (label, value), longest = widest."""
    label_w, gap = 130, 4
    height = max(1, len(items)) * (bar_height + gap) + 4
    high = max((v for _, v in items), default=0.0) or 1.0
    room = width - label_w - 60
    parts = [
        f'<svg class="{escape(css_class)}" xmlns="http://www.w3.org/2000/svg" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
    ]
    for i, (label, value) in enumerate(items):
        top = 2 + i * (bar_height + gap)
        bar_w = max(1.0, room * value / high)
        shown = label if len(label) <= 20 else label[:19] + "…"
        parts.append(
            f'<text x="{label_w - 6}" y="{top + bar_height - 5}" text-anchor="end" '
            f'font-size="12" fill="#1d232a">{escape(shown)}</text>'
            f'<rect class="bar" x="{label_w}" y="{top}" width="{bar_w:.1f}" '
            f'height="{bar_height}" fill="#0b6e4f"><title>{escape(label)}: '
            f"{escape(_number(value))}</title></rect>"
            f'<text x="{label_w + bar_w + 4:.1f}" y="{top + bar_height - 5}" font-size="12" '
            f'fill="#5b6670">{escape(_number(value))}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))
