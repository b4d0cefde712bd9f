"""Fan charts and reliability plots render to PNG and reject frames that lack columns."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from forecast.draws import Draws
from forecast.output import forecast_frame
from reports.plots import fan_chart, reliability_plot

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _forecast() -> tuple[pd.Series, pd.DataFrame]:
    rng = np.random.default_rng(0)
    months = pd.period_range("2018-01", "2021-12", freq="M")
    history = pd.Series(rng.poisson(20, len(months)).astype(float), index=months)
    draws = Draws(
        "conflictology",
        "fatalities",
        months[-1],
        ("ML05",),
        rng.poisson(20, (1, 12, 300)).astype(float),
    )
    return history, forecast_frame(draws, np.array([30.0]))


def test_fan_chart_writes_a_png(tmp_path: Path) -> None:
    history, frame = _forecast()
    path = fan_chart(
        history, frame.sample(frac=1, random_state=0), tmp_path / "a" / "ML05.png", title="ML05"
    )
    assert path.read_bytes()[:8] == PNG_MAGIC and path.stat().st_size > 10_000
    # boundary: no history at all still draws the fan
    assert fan_chart(history.iloc[:0], frame, tmp_path / "empty.png").exists()


def test_fan_chart_rejects_frame_without_quantiles(tmp_path: Path) -> None:
    history, frame = _forecast()
    with pytest.raises(ValueError, match="q0.05"):
        fan_chart(history, frame.drop(columns=["q0.05"]), tmp_path / "x.png")
    with pytest.raises(ValueError):
        fan_chart(history, frame.iloc[:0], tmp_path / "x.png")


def test_reliability_plot_skips_empty_bins(tmp_path: Path) -> None:
    table = pd.DataFrame(
        {"predicted": [0.05, np.nan, 0.55], "observed": [0.1, np.nan, 0.5], "count": [120, 0, 30]}
    )
    path = reliability_plot(table, tmp_path / "rel.png")
    assert path.read_bytes()[:8] == PNG_MAGIC
    with pytest.raises(ValueError, match="count"):
        reliability_plot(table.drop(columns=["count"]), tmp_path / "bad.png")
