"""The pyfunc wrapper: JSON-only settings, panel input checks, the output contract."""

from __future__ import annotations

import pytest

from experiments.pyfunc_model import (
    OUTPUT_COLUMNS,
    RiskcastForecaster,
    _options_from_json,
    _options_to_json,
    registry_from_json,
    registry_to_json,
    to_panel,
)
from features.config import FeatureConfig
from riskcast.errors import InputError


def test_settings_round_trip_through_json(registry) -> None:
    options = {"train_months": 60, "feature_config": FeatureConfig(lags=[1, 2])}
    back = _options_from_json(_options_to_json(options))
    assert back["train_months"] == 60
    assert back["feature_config"] == options["feature_config"]
    rebuilt = registry_from_json(registry_to_json(registry))
    assert [r.id for r in rebuilt] == [r.id for r in registry]
    assert rebuilt.get("AA02").neighbours == registry.get("AA02").neighbours


def test_predict_returns_the_output_contract(panel, registry) -> None:
    model = RiskcastForecaster("conflictology", {}, {"horizon": 2, "n_draws": 100}, registry)
    as_text = panel.assign(month=panel["month"].dt.strftime("%Y-%m")).drop(columns="source")
    frame = model.predict(None, as_text)
    assert tuple(frame.columns) == OUTPUT_COLUMNS
    assert set(frame["horizon"]) == {1, 2} and (frame["origin"] == "2021-12").all()


def test_panel_input_errors_name_the_field_and_row(panel) -> None:
    as_text = panel.assign(month=panel["month"].dt.strftime("%Y-%m"))
    with pytest.raises(InputError, match="field 'value'"):
        to_panel(as_text.drop(columns="value"))
    broken = as_text.copy()
    broken.loc[3, "month"] = "March 2020"
    with pytest.raises(InputError, match="row 5"):
        to_panel(broken)
    negative = as_text.copy()
    negative.loc[0, "value"] = -1.0
    with pytest.raises(InputError, match="value"):
        to_panel(negative)
