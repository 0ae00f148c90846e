"""Line charts as inline SVG, rendered on the server: no JavaScript, no CDN (the machine may be offline)."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from html import escape

# one colour per integration, the same in every chart
PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf")
WIDTH, HEIGHT = 560, 220
LEFT, RIGHT, TOP, BOTTOM = 52, 12, 14, 34


def colour_of(names: list[str], name: str) -> str:
    return PALETTE[names.index(name) % len(PALETTE)] if name in names else PALETTE[-1]


def _nice_max(value: float) -> float:
    """A round upper bound for the y axis (1, 2, 5 x a power of ten)."""
    if value <= 0:
        return 1.0
    magnitude = 10 ** math.floor(math.log10(value))
    return next(step * magnitude for step in (1, 2, 5, 10) if value <= step * magnitude)


def _number(value: float, unit: str) -> str:
    text = f"{value:,.0f}" if abs(value) >= 10 or value == int(value) else f"{value:.1f}"
    return f"{text}{unit}"


def line_chart(chart_id: str, title: str, series: dict[str, list[tuple[datetime, float]]], names: list[str],
               unit: str = "", y_max: float | None = None) -> str:
    """An SVG with one polyline (and points with tooltips) per integration."""
    points = [(t, v) for values in series.values() for t, v in values]
    head = (f'<svg id="{escape(chart_id)}" class="chart" role="img" viewBox="0 0 {WIDTH} {HEIGHT}" '
            f'width="{WIDTH}" height="{HEIGHT}" data-points="{len(points)}" aria-label="{escape(title)}">'
            f"<title>{escape(title)}</title>")
    if not points:
        return (head + f'<text x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle" fill="#777">'
                "no data yet</text></svg>")
    t0 = min(t for t, _ in points)
    t1 = max(t for t, _ in points)
    if t1 - t0 < timedelta(minutes=2):  # a single moment: give it some width
        t0, t1 = t0 - timedelta(hours=1), t1 + timedelta(hours=1)
    top = y_max if y_max is not None else _nice_max(max(v for _, v in points))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(t: datetime) -> float:
        return LEFT + plot_w * (t - t0) / (t1 - t0)

    def y(v: float) -> float:
        return TOP + plot_h * (1 - min(v, top) / top)

    parts = [head]
    for frac in (0, 0.5, 1):  # horizontal grid with labels
        yy = y(top * frac)
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{yy:.1f}" y2="{yy:.1f}" stroke="#e3e6ec"/>'
                     f'<text x="{LEFT - 6}" y="{yy + 4:.1f}" text-anchor="end" font-size="11" fill="#555">'
                     f"{escape(_number(top * frac, unit))}</text>")
    same_day = t0.date() == t1.date()
    for frac in (0, 0.5, 1):  # time ticks (UTC)
        t = t0 + (t1 - t0) * frac
        label = t.strftime("%H:%M" if same_day else "%d %b %H:%M")
        anchor = ("start", "middle", "end")[int(frac * 2)]
        parts.append(f'<text x="{x(t):.1f}" y="{HEIGHT - 12}" text-anchor="{anchor}" font-size="11" '
                     f'fill="#555">{label}</text>')
    for name, values in series.items():
        if not values:
            continue
        colour = colour_of(names, name)
        coords = " ".join(f"{x(t):.1f},{y(v):.1f}" for t, v in sorted(values))
        parts.append(f'<polyline class="series" data-integration="{escape(name)}" points="{coords}" '
                     f'fill="none" stroke="{colour}" stroke-width="2"/>')
        for t, v in values:
            parts.append(f'<circle cx="{x(t):.1f}" cy="{y(v):.1f}" r="2.5" fill="{colour}">'
                         f"<title>{escape(name)} {t:%Y-%m-%d %H:%M} UTC: {escape(_number(v, unit))}</title></circle>")
    parts.append("</svg>")
    return "".join(parts)
