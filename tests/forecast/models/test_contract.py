"""Contract tests every fast model must pass: shape, counts ≥ 0, determinism, edge cases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scoringrules as sr

from forecast.base import ForecastModel
from forecast.models import MODEL_NAMES, make_model
from riskcast.errors import ConfigError
from tests.forecast.models.conftest import cut_task, truth

FAST = [
    "zero",
    "no_change",
    "conflictology",
    "poisson_mean",
    pytest.param("negbin_glm", marks=pytest.mark.slow),  # 12-16 pooled fits, a few seconds
    "ets",
    "sarimax",
    "ensemble",
]


@pytest.mark.parametrize("name", FAST)
def test_fit_predict_contract_and_score(name, panel, task):
    model = make_model(name)
    assert isinstance(model, ForecastModel) and model.name == name
    draws = model.fit(task).predict(12, 200, np.random.default_rng(1))
    assert draws.values.shape == (len(task.regions), 12, 200)
    assert draws.values.dtype == np.float32
    assert (draws.values >= 0).all() and np.isfinite(draws.values).all()
    assert np.array_equal(draws.values, np.round(draws.values)), "draws must be counts"
    quantiles = draws.quantiles()
    assert (np.diff(quantiles, axis=0) >= 0).all()
    assert draws.model == name and draws.origin == task.origin
    observed = truth(panel, task, 12)
    crps = sr.crps_ensemble(np.log1p(observed), np.log1p(draws.values.astype(float)))
    assert np.isfinite(crps).all()
    assert crps.mean() < 3.0  # a sane forecast of counts of tens is within ~e^3 on log1p


@pytest.mark.parametrize("name", FAST)
def test_deterministic_with_fixed_seed(name, task):
    first = make_model(name).fit(task).predict(3, 50, np.random.default_rng(7)).values
    second = make_model(name).fit(task).predict(3, 50, np.random.default_rng(7)).values
    assert np.array_equal(first, second)


@pytest.mark.parametrize("name", FAST)
def test_horizon_36_and_bad_requests(name, task):
    model = make_model(name).fit(task)
    draws = model.predict(36, 20, np.random.default_rng(0))
    assert draws.horizon == 36 and draws.months()[-1] == task.origin + 36
    with pytest.raises(ValueError, match="horizon"):
        model.predict(37, 20, np.random.default_rng(0))
    with pytest.raises(ValueError, match="horizon"):
        model.predict(0, 20, np.random.default_rng(0))


@pytest.mark.parametrize("name", FAST)
def test_all_zero_region_forecasts_zero(name, task):
    quiet = task.regions[0]  # the synthetic panel's first region is all zeros
    draws = make_model(name).fit(task).predict(6, 100, np.random.default_rng(0))
    assert draws.subset([quiet]).values.max() == 0


@pytest.mark.parametrize(
    "name", ["conflictology", "poisson_mean", "ets", "sarimax", "negbin_glm", "prophet"]
)
def test_one_month_of_history(name, panel, registry):
    one = cut_task(panel[panel["month"] >= pd.Period("2015-01", "M")], "2015-01", registry)
    draws = make_model(name).fit(one).predict(12, 50, np.random.default_rng(0))
    assert draws.values.shape[:2] == (len(one.regions), 12)
    assert (draws.values >= 0).all()
    if name in ("ets", "sarimax", "negbin_glm", "prophet"):
        assert draws.notes and all("poisson_mean" in n for n in draws.notes.values())


def test_series_starting_late_is_forecast_from_its_own_months(panel, registry):
    # The last region starts in 2017-01; at 2017-03 it has three months of history.
    task = cut_task(panel, "2017-03", registry)
    late = task.regions[-1]
    history = panel[(panel.region == late) & (panel.series == "fatalities")]
    own = set(history[history.month <= task.origin].value)
    draws = make_model("conflictology").fit(task).predict(4, 300, np.random.default_rng(0))
    assert set(np.unique(draws.subset([late]).values)) <= own
    ets = make_model("ets").fit(task).predict(4, 30, np.random.default_rng(0))
    assert "observed month" in ets.notes[late]


def test_region_without_any_history_gets_zeros_and_a_note(panel, registry):
    task = cut_task(panel, "2020-12", registry, regions=("AA02", "ZZ99"))
    for name in ("conflictology", "poisson_mean", "no_change"):
        draws = make_model(name).fit(task).predict(2, 10, np.random.default_rng(0))
        assert draws.subset(["ZZ99"]).values.max() == 0
        assert "no observed month" in draws.notes["ZZ99"]


def test_conflictology_resamples_the_last_twelve_months(panel, task):
    draws = make_model("conflictology").fit(task).predict(5, 2000, np.random.default_rng(0))
    recent = truth(panel, cut_task(panel, "2019-12"), 12)  # 2020-01 … 2020-12
    for index in range(len(task.regions)):
        assert set(np.unique(draws.values[index])) <= set(recent[index])


def test_poisson_mean_matches_recent_mean_and_overdispersion():
    rng = np.random.default_rng(3)
    months = pd.period_range("2018-01", "2020-12", freq="M")
    bursty = rng.negative_binomial(1, 1 / (1 + 20.0), len(months)).astype(float)
    steady = np.full(len(months), 5.0)
    rows = [("B", m, "fatalities", v, "t") for m, v in zip(months, bursty, strict=True)]
    rows += [("S", m, "fatalities", v, "t") for m, v in zip(months, steady, strict=True)]
    frame = pd.DataFrame(rows, columns=["region", "month", "series", "value", "source"])
    frame["month"] = frame["month"].astype("period[M]")
    draws = make_model("poisson_mean").fit(cut_task(frame, "2020-12")).predict(1, 20000, rng)
    b, s = draws.values[0, 0], draws.values[1, 0]
    assert b.mean() == pytest.approx(bursty[-12:].mean(), rel=0.1)
    assert b.var() > 2 * b.mean()  # negative binomial, not Poisson
    assert s.mean() == pytest.approx(5.0, rel=0.05) and s.var() == pytest.approx(5.0, rel=0.1)


def test_no_change_is_poisson_around_the_last_month(panel, task):
    draws = make_model("no_change").fit(task).predict(2, 5000, np.random.default_rng(0))
    last = truth(panel, cut_task(panel, "2020-11"), 1)[:, 0]
    assert np.allclose(draws.mean()[:, 0], last, rtol=0.1, atol=0.1)


def test_unknown_model_name_and_option_are_config_errors():
    with pytest.raises(ConfigError, match="did you mean 'conflictology'"):
        make_model("conflictolgy")
    with pytest.raises(ConfigError, match="did you mean 'window'"):
        make_model("conflictology", windw=6)
    assert set(MODEL_NAMES) >= {"zero", "prophet", "ensemble"}


def test_predict_before_fit_is_an_error():
    with pytest.raises(RuntimeError, match="fit"):
        make_model("zero").predict(1, 1, np.random.default_rng(0))
