"""Each series has its own escalation rule: aid incidents are not judged by the death floor."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from forecast.pipeline import forecast_from_panel
from jobs.config import load_config
from riskcast.errors import ConfigError


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # noqa: ANN201
    def write(text: str) -> Path:
        path = tmp_path / "riskcast.toml"
        path.write_text(text, encoding="utf-8")
        monkeypatch.setenv("RISKCAST_CONFIG", str(path))
        return path

    return write


def test_defaults_fatalities_keep_their_rule_the_others_their_own(config) -> None:
    config("")
    fatalities = load_config().rules.for_series("fatalities")
    assert (fatalities.floor, fatalities.multiplier, fatalities.window) == (25.0, 1.5, 12)
    assert load_config().rules.for_series("aid_diversion").floor == 1.0
    assert load_config().rules.for_series("peacekeeper_casualties").floor == 8.0
    assert (
        load_config().rules.for_series("peacekeeper_casualties").series == "peacekeeper_casualties"
    )


def test_config_sets_a_series_rule_and_misspellings_are_errors(config) -> None:
    config("[series_rules]\naid_diversion = { floor = 3, window = 6 }\n")
    rule = load_config().rules.for_series("aid_diversion")
    assert (rule.floor, rule.multiplier, rule.window) == (3.0, 1.5, 6)
    config("[series_rules]\naid_diversion = { flor = 3 }\n")
    with pytest.raises(ConfigError, match="did you mean 'floor'"):
        load_config().rules.for_series("aid_diversion")
    config("[series_rules]\naid_diversion = { floor = -1 }\n")
    with pytest.raises(ConfigError, match=r"\[series_rules.aid_diversion\]"):
        load_config().rules.for_series("aid_diversion")


def test_an_aid_forecast_uses_the_aid_rule(config) -> None:
    config("")
    months = pd.period_range("2019-01", "2021-12", freq="M")
    panel = pd.DataFrame(
        {
            "region": "AA01",
            "month": months,
            "series": "aid_diversion",
            "value": [0.0, 1.0, 0.0, 2.0] * 9,
            "source": "test",
        }
    )
    result = forecast_from_panel(
        panel, None, model="conflictology", origin=months[-1], horizon=3, series="aid_diversion",
        n_draws=200,
    )  # fmt: skip
    assert result.thresholds.tolist() == [1.125]  # max(1, 1.5 × mean 0.75), not 25
    assert result.frame["p_escalation"].max() > 0.2
