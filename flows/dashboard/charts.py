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


def bar_chart(chart_id: str, title: str, categories: list[str], series: dict[str, dict[str, float]],
              names: list[str], unit: str = "") -> str:
    """Grouped bars: one group per category (a day), one bar per series (a channel); negative
    values (returns) hang below the zero line."""
    values = [v for per in series.values() for v in per.values()]
    head = (f'<svg id="{escape(chart_id)}" class="chart" role="img" viewBox="0 0 {WIDTH} {HEIGHT}" '
            f'width="{WIDTH}" height="{HEIGHT}" data-bars="{len(values)}" aria-label="{escape(title)}">'
            f"<title>{escape(title)}</title>")
    if not values or not categories:
        return (head + f'<text x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle" fill="#777">'
                "no data in this range</text></svg>")
    top = _nice_max(max(max(values), 0))
    bottom = -_nice_max(-min(values)) if min(values) < 0 else 0.0
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def y(v: float) -> float:
        return TOP + plot_h * (top - v) / (top - bottom)

    parts = [head]
    for v in sorted({top, 0.0, bottom, top / 2}):
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="#e3e6ec"/>'
                     f'<text x="{LEFT - 6}" y="{y(v) + 4:.1f}" text-anchor="end" font-size="11" fill="#555">'
                     f"{escape(_number(v, unit))}</text>")
    group_w = plot_w / len(categories)
    names_here = [n for n in names if n in series]
    bar_w = max(group_w * 0.8 / max(len(names_here), 1), 1.0)
    for i, category in enumerate(categories):
        x0 = LEFT + i * group_w + group_w * 0.1
        for j, name in enumerate(names_here):
            if category not in series[name]:
                continue
            v = series[name][category]
            top_y, bottom_y = sorted((y(v), y(0)))
            parts.append(f'<rect class="bar" data-series="{escape(name)}" data-category="{escape(category)}" '
                         f'x="{x0 + j * bar_w:.1f}" y="{top_y:.1f}" width="{bar_w:.1f}" '
                         f'height="{max(bottom_y - top_y, 0.5):.1f}" fill="{colour_of(names, name)}">'
                         f"<title>{escape(name)} {escape(category)}: {escape(_number(v, unit))}</title></rect>")
    step = max(1, len(categories) // 6)  # at most about seven labels
    for i in range(0, len(categories), step):
        parts.append(f'<text x="{LEFT + (i + 0.5) * group_w:.1f}" y="{HEIGHT - 12}" text-anchor="middle" '
                     f'font-size="11" fill="#555">{escape(categories[i][5:])}</text>')
    parts.append("</svg>")
    return "".join(parts)


def hbar_chart(chart_id: str, title: str, items: list[tuple[str, float]], unit: str = "") -> str:
    """Horizontal bars, one per labelled item (top products, locations), largest first as given."""
    height = TOP + 22 * max(len(items), 1) + 8
    head = (f'<svg id="{escape(chart_id)}" class="chart" role="img" viewBox="0 0 {WIDTH} {height}" '
            f'width="{WIDTH}" height="{height}" data-bars="{len(items)}" aria-label="{escape(title)}">'
            f"<title>{escape(title)}</title>")
    if not items:
        return head + f'<text x="{WIDTH / 2}" y="{height / 2 + 4}" text-anchor="middle" fill="#777">none</text></svg>'
    label_w = 190
    top = _nice_max(max(max(v for _, v in items), 0))
    parts = [head]
    for i, (label, v) in enumerate(items):
        yy = TOP + 22 * i
        w = (WIDTH - label_w - 70) * max(v, 0) / top
        parts.append(f'<text x="{label_w - 6}" y="{yy + 13}" text-anchor="end" font-size="11" fill="#333">'
                     f"{escape(label[:32])}</text>"
                     f'<rect class="bar" x="{label_w}" y="{yy + 2}" width="{w:.1f}" height="16" fill="{PALETTE[0]}">'
                     f"<title>{escape(label)}: {escape(_number(v, unit))}</title></rect>"
                     f'<text x="{label_w + w + 4:.1f}" y="{yy + 14}" font-size="11" fill="#555">'
                     f"{escape(_number(v, unit))}</text>")
    parts.append("</svg>")
    return "".join(parts)
