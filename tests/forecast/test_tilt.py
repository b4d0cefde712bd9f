"""tilt_draws: the draws' exceedance shares become the target probabilities, nothing else."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from forecast.draws import Draws
from forecast.risk import prob_any, tilt_draws


def _draws(values: np.ndarray) -> Draws:
    import pandas as pd

    regions = tuple(f"R{i}" for i in range(values.shape[0]))
    return Draws("t", "fatalities", pd.Period("2020-01", "M"), regions, values)


@settings(max_examples=40, deadline=None)
@given(
    p=st.lists(st.floats(0.0, 1.0), min_size=4, max_size=4),
    p_any=st.floats(0.0, 1.0),
    seed=st.integers(0, 1000),
)
def test_shares_match_targets_and_any_is_the_feasible_target(p, p_any, seed):
    rng = np.random.default_rng(seed)
    n = 500
    values = rng.negative_binomial(1, 0.05, size=(1, 4, n)).astype(np.float32)
    thresholds = np.array([25.0])
    target = np.array([p])
    out = tilt_draws(values, thresholds, target, rng, p_any=np.array([p_any]))
    shares = _draws(out).prob_at_least(thresholds)[0]
    assert np.abs(shares - target[0]).max() <= 0.5 / n + 1e-9
    assert (out >= 0).all() and np.isfinite(out).all()
    k = np.rint(np.array(p[:3]) * n) / n
    feasible = np.clip(np.rint(p_any * n) / n, k.max(), min(1.0, k.sum()))
    assert prob_any(_draws(out), thresholds, 3)[0] == pytest.approx(feasible, abs=1e-9)


def test_each_side_keeps_its_shape():
    """Below the threshold the draws are a systematic resample of the draws below it."""
    rng = np.random.default_rng(0)
    values = rng.poisson(8.0, size=(1, 1, 2000)).astype(np.float32)
    out = tilt_draws(values, np.array([25.0]), np.array([[0.3]]), rng)
    below_before = values[0, 0][values[0, 0] < 25]
    below_after = out[0, 0][out[0, 0] < 25]
    assert len(below_after) == 1400
    assert np.quantile(below_after, [0.1, 0.5, 0.9]) == pytest.approx(
        np.quantile(below_before, [0.1, 0.5, 0.9]), abs=1.0
    )
    assert (out[0, 0][out[0, 0] >= 25] >= 25).all()  # new draws above: at the threshold or over


def test_untouched_when_targets_equal_the_draws_own_shares():
    rng = np.random.default_rng(1)
    values = rng.poisson(20.0, size=(2, 3, 1000)).astype(np.float32)
    thresholds = np.array([25.0, 25.0])
    own = _draws(values).prob_at_least(thresholds)
    out = tilt_draws(values, thresholds, own, rng)
    assert np.array_equal(np.sort(out, axis=2), np.sort(values, axis=2))
