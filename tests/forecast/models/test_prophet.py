"""Prophet on log1p counts: one small fit (slow: Stan)."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import scoringrules as sr

from forecast.models import make_model
from tests.forecast.models.conftest import cut_task, truth


@pytest.mark.slow
def test_prophet_fits_scores_and_falls_back(panel, registry, caplog):
    task = cut_task(panel, "2020-12", registry, regions=("AA01", "AA02", "AA03"))
    with caplog.at_level(logging.INFO):
        model = make_model("prophet").fit(task)
    assert not [r for r in caplog.records if r.name.startswith("cmdstanpy") and r.levelno < 30]
    draws = model.predict(12, 200, np.random.default_rng(0))
    assert draws.values.shape == (3, 12, 200)
    assert (draws.values >= 0).all()
    assert (np.diff(draws.quantiles(), axis=0) >= 0).all()
    # AA01 is all zeros: noted fallback; the others are Prophet's own fits with regressors.
    assert "constant history" in draws.notes["AA01"]
    assert "AA02" not in draws.notes and "AA03" not in draws.notes
    _, extra, _ = model.fitted[1]
    assert any(c.startswith("event_") or c.startswith("x_") for c in extra)
    crps = sr.crps_ensemble(np.log1p(truth(panel, task, 12)), np.log1p(draws.values.astype(float)))
    assert np.isfinite(crps).all() and crps.mean() < 3.0
    again = model.predict(12, 200, np.random.default_rng(0))
    assert np.array_equal(draws.values, again.values)
