"""Calendar features: the month of year of the origin (rainy-season and lean-season effects)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def month_of_year(origins: pd.PeriodIndex) -> np.ndarray:
    """Month number 1-12 of each origin."""
    return np.asarray(origins.month, dtype=np.int64)
