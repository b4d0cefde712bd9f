"""Pictures people would rather look at than read: fan charts and reliability diagrams.

Plotting only — every number drawn here was computed upstream (``forecast/`` computes,
``reports/`` draws). Matplotlib runs on the Agg backend so plots render in a scheduler or a
server with no display.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

HISTORY_MONTHS = 24
_BAND_COLOUR = "#c0392b"
_HISTORY_COLOUR = "#2c3e50"


def _month_timestamps(months: pd.Series | pd.Index) -> pd.DatetimeIndex:
    """Months (Periods or ``YYYY-MM`` strings) as mid-month timestamps for the x axis."""
    periods = pd.PeriodIndex([pd.Period(m, freq="M") for m in months], freq="M")
    return periods.to_timestamp(how="start") + pd.Timedelta(days=14)


def fan_chart(
    history: pd.Series,
    forecast: pd.DataFrame,
    path: str | Path,
    *,
    title: str | None = None,
    history_months: int = HISTORY_MONTHS,
    actual: pd.Series | None = None,
) -> Path:
    """Draw the last ``history_months`` of observations and the forecast fan of one region.

    Args:
        history: observed values, index = monthly Periods (or ``YYYY-MM``), one region and
            series. Gaps are drawn as gaps.
        forecast: the output-contract rows of that region and series (``month``, ``mean``,
            ``q0.05`` … ``q0.95``, optionally ``threshold``), any order.
        path: PNG file to write (parent folders are created).
        title: figure title, e.g. ``"ML05 fatalities — conflictology, origin 2021-12"``.
        history_months: how much history to show before the origin.
        actual: in a backtest, what was observed in the forecast months (index = months);
            drawn as open circles so a reader sees where the truth fell in the fan.

    Returns:
        The path written.

    Raises:
        ValueError: when ``forecast`` is empty or lacks a quantile column of the contract.
    """
    needed = ["month", "q0.05", "q0.25", "q0.50", "q0.75", "q0.95"]
    missing = [column for column in needed if column not in forecast.columns]
    if forecast.empty or missing:
        raise ValueError(f"fan_chart needs forecast rows with columns {needed}; missing {missing}")
    rows = forecast.assign(_m=_month_timestamps(forecast["month"])).sort_values("_m")
    x = pd.DatetimeIndex(rows["_m"])

    observed = history.dropna().sort_index().iloc[-history_months:] if len(history) else history
    hx = _month_timestamps(observed.index) if len(observed) else pd.DatetimeIndex([])

    fig, ax = plt.subplots(figsize=(8, 4.2), dpi=110)
    # Start the fan at the last observation so the picture reads as one continuous line.
    anchor_x, anchor_y = (hx[-1:], observed.to_numpy()[-1:]) if len(observed) else ([], [])
    band_x = pd.DatetimeIndex(list(anchor_x) + list(x))

    def band(column: str) -> np.ndarray:
        return np.concatenate([anchor_y, rows[column].to_numpy(dtype=float)])

    ax.fill_between(
        band_x,
        band("q0.05"),
        band("q0.95"),
        color=_BAND_COLOUR,
        alpha=0.18,
        linewidth=0,
        label="90% interval",
    )
    ax.fill_between(
        band_x,
        band("q0.25"),
        band("q0.75"),
        color=_BAND_COLOUR,
        alpha=0.38,
        linewidth=0,
        label="50% interval",
    )
    ax.plot(band_x, band("q0.50"), color=_BAND_COLOUR, linewidth=1.8, label="median")
    if "mean" in rows:
        ax.plot(x, rows["mean"], color=_BAND_COLOUR, linewidth=1, linestyle=":", label="mean")
    if len(observed):
        ax.plot(
            hx,
            observed.to_numpy(dtype=float),
            color=_HISTORY_COLOUR,
            marker="o",
            markersize=3,
            linewidth=1.4,
            label="observed",
        )
        ax.axvline(hx[-1], color="grey", linewidth=0.8, linestyle="--")
    if "threshold" in rows and np.isfinite(rows["threshold"].to_numpy(dtype=float)).any():
        level = float(np.nanmax(rows["threshold"].to_numpy(dtype=float)))
        ax.axhline(
            level,
            color="#7f8c8d",
            linewidth=1,
            linestyle="-.",
            label=f"escalation threshold ({level:g})",
        )

    top = max(float(np.nanmax(band("q0.95"))), float(observed.max()) if len(observed) else 0.0)
    if actual is not None and len(actual.dropna()):
        truth = actual.dropna().sort_index()
        ax.plot(
            _month_timestamps(truth.index),
            truth.to_numpy(dtype=float),
            linestyle="none",
            marker="o",
            markersize=5,
            markerfacecolor="white",
            color=_HISTORY_COLOUR,
            label="observed (after origin)",
        )
        top = max(top, float(truth.max()))
    if "threshold" in rows and np.isfinite(rows["threshold"].to_numpy(dtype=float)).any():
        top = max(top, float(np.nanmax(rows["threshold"].to_numpy(dtype=float))))
    ax.set_ylim(0, max(top, 1.0) * 1.45)  # headroom so the legend never hides the data
    ax.set_ylabel("count per month")
    ax.xaxis.set_major_locator(mdates.MonthLocator(bymonth=(1, 7)))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y-%m"))
    ax.grid(True, axis="y", alpha=0.3)
    ax.legend(loc="upper left", fontsize=8, framealpha=0.85, ncol=3)
    if title:
        ax.set_title(title, fontsize=11)
    fig.autofmt_xdate()
    # fixed margins: tight_layout measures every label and costs more than the drawing
    fig.subplots_adjust(left=0.08, right=0.98, top=0.91, bottom=0.16)
    return _save(fig, path)


def reliability_plot(table: pd.DataFrame, path: str | Path, *, title: str | None = None) -> Path:
    """Draw a reliability (calibration) diagram of escalation probabilities.

    Args:
        table: one row per probability bin with ``predicted`` (mean forecast probability),
            ``observed`` (observed frequency of the event) and ``count`` (forecasts in the bin).
        path: PNG file to write.
        title: figure title.

    Returns:
        The path written.

    Raises:
        ValueError: when a column is missing.
    """
    missing = [c for c in ("predicted", "observed", "count") if c not in table.columns]
    if missing:
        raise ValueError(f"reliability_plot needs predicted, observed, count; missing {missing}")
    rows = table[table["count"] > 0].sort_values("predicted")
    fig, (top, bottom) = plt.subplots(
        2, 1, figsize=(5.2, 6), dpi=110, sharex=True, gridspec_kw={"height_ratios": [3, 1]}
    )
    top.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1, label="perfectly reliable")
    if len(rows):
        sizes = 20 + 180 * rows["count"] / rows["count"].max()
        top.plot(rows["predicted"], rows["observed"], color=_BAND_COLOUR, linewidth=1.2)
        top.scatter(
            rows["predicted"],
            rows["observed"],
            s=sizes,
            color=_BAND_COLOUR,
            zorder=3,
            label="forecasts (size = count)",
        )
    top.set_xlim(0, 1)
    top.set_ylim(0, 1)
    top.set_ylabel("observed frequency")
    top.grid(True, alpha=0.3)
    top.legend(loc="upper left", fontsize=8, frameon=False)
    top.set_title(title or "Reliability of escalation probabilities", fontsize=11)
    bottom.bar(rows["predicted"], rows["count"], width=0.04, color=_HISTORY_COLOUR)
    bottom.set_xlabel("forecast probability")
    bottom.set_ylabel("forecasts")
    fig.subplots_adjust(left=0.17, right=0.97, top=0.94, bottom=0.09, hspace=0.08)
    return _save(fig, path)


def _save(fig: plt.Figure, path: str | Path) -> Path:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        fig.savefig(target)
    finally:
        plt.close(fig)
    return target
