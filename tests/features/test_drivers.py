"""What moved the forecast: only the inputs of the model that made it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import pytest

from features.drivers import (
    ExplainsForecast,
    history_input,
    is_history_only,
    model_drivers,
)
from forecast.base import ForecastTask
from forecast.models import make_model
from forecast.models.baselines import PoissonMean


def _panel(values_by_region: dict[str, list[float]], start: str = "2019-01") -> pd.DataFrame:
    rows = []
    for region, values in values_by_region.items():
        months = pd.period_range(start, periods=len(values), freq="M")
        rows += [
            (region, m, "fatalities", float(v), "test") for m, v in zip(months, values, strict=True)
        ]
    frame = pd.DataFrame(rows, columns=["region", "month", "series", "value", "source"])
    frame["month"] = frame["month"].astype("period[M]")
    return frame


def _fitted(name: str, panel: pd.DataFrame, origin: pd.Period):
    task = ForecastTask(panel=panel[panel["month"] <= origin], origin=origin)
    return make_model(name).fit(task)


def test_a_history_only_model_is_described_by_the_facts_it_rests_on() -> None:
    calm = [2.0, 3.0] * 12
    surge = [1.0] * 21 + [40.0, 50.0, 60.0]
    panel = _panel({"AA01": surge, "AA02": calm})
    origin = pd.Period("2020-12", "M")
    model = _fitted("conflictology", panel, origin)

    found = model_drivers(model, panel, series="fatalities", origins={"AA01": origin})

    assert found.model_inputs == (history_input("fatalities"),)
    drivers = found.regions["AA01"]
    assert drivers.kind == "history"
    assert set(drivers.inputs) <= set(found.model_inputs)
    facts = dict(drivers.items)
    last12 = surge[-12:]
    assert facts["mean fatalities a month, last 12 months"] == pytest.approx(np.mean(last12))
    assert facts["highest month, last 12 months"] == 60.0
    assert "own fatalities history" in drivers.text


def test_facts_never_read_past_the_region_origin() -> None:
    panel = _panel({"AA01": [5.0] * 24 + [900.0] * 3})
    origin = pd.Period("2020-12", "M")
    model = _fitted("poisson_mean", panel, origin)
    found = model_drivers(model, panel, series="fatalities", origins={"AA01": origin})
    assert dict(found.regions["AA01"].items)["highest month, last 12 months"] == 5.0


def test_ensemble_is_history_only_exactly_when_every_member_is() -> None:
    assert is_history_only(make_model("ensemble"))  # conflictology, poisson_mean, ets
    assert not is_history_only(make_model("ensemble", members=["conflictology", "negbin_glm"]))
    assert not is_history_only(make_model("negbin_glm"))


def test_a_model_with_features_but_no_report_gets_no_drivers() -> None:
    panel = _panel({"AA01": [3.0] * 30})
    origin = pd.Period("2021-06", "M")
    found = model_drivers(
        make_model("negbin_glm"), panel, series="fatalities", origins={"AA01": origin}
    )
    assert found.regions["AA01"].kind == "unreported"
    assert found.regions["AA01"].items == ()
    assert found.model_inputs == ()


class _ExplainedPoisson(PoissonMean):
    """PoissonMean that reports its one input: the region's mean over its window."""

    def __init__(self, report: str = "fatalities_mean12") -> None:
        super().__init__()
        self.report = report

    def forecast_inputs(self) -> Sequence[str]:
        return ["fatalities_mean12"]

    def contributions(self) -> Mapping[str, Sequence[tuple[str, float]]]:
        level = np.nanmean(self.history[-self.window :], axis=0)
        return {
            region: [(self.report, float(np.log1p(value)))]
            for region, value in zip(self.task.regions, level, strict=True)
        }


def test_contributions_are_listed_largest_first_and_only_declared_inputs_pass() -> None:
    panel = _panel({"AA01": [4.0] * 24, "AA02": [0.0] * 24})
    origin = pd.Period("2020-12", "M")
    model = _ExplainedPoisson().fit(ForecastTask(panel=panel, origin=origin))
    assert isinstance(model, ExplainsForecast)

    found = model_drivers(model, panel, series="fatalities", origins={"AA01": origin})
    assert found.regions["AA01"].kind == "contributions"
    assert found.regions["AA01"].items == (("fatalities_mean12", pytest.approx(np.log1p(4.0))),)

    liar = _ExplainedPoisson(report="nbr_fatalities_roll3_sum").fit(
        ForecastTask(panel=panel, origin=origin)
    )
    with pytest.raises(ValueError, match="nbr_fatalities_roll3_sum"):
        model_drivers(liar, panel, series="fatalities", origins={"AA01": origin})


def test_glm_contributions_are_its_own_terms_and_add_up_to_its_mean() -> None:
    from jobs.explain import RECENT_LEVEL, explained
    from tests.panels import chain_registry, synthetic_panel

    registry = chain_registry()
    panel = synthetic_panel(registry, start="2012-01", end="2021-12", seed=4)
    origin = pd.Period("2021-12", "M")
    task = ForecastTask(panel=panel, origin=origin, registry=registry)
    model = make_model("negbin_glm").fit(task)
    model.predict(1, 50, np.random.default_rng(0))
    wrapped = explained(model)
    assert isinstance(wrapped, ExplainsForecast)
    inputs = set(wrapped.forecast_inputs())
    assert RECENT_LEVEL in inputs and inputs - {RECENT_LEVEL} <= set(model.columns)

    terms = wrapped.contributions()
    assert terms, "the GLM reported no region"
    scaler, params, _ = model.fits[1]
    eta = model.offsets[-1] + params[0] + scaler(model.cube[-1]) @ params[1:]
    for i, region in enumerate(task.regions):
        if region in terms:  # the log mean is intercept + the sum of the listed terms
            total = params[0] + sum(value for _, value in terms[region])
            assert total == pytest.approx(eta[i])
    found = model_drivers(wrapped, panel, series="fatalities", origins=dict.fromkeys(terms, origin))
    for drivers in found.regions.values():
        assert drivers.kind == "contributions" and set(drivers.inputs) <= inputs
