"""The ensemble mixes member draws in proportion to the (backtest CRPS) weights."""

from __future__ import annotations

import numpy as np
import pytest

from forecast.models import make_model
from forecast.models.ensemble import DEFAULT_MEMBERS
from riskcast.errors import ConfigError


def test_default_members_and_equal_weights(task):
    model = make_model("ensemble")
    assert model.members == list(DEFAULT_MEMBERS)
    assert np.allclose(model.weights, 1 / len(DEFAULT_MEMBERS))


def test_weights_set_the_mixture_proportions(task):
    # zero forecasts exactly 0 and no_change forecasts Poisson(last) > 0 for busy regions:
    # the share of zeros in a busy region reveals the mixture weight.
    model = make_model("ensemble", weights={"zero": 3.0, "no_change": 1.0}).fit(task)
    draws = model.predict(2, 4000, np.random.default_rng(0))
    last = task.target_matrix().to_numpy()[-1]
    busy = int(np.nanargmax(last))
    assert last[busy] > 10
    share_zero = (draws.values[busy] == 0).mean()
    assert share_zero == pytest.approx(0.75, abs=0.03)


def test_ensemble_keeps_member_notes(panel, registry):
    from tests.forecast.models.conftest import cut_task

    task = cut_task(panel, "2020-12", registry, regions=("AA02", "ZZ99"))
    draws = (
        make_model("ensemble", members=["conflictology", "poisson_mean"])
        .fit(task)
        .predict(2, 50, np.random.default_rng(0))
    )
    assert "no observed month" in draws.notes["ZZ99"]


def test_bad_ensembles_are_config_errors():
    with pytest.raises(ConfigError, match="did you mean 'conflictology'"):
        make_model("ensemble", members=["conflictolgy"])
    with pytest.raises(ConfigError, match="itself"):
        make_model("ensemble", members=["ensemble"])
    with pytest.raises(ConfigError, match="≥ 0"):
        make_model("ensemble", weights={"zero": -1.0, "conflictology": 1.0})
    with pytest.raises(ConfigError, match="lack"):
        make_model("ensemble", members=["zero", "conflictology"], weights={"zero": 1.0})
