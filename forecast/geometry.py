"""Origins × horizons: the one place that decides which (origin, target month) pairs exist.

VIEWS once lost 24 of 36 forecast steps without a word because two modules computed the
backtest window differently. Here every caller (forecast, backtest, benchmark) asks this
module, and a request that cannot be honoured in full raises instead of shrinking quietly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from riskcast.errors import InputError
from riskcast.months import format_month

MIN_HORIZON = 1
MAX_HORIZON = 36


def validate_horizon(horizon: int) -> int:
    """Check a horizon (months ahead) is in 1..36.

    Raises:
        InputError: naming the ``horizon`` field when it is out of range.
    """
    if isinstance(horizon, bool) or not isinstance(horizon, int):
        raise InputError(
            f"horizon must be a whole number of months, got {horizon!r}", field="horizon"
        )
    if not MIN_HORIZON <= horizon <= MAX_HORIZON:
        raise InputError(
            f"horizon must be between {MIN_HORIZON} and {MAX_HORIZON} months, got {horizon}",
            field="horizon",
        )
    return horizon


@dataclass(frozen=True)
class Geometry:
    """The origins × horizons grid of a forecast or backtest.

    Attributes:
        origins: forecast origins (last observed month of each fit), ascending, unique.
        horizon: months ahead forecast from every origin (1..36).
        first_month: first month with data for the target series.
        last_month: last month with data for the target series.
        scored: True when every target month must have an observation (backtests).
    """

    origins: tuple[pd.Period, ...]
    horizon: int
    first_month: pd.Period
    last_month: pd.Period
    scored: bool

    @property
    def n_steps(self) -> int:
        """Number of (origin, horizon) steps: ``len(origins) × horizon``."""
        return len(self.origins) * self.horizon

    def target_months(self, origin: pd.Period) -> list[pd.Period]:
        """The months ``origin + 1 … origin + horizon``."""
        return [origin + h for h in range(1, self.horizon + 1)]

    def grid(self) -> pd.DataFrame:
        """One row per step: ``origin``, ``horizon``, ``month`` (monthly Periods)."""
        rows = [
            (origin, h, origin + h) for origin in self.origins for h in range(1, self.horizon + 1)
        ]
        frame = pd.DataFrame(rows, columns=["origin", "horizon", "month"])
        frame["origin"] = frame["origin"].astype("period[M]")
        frame["month"] = frame["month"].astype("period[M]")
        return frame

    def describe(self) -> str:
        """One line for logs and reports."""
        return (
            f"{len(self.origins)} origin(s) {format_month(self.origins[0])}…"
            f"{format_month(self.origins[-1])} × horizons 1..{self.horizon} = {self.n_steps} "
            f"steps; data {format_month(self.first_month)}…{format_month(self.last_month)}"
        )


def make_geometry(
    origins: Sequence[pd.Period],
    horizon: int,
    *,
    first_month: pd.Period,
    last_month: pd.Period,
    scored: bool,
) -> Geometry:
    """Build and check the grid; raise rather than drop a single origin or step.

    Args:
        origins: forecast origins (monthly Periods), any order, no duplicates.
        horizon: months ahead, 1..36.
        first_month: first month of data for the target series.
        last_month: last month of data for the target series.
        scored: backtest mode — every target month must lie within the data so it can be
            scored. For a live forecast (``scored=False``) targets lie beyond the data, but
            the origin itself must still be a month with data up to it.

    Raises:
        InputError: no origins, duplicate origins, a horizon outside 1..36, an origin before
            the first month of data (nothing to train on), an origin after the last month of
            data, or (when scored) a target month after the last month of data.
    """
    validate_horizon(horizon)
    if not origins:
        raise InputError("no forecast origin given", field="origins")
    months = [pd.Period(origin, freq="M") for origin in origins]
    duplicates = sorted({format_month(m) for m in months if months.count(m) > 1})
    if duplicates:
        raise InputError(f"origin(s) listed twice: {', '.join(duplicates)}", field="origins")
    months.sort()
    data_span = f"the data run {format_month(first_month)}…{format_month(last_month)}"
    early = [format_month(m) for m in months if m < first_month]
    if early:
        raise InputError(
            f"origin(s) {', '.join(early)} have no training data: {data_span}", field="origins"
        )
    late = [format_month(m) for m in months if m > last_month]
    if late:
        raise InputError(
            f"origin(s) {', '.join(late)} lie after the last month with data: {data_span}",
            field="origins",
        )
    if scored:
        unscorable = [format_month(m) for m in months if m + horizon > last_month]
        if unscorable:
            raise InputError(
                f"origin(s) {', '.join(unscorable)} with horizon {horizon} reach past the last "
                f"month with data ({format_month(last_month)}), so those steps could not be "
                f"scored; the last origin that can be scored is "
                f"{format_month(last_month - horizon)}",
                field="origins",
            )
    return Geometry(
        origins=tuple(months),
        horizon=horizon,
        first_month=first_month,
        last_month=last_month,
        scored=scored,
    )


def series_span(panel: pd.DataFrame, series: str) -> tuple[pd.Period, pd.Period]:
    """First and last month with data for ``series`` in a long panel.

    Raises:
        InputError: when the panel holds no row of that series.
    """
    months = panel.loc[panel["series"] == series, "month"]
    if months.empty:
        known = sorted(panel["series"].unique())
        raise InputError(
            f"the panel has no '{series}' series (it has: {', '.join(known) or 'nothing'})",
            field="series",
        )
    return months.min(), months.max()


def panel_geometry(
    panel: pd.DataFrame,
    origins: Sequence[pd.Period],
    horizon: int,
    *,
    series: str = "fatalities",
    scored: bool,
) -> Geometry:
    """:func:`make_geometry` with the data span taken from the panel's ``series`` rows."""
    first, last = series_span(panel, series)
    return make_geometry(origins, horizon, first_month=first, last_month=last, scored=scored)
