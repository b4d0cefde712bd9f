"""The output contract: forecasts as one row per region × series × origin × target month.

Columns (exactly, in this order)::

    region, series, origin, month, horizon, model, mean,
    q0.05, q0.10, q0.25, q0.50, q0.75, q0.90, q0.95, p_escalation, threshold

Months are written ``YYYY-MM``; quantile names come from
:func:`forecast.draws.quantile_column` and no other scheme is ever emitted. The draws
themselves go to Parquet (``region, series, origin, month, draw, value`` with a float32
value): a long table compresses well and any tool reads it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from forecast.draws import QUANTILES, Draws, quantile_column
from riskcast.months import format_month

QUANTILE_COLUMNS: tuple[str, ...] = tuple(quantile_column(level) for level in QUANTILES)
FORECAST_COLUMNS: tuple[str, ...] = (
    "region",
    "series",
    "origin",
    "month",
    "horizon",
    "model",
    "mean",
    *QUANTILE_COLUMNS,
    "p_escalation",
    "threshold",
)
SAMPLE_COLUMNS: tuple[str, ...] = ("region", "series", "origin", "month", "draw", "value")


def forecast_frame(draws: Draws, thresholds: np.ndarray) -> pd.DataFrame:
    """The contract frame of one forecast (region-major, then horizon).

    Args:
        draws: the model's draws.
        thresholds: escalation threshold per region, ``(len(draws.regions),)``.
    """
    thresholds = np.asarray(thresholds, dtype=np.float64)
    if thresholds.shape != (len(draws.regions),):
        raise ValueError(
            f"{len(draws.regions)} regions but {thresholds.shape} thresholds were given"
        )
    n_regions, horizon = len(draws.regions), draws.horizon
    months = [format_month(m) for m in draws.months()]
    columns: dict[str, object] = {
        "region": np.repeat(np.asarray(draws.regions, dtype=object), horizon),
        "series": draws.series,
        "origin": format_month(draws.origin),
        "month": np.tile(np.asarray(months, dtype=object), n_regions),
        "horizon": np.tile(np.arange(1, horizon + 1), n_regions),
        "model": draws.model,
        "mean": draws.mean().ravel(),
    }
    quantiles = draws.quantiles(QUANTILES)
    for name, values in zip(QUANTILE_COLUMNS, quantiles, strict=True):
        columns[name] = values.ravel()
    columns["p_escalation"] = draws.prob_at_least(thresholds).ravel()
    columns["threshold"] = np.repeat(thresholds, horizon)
    frame = pd.DataFrame(columns)
    return frame.loc[:, list(FORECAST_COLUMNS)]


def samples_frame(draws: Draws) -> pd.DataFrame:
    """The draws in long form: one row per region × target month × draw, float32 values."""
    n_regions, horizon, n_draws = draws.values.shape
    months = np.asarray([format_month(m) for m in draws.months()], dtype=object)
    regions = np.asarray(draws.regions, dtype=object)
    return pd.DataFrame(
        {
            "region": pd.Categorical(np.repeat(regions, horizon * n_draws)),
            "series": draws.series,
            "origin": format_month(draws.origin),
            "month": pd.Categorical(np.tile(np.repeat(months, n_draws), n_regions)),
            "draw": np.tile(np.arange(n_draws, dtype=np.int32), n_regions * horizon),
            "value": draws.values.reshape(-1).astype(np.float32),
        }
    )


def write_forecast_csv(frame: pd.DataFrame, path: Path) -> Path:
    """Write a contract frame (or several concatenated) to CSV, creating the folder."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False)
    return path


def write_samples_parquet(frame: pd.DataFrame, path: Path) -> Path:
    """Write a samples frame to Parquet with pyarrow, creating the folder."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(path, engine="pyarrow", index=False)
    return path
