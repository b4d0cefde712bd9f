"""No model sees past its origin: poisoning every later month changes none of its forecasts.

Run for every model riskcast ships, the default ``ensemble`` included, through the same
backtest path production uses (each job cuts the panel at its origin before the model
exists). A model that read one month past the origin would see values multiplied by 1000.
"""

from __future__ import annotations

import pandas as pd
import pytest

from forecast.backtest import run_backtest
from forecast.models import MODEL_NAMES
from forecast.pipeline import ForecastConfig

ORIGIN = pd.Period("2020-06", "M")


def _forecasts(panel: pd.DataFrame, registry, model: str) -> pd.DataFrame:  # noqa: ANN001
    result = run_backtest(
        panel,
        registry,
        models=[model],
        origins=[ORIGIN],
        horizon=3,
        n_draws=100,
        progress=False,
    )
    return result.forecasts.reset_index(drop=True)


@pytest.mark.parametrize("model", MODEL_NAMES)
def test_poisoned_future_changes_no_forecast(model: str, panel, registry) -> None:
    poisoned = panel.copy()
    later = poisoned["month"] > ORIGIN
    assert later.any()
    poisoned.loc[later, "value"] = poisoned.loc[later, "value"] * 1000 + 7
    clean = _forecasts(panel, registry, model)
    assert len(clean) and clean["mean"].notna().all()
    pd.testing.assert_frame_equal(_forecasts(poisoned, registry, model), clean)


def test_the_default_model_is_among_those_checked() -> None:
    assert ForecastConfig().default_model in MODEL_NAMES
