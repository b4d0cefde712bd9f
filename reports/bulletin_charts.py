"""Small inline-SVG charts for the bulletin: a fan chart and per-horizon probability bars.

Why not the matplotlib PNGs of :mod:`reports.plots`? The bulletin is one self-contained
HTML page that must print sharply and load with no external file: SVG is vector (crisp on
paper and on high-DPI screens), a few kilobytes per region, and needs no image encoding.
The numbers drawn are computed upstream; these functions only place them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

import numpy as np

BAND_COLOUR = "#c0392b"
HISTORY_COLOUR = "#243447"
THRESHOLD_COLOUR = "#7a5c00"
GRID_COLOUR = "#d9dde3"


def _nice_axis(value: float, intervals: int = 5) -> tuple[float, float]:
    """A round axis maximum ≥ value and its tick step (1, 2 or 5 × 10^k)."""
    if value <= 0 or not math.isfinite(value):
        return 1.0, 0.25
    raw = value / intervals
    exponent = math.floor(math.log10(raw))
    step = next(m * 10.0**exponent for m in (1.0, 2.0, 5.0, 10.0) if m * 10.0**exponent >= raw)
    return step * math.ceil(value / step - 1e-9), step


def _fmt(value: float) -> str:
    return f"{value:,.0f}" if value >= 10 or value == int(value) else f"{value:.1f}"


def fan_chart_svg(
    history_months: Sequence[str],
    history_values: Sequence[float],
    forecast_months: Sequence[str],
    quantiles: dict[str, Sequence[float]],
    *,
    threshold: float | None = None,
    title: str = "",
    width: int = 460,
    height: int = 190,
) -> str:
    """An inline SVG fan chart: observed months, then the 50% and 90% forecast bands.

    Args:
        history_months: ``YYYY-MM`` of the observed months shown (e.g. the last 24).
        history_values: observed values (NaN = missing month, drawn as a gap).
        forecast_months: ``YYYY-MM`` of the forecast months (origin + 1 …).
        quantiles: ``q0.05``, ``q0.25``, ``q0.50``, ``q0.75``, ``q0.95`` → values per forecast
            month.
        threshold: the escalation threshold, drawn as a dashed line.
        title: accessible title (screen readers, hover).
        width: view-box width in px.
        height: view-box height in px.

    Returns:
        An ``<svg>`` element as a string (role="img", with <title>).
    """
    hist = np.asarray(history_values, dtype=float)
    bands = {key: np.asarray(values, dtype=float) for key, values in quantiles.items()}
    n_hist, n_fc = len(history_months), len(forecast_months)
    n = max(n_hist + n_fc, 2)
    left, right, top, bottom = 44, 10, 12, 26
    plot_w, plot_h = width - left - right, height - top - bottom
    candidates = [threshold or 0.0, *bands.get("q0.95", []), *hist[np.isfinite(hist)]]
    y_max, step = _nice_axis(max(candidates) * 1.05 if candidates else 1.0)

    def x(i: float) -> float:
        return left + plot_w * i / (n - 1)

    def y(v: float) -> float:
        return top + plot_h * (1.0 - min(max(v, 0.0), y_max) / y_max)

    parts = [
        f'<svg class="chart fan" viewBox="0 0 {width} {height}" width="100%" '
        f'preserveAspectRatio="xMidYMid meet" role="img" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
    ]
    for k in range(round(y_max / step) + 1):  # horizontal grid and y labels
        value = step * k
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y(value):.1f}" y2="{y(value):.1f}" '
            f'stroke="{GRID_COLOUR}" stroke-width="1"/>'
            f'<text x="{left - 5}" y="{y(value) + 3.5:.1f}" text-anchor="end" '
            f'class="axis">{_fmt(value)}</text>'
        )
    if n_hist:  # shade the forecast period
        parts.append(
            f'<rect x="{x(n_hist - 1):.1f}" y="{top}" width="{x(n - 1) - x(n_hist - 1):.1f}" '
            f'height="{plot_h}" fill="#f4f6f8"/>'
        )
    if n_fc and bands:
        # Anchor the fan at the last observation so the picture reads as one line.
        anchor = hist[-1] if n_hist and np.isfinite(hist[-1]) else None
        xs = [x(n_hist + i) for i in range(n_fc)]
        if anchor is not None:
            xs = [x(n_hist - 1), *xs]

        def series(key: str) -> list[float]:
            values = list(bands[key])
            return [anchor, *values] if anchor is not None else values

        for low, high, opacity in (("q0.05", "q0.95", 0.18), ("q0.25", "q0.75", 0.38)):
            if low in bands and high in bands:
                upper = " ".join(
                    f"{a:.1f},{y(b):.1f}" for a, b in zip(xs, series(high), strict=True)
                )
                lower = " ".join(
                    f"{a:.1f},{y(b):.1f}"
                    for a, b in reversed(list(zip(xs, series(low), strict=True)))
                )
                parts.append(
                    f'<polygon class="band" points="{upper} {lower}" fill="{BAND_COLOUR}" '
                    f'fill-opacity="{opacity}" stroke="none"/>'
                )
        if "q0.50" in bands:
            median = " ".join(
                f"{a:.1f},{y(b):.1f}" for a, b in zip(xs, series("q0.50"), strict=True)
            )
            parts.append(
                f'<polyline class="median" points="{median}" fill="none" '
                f'stroke="{BAND_COLOUR}" stroke-width="2"/>'
            )
    segment: list[str] = []
    segments: list[list[str]] = []
    for i, value in enumerate(hist):
        if np.isfinite(value):
            segment.append(f"{x(i):.1f},{y(value):.1f}")
        elif segment:
            segments.append(segment)
            segment = []
    if segment:
        segments.append(segment)
    for points in segments:
        if len(points) == 1:
            cx, cy = points[0].split(",")
            parts.append(f'<circle cx="{cx}" cy="{cy}" r="2" fill="{HISTORY_COLOUR}"/>')
        else:
            parts.append(
                f'<polyline class="observed" points="{" ".join(points)}" fill="none" '
                f'stroke="{HISTORY_COLOUR}" stroke-width="1.6"/>'
            )
    if threshold is not None and math.isfinite(threshold):
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y(threshold):.1f}" '
            f'y2="{y(threshold):.1f}" stroke="{THRESHOLD_COLOUR}" stroke-width="1.2" '
            f'stroke-dasharray="5 3"/>'
            f'<text x="{left + 4}" y="{y(threshold) - 4:.1f}" text-anchor="start" '
            f'class="axis threshold" paint-order="stroke" stroke="#ffffff" stroke-width="3">'
            f"escalation ≥ {_fmt(threshold)}</text>"
        )
    months = [*history_months, *forecast_months]
    ticks = sorted({0, n_hist - 1, n - 1} - {-1}) if months else []
    for i in ticks:
        anchor_text = "start" if i == 0 else ("end" if i == n - 1 else "middle")
        parts.append(
            f'<text x="{x(i):.1f}" y="{height - 8}" text-anchor="{anchor_text}" '
            f'class="axis">{escape(months[i])}</text>'
        )
    parts.append(
        f'<line x1="{left}" x2="{left}" y1="{top}" y2="{top + plot_h}" stroke="#9aa3ad"/>'
        f'<line x1="{left}" x2="{width - right}" y1="{top + plot_h}" y2="{top + plot_h}" '
        f'stroke="#9aa3ad"/>'
    )
    parts.append("</svg>")
    return "".join(parts)


def probability_bars_svg(
    probabilities: Sequence[float],
    *,
    months: Sequence[str] = (),
    title: str = "",
    width: int = 460,
    height: int = 96,
    colour_of: object = None,
) -> str:
    """Bars of P(escalation) per horizon, 0–100 %, with the horizon under each bar.

    Args:
        probabilities: one probability per horizon (h = 1 …).
        months: ``YYYY-MM`` per horizon, shown on hover.
        title: accessible title.
        width: view-box width in px.
        height: view-box height in px.
        colour_of: callable probability → CSS colour (default one red).
    """
    p = np.clip(np.nan_to_num(np.asarray(probabilities, dtype=float)), 0.0, 1.0)
    left, right, top, bottom = 44, 10, 8, 18
    plot_w, plot_h = width - left - right, height - top - bottom
    slot = plot_w / max(len(p), 1)
    parts = [
        f'<svg class="chart bars" viewBox="0 0 {width} {height}" width="100%" '
        f'preserveAspectRatio="xMidYMid meet" role="img" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
    ]
    for level in (0.0, 0.5, 1.0):
        yy = top + plot_h * (1 - level)
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{yy:.1f}" y2="{yy:.1f}" '
            f'stroke="{GRID_COLOUR}"/><text x="{left - 5}" y="{yy + 3.5:.1f}" '
            f'text-anchor="end" class="axis">{level:.0%}</text>'
        )
    for i, value in enumerate(p):
        colour = colour_of(value) if callable(colour_of) else BAND_COLOUR
        bar_h = max(plot_h * value, 0.8)
        label = f"h{i + 1}" + (f" ({months[i]})" if i < len(months) else "")
        parts.append(
            f'<rect class="bar" x="{left + i * slot + slot * 0.15:.1f}" '
            f'y="{top + plot_h - bar_h:.1f}" width="{slot * 0.7:.1f}" height="{bar_h:.1f}" '
            f'fill="{colour}"><title>{escape(label)}: {value:.0%}</title></rect>'
        )
        if len(p) <= 12 or (i + 1) % 3 == 0 or i == 0:
            parts.append(
                f'<text x="{left + (i + 0.5) * slot:.1f}" y="{height - 5}" '
                f'text-anchor="middle" class="axis">{i + 1}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)
