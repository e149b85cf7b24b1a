"""Inline SVG charts for the demo report: no JavaScript and no CDN, so the report is one file that works offline.

Each function returns an ``<svg>`` element as a string. Text is escaped here; fonts and sizes come from the page's
CSS (the SVG inherits it), so Chinese labels use the same CJK font stack as the rest of the report.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

BLUE = "#2563eb"
BLUE_LIGHT = "#93c5fd"
GREEN = "#059669"
RED = "#dc2626"
AMBER = "#f59e0b"
GRID = "#e5e7eb"
AXIS = "#6b7280"
INK = "#1f2937"


def _e(text: object) -> str:
    return escape(str(text), quote=True)


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round tick values covering ``lo..hi`` (1, 2 or 5 times a power of ten apart)."""
    if hi <= lo:
        hi = lo + 1
    raw = (hi - lo) / max(count, 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)
    first = math.floor(lo / step) * step
    ticks, v = [], first
    while v <= hi + step * 1e-9:
        ticks.append(round(v, 10))
        v += step
    if ticks[-1] < hi:
        ticks.append(round(ticks[-1] + step, 10))
    return ticks


@dataclass(frozen=True)
class _TrendFrame:
    """The plot area of :func:`trend` and its two scales (cases on the left, rates on the right)."""

    left: int
    top: int
    pw: int
    ph: int
    slot: float
    ymax: float
    rlo: float

    def y(self, v: float) -> float:
        return self.top + self.ph - v / self.ymax * self.ph

    def yr(self, r: float) -> float:
        return self.top + self.ph - (r - self.rlo) / (1 - self.rlo) * self.ph

    def centre(self, i: int) -> float:
        return self.left + i * self.slot + self.slot / 2


def trend(
    days: Sequence[tuple[dt.date, int, float | None]],
    rest_days: set[dt.date],
    *,
    width: int = 1160,
    height: int = 320,
) -> str:
    """Daily intake (bars, left axis) and the on-time rate of the day's resolutions (line, right axis).
    ``days``: (day, cases received, on-time rate or None); rest days are shaded."""
    if not days:
        return '<svg class="chart" viewBox="0 0 10 10"></svg>'
    left, right, top, bottom = 56, 64, 20, 46
    rates = [d[2] for d in days if d[2] is not None]
    rlo = max(0.0, math.floor((min(rates, default=0.9) - 0.02) * 20) / 20)  # a 5% step below the lowest rate
    f = _TrendFrame(
        left=left,
        top=top,
        pw=width - left - right,
        ph=height - top - bottom,
        slot=(width - left - right) / len(days),
        ymax=nice_ticks(0, max(1, max(d[1] for d in days)))[-1],
        rlo=min(rlo, 0.9),
    )
    out = [
        f'<svg class="chart" width="{width}" viewBox="0 0 {width} {height}" role="img" aria-label="daily intake and on-time rate">'
    ]
    out += _trend_grid(f, days, rest_days)
    out += _trend_bars(f, days, rest_days)
    out += _trend_line(f, days)
    out.append(
        f'<line x1="{left}" x2="{left + f.pw}" y1="{top + f.ph}" y2="{top + f.ph}" stroke="{AXIS}"/>'
        f'<text x="{left}" y="{height - 6}" class="axis-label">受理量 Cases received / day (bars; light: rest day 休息日)</text>'
        f'<text x="{left + f.pw}" y="{height - 6}" text-anchor="end" class="axis-label" fill="{GREEN}">'
        "按时办结率 On-time rate of the day's resolutions (line)</text></svg>"
    )
    return "".join(out)


def _trend_grid(
    f: _TrendFrame, days: Sequence[tuple[dt.date, int, float | None]], rest_days: set[dt.date]
) -> list[str]:
    """Rest-day shading, horizontal grid lines and both axes' tick labels."""
    out = [
        f'<rect x="{f.left + i * f.slot:.1f}" y="{f.top}" width="{f.slot:.1f}" height="{f.ph}" fill="#f3f4f6"/>'
        for i, (day, _, _) in enumerate(days)
        if day in rest_days
    ]
    for t in nice_ticks(0, f.ymax):
        out.append(
            f'<line x1="{f.left}" x2="{f.left + f.pw}" y1="{f.y(t):.1f}" y2="{f.y(t):.1f}" stroke="{GRID}"/>'
        )
        out.append(
            f'<text x="{f.left - 8}" y="{f.y(t) + 4:.1f}" text-anchor="end" class="tick">{t:,.0f}</text>'
        )
    for r in nice_ticks(f.rlo, 1.0, 4):
        if f.rlo <= r <= 1.0:
            out.append(
                f'<text x="{f.left + f.pw + 8}" y="{f.yr(r) + 4:.1f}" class="tick" fill="{GREEN}">{r:.0%}</text>'
            )
    return out


def _trend_bars(
    f: _TrendFrame, days: Sequence[tuple[dt.date, int, float | None]], rest_days: set[dt.date]
) -> list[str]:
    """One bar per day (lighter on rest days) and the day labels, at most about 16 of them."""
    out = []
    bw = max(f.slot * 0.7, 1.0)
    for i, (day, received, _) in enumerate(days):
        x = f.left + i * f.slot + (f.slot - bw) / 2
        colour = BLUE_LIGHT if day in rest_days else BLUE
        out.append(
            f'<rect x="{x:.1f}" y="{f.y(received):.1f}" width="{bw:.1f}" height="{f.top + f.ph - f.y(received):.1f}" '
            f'fill="{colour}" rx="1.5"><title>{day:%Y-%m-%d}: {received:,} cases received</title></rect>'
        )
    n = len(days)
    every = max(1, math.ceil(n / 16))
    for i, (day, _, _) in enumerate(days):
        if i % every == 0 or i == n - 1:
            out.append(
                f'<text x="{f.centre(i):.1f}" y="{f.top + f.ph + 18}" text-anchor="middle" class="tick">{day:%m-%d}</text>'
            )
    return out


def _trend_line(f: _TrendFrame, days: Sequence[tuple[dt.date, int, float | None]]) -> list[str]:
    """The on-time rate as a line with a marker per day that has resolutions."""
    points = [(f.centre(i), f.yr(r), day, r) for i, (day, _, r) in enumerate(days) if r is not None]
    if not points:
        return []
    path = " ".join(f"{'M' if j == 0 else 'L'}{x:.1f},{yy:.1f}" for j, (x, yy, _, _) in enumerate(points))
    out = [f'<path d="{path}" fill="none" stroke="{GREEN}" stroke-width="2.5" stroke-linejoin="round"/>']
    for x, yy, day, r in points:
        out.append(
            f'<circle cx="{x:.1f}" cy="{yy:.1f}" r="3" fill="#fff" stroke="{GREEN}" stroke-width="2">'
            f"<title>{day:%Y-%m-%d}: on-time rate {r:.2%}</title></circle>"
        )
    return out


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    text: str  # shown after the bar
    colour: str = BLUE
    note: str = ""  # shown right-aligned in the label column's margin


def hbars(
    bars: Sequence[Bar],
    *,
    value_max: float | None = None,
    value_min: float = 0.0,
    width: int = 560,
    label_width: int = 210,
    row: int = 24,
    tick_format: Callable[[float], str] = lambda v: f"{v:,.0f}",
    caption: str = "",
    right: int = 110,
) -> str:
    """A horizontal bar chart, one row per bar, in the given order; ``right`` is the room for the value text."""
    top, bottom = 8, 40 if caption else 26
    height = top + row * len(bars) + bottom
    pw = width - label_width - right
    vmax = value_max if value_max is not None else nice_ticks(0, max([b.value for b in bars] + [1]))[-1]
    span = max(vmax - value_min, 1e-9)

    def x(v: float) -> float:
        return label_width + max(0.0, min(v, vmax) - value_min) / span * pw

    out = [f'<svg class="chart" width="{width}" viewBox="0 0 {width} {height}" role="img">']
    for t in nice_ticks(value_min, vmax, 4):
        if value_min <= t <= vmax:
            out.append(
                f'<line x1="{x(t):.1f}" x2="{x(t):.1f}" y1="{top}" y2="{top + row * len(bars)}" stroke="{GRID}"/>'
            )
            out.append(
                f'<text x="{x(t):.1f}" y="{top + row * len(bars) + 16}" text-anchor="middle" class="tick">'
                f"{_e(tick_format(t))}</text>"
            )
    for i, b in enumerate(bars):
        yy = top + i * row
        out.append(
            f'<text x="{label_width - 8}" y="{yy + row / 2 + 4:.1f}" text-anchor="end" class="label">{_e(b.label)}</text>'
            f'<rect x="{label_width}" y="{yy + 4}" width="{x(b.value) - label_width:.1f}" height="{row - 8}" '
            f'fill="{b.colour}" rx="2"><title>{_e(b.label)}: {_e(b.text)}</title></rect>'
            f'<text x="{x(b.value) + 6:.1f}" y="{yy + row / 2 + 4:.1f}" class="value">{_e(b.text)}</text>'
        )
    if caption:
        out.append(f'<text x="{label_width}" y="{height - 4}" class="axis-label">{_e(caption)}</text>')
    out.append("</svg>")
    return "".join(out)


def heat_colour(points: float, worst: float) -> str:
    """White through amber to red as ``points`` approaches ``worst`` (both positive)."""
    if points <= 0 or worst <= 0:
        return "#f8fafc"
    t = min(points / worst, 1.0) ** 0.6
    stops = ((255, 247, 237), (253, 186, 116), (234, 88, 12), (185, 28, 28))
    pos = t * (len(stops) - 1)
    i = min(int(pos), len(stops) - 2)
    f = pos - i
    r, g, b = (round(a + (c - a) * f) for a, c in zip(stops[i], stops[i + 1], strict=True))
    return f"#{r:02x}{g:02x}{b:02x}"


def heatmap(
    rows: Sequence[str],
    columns: Sequence[str],
    cells: dict[tuple[int, int], tuple[int, int]],
    weights: tuple[float, float],
    *,
    label_width: int = 230,
    cell_width: int = 120,
    row: int = 28,
) -> str:
    """Departments × weeks; a cell shows its yellow and red cards, coloured by their penalty points
    (``weights``: points per yellow and per red card, as positive numbers)."""
    top = 34
    cell_width = max(cell_width, min(200, (1150 - label_width) // max(len(columns), 1)))
    width = label_width + cell_width * len(columns) + 10
    height = top + row * len(rows) + 10
    wy, wr = weights
    worst = max([y * wy + r * wr for y, r in cells.values()] + [1.0])
    out = [
        f'<svg class="chart" width="{width}" viewBox="0 0 {width} {height}" role="img" aria-label="warning heat map">'
    ]
    for j, c in enumerate(columns):
        out.append(
            f'<text x="{label_width + j * cell_width + cell_width / 2:.1f}" y="{top - 12}" text-anchor="middle" '
            f'class="label">{_e(c)}</text>'
        )
    for i, name in enumerate(rows):
        yy = top + i * row
        out.append(
            f'<text x="{label_width - 8}" y="{yy + row / 2 + 4:.1f}" text-anchor="end" class="label">{_e(name)}</text>'
        )
        for j in range(len(columns)):
            yellow, red = cells.get((i, j), (0, 0))
            pts = yellow * wy + red * wr
            fill = heat_colour(pts, worst)
            dark = pts / worst > 0.45
            text = "·" if not (yellow or red) else f"红{red} 黄{yellow}"
            out.append(
                f'<rect x="{label_width + j * cell_width + 1}" y="{yy + 1}" width="{cell_width - 2}" '
                f'height="{row - 2}" fill="{fill}" rx="3"><title>{_e(name)} · {_e(columns[j])}: '
                f"{red} red, {yellow} yellow</title></rect>"
                f'<text x="{label_width + j * cell_width + cell_width / 2:.1f}" y="{yy + row / 2 + 4:.1f}" '
                f'text-anchor="middle" class="cell" fill="{"#fff" if dark else INK}">{text}</text>'
            )
    out.append("</svg>")
    return "".join(out)
