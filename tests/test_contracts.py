"""The shared contracts: months, config strictness, draws and the leakage guard of tasks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecast.base import ForecastTask
from forecast.draws import Draws, quantile_column
from riskcast.config import StrictSection, read_config_file, validate_section
from riskcast.errors import ConfigError, InputError
from riskcast.months import format_month, parse_month, parse_month_span


def test_month_round_trip_and_errors() -> None:
    assert format_month(parse_month("2021-03")) == "2021-03"
    with pytest.raises(InputError, match="month"):
        parse_month("2021-13")
    assert [format_month(m) for m in parse_month_span("2016-12:2018-12:12")] == [
        "2016-12",
        "2017-12",
        "2018-12",
    ]
    with pytest.raises(InputError):
        parse_month_span("2018-12:2016-12")


class _Section(StrictSection):
    lags: list[int] = [1, 2]


def test_config_rejects_misspelled_key_with_hint(tmp_path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("[features]\nlagz = [1]\n")
    with pytest.raises(ConfigError, match="did you mean 'lags'"):
        read_and_validate(path)
    path.write_text("[featurez]\n")
    with pytest.raises(ConfigError, match="did you mean 'features'"):
        read_and_validate(path)


def read_and_validate(path) -> _Section:  # noqa: ANN001
    document = read_config_file(path, ["features"])
    return validate_section(document.get("features", {}), "features", _Section)


def test_draws_reject_negative_and_derive_consistent_summaries() -> None:
    values = np.random.default_rng(0).poisson(5, size=(2, 3, 500)).astype(float)
    draws = Draws("m", "fatalities", pd.Period("2020-12", "M"), ("A", "B"), values)
    q = draws.quantiles()
    assert (np.diff(q, axis=0) >= 0).all()
    assert draws.months()[0] == pd.Period("2021-01", "M")
    assert quantile_column(0.1) == "q0.10"
    with pytest.raises(ValueError):
        Draws("m", "fatalities", pd.Period("2020-12", "M"), ("A", "B"), -values)


def test_task_refuses_panel_past_origin(panel) -> None:
    with pytest.raises(ValueError, match="no leakage"):
        ForecastTask(panel=panel, origin=pd.Period("2020-12", "M"))
    cut = panel[panel["month"] <= pd.Period("2020-12", "M")]
    task = ForecastTask(panel=cut, origin=pd.Period("2020-12", "M"))
    assert task.target_matrix().index.max() == pd.Period("2020-12", "M")
