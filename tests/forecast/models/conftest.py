"""Helpers for model tests: cut the synthetic panel at an origin into a ForecastTask."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecast.base import ForecastTask


def cut_task(panel: pd.DataFrame, origin: str, registry=None, **kwargs) -> ForecastTask:
    """A task with the panel cut at ``origin`` (months after it removed)."""
    at = pd.Period(origin, freq="M")
    return ForecastTask(panel=panel[panel["month"] <= at], origin=at, registry=registry, **kwargs)


def truth(panel: pd.DataFrame, task: ForecastTask, horizon: int) -> np.ndarray:
    """Observed target ``(region, horizon)`` after the origin (NaN where absent)."""
    target = panel[panel["series"] == task.series]
    wide = target.pivot_table(index="month", columns="region", values="value")
    months = [task.origin + h for h in range(1, horizon + 1)]
    return wide.reindex(index=months, columns=list(task.regions)).to_numpy().T


@pytest.fixture
def task(panel, registry) -> ForecastTask:
    """The synthetic panel cut at 2020-12 (12 months left to score)."""
    return cut_task(panel, "2020-12", registry)
