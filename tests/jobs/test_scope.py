"""The watch list: the regions with recent fatalities data and their country, or a list."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from jobs.config import load_config
from jobs.scope import ScopeConfig, resolve_scope
from riskcast.errors import ConfigError
from tests.panels import chain_registry


def _rows(region: str, series: str, start: str, end: str) -> list[tuple]:
    months = pd.period_range(start, end, freq="M")
    return [(region, m, series, 1.0, "test") for m in months]


def _panel(*parts: list[tuple]) -> pd.DataFrame:
    frame = pd.DataFrame(
        [r for part in parts for r in part],
        columns=["region", "month", "series", "value", "source"],
    )
    frame["month"] = frame["month"].astype("period[M]")
    return frame


def test_automatic_scope_is_recently_active_regions_and_their_country() -> None:
    panel = _panel(
        _rows("AA01", "fatalities", "2015-01", "2021-12"),
        _rows("AA02", "fatalities", "2015-01", "2020-01"),  # last data 23 months back: in
        _rows("AA03", "fatalities", "2015-01", "2019-12"),  # 24 months back: out
        _rows("AAA", "peacekeeper_casualties", "2015-01", "2023-12"),
        _rows("NAM", "peacekeeper_casualties", "1989-01", "1990-03"),  # never watched
    )
    scope = resolve_scope(panel, chain_registry(), ScopeConfig())
    assert scope.regions == ("AA01", "AA02", "AAA")
    assert scope.series == ("fatalities", "aid_diversion", "peacekeeper_casualties")
    assert "24 months to 2021-12" in scope.how and "their country" in scope.how


def test_an_explicit_watch_list_wins() -> None:
    panel = _panel(_rows("AA01", "fatalities", "2015-01", "2021-12"))
    scope = resolve_scope(panel, None, ScopeConfig(regions=["AA04", "AA01"], series=["fatalities"]))
    assert scope.regions == ("AA01", "AA04") and scope.series == ("fatalities",)


def test_scope_config_errors_name_the_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "riskcast.toml"
    monkeypatch.setenv("RISKCAST_CONFIG", str(path))
    path.write_text('[scope]\nregion = ["ML05"]\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="did you mean 'regions'"):
        load_config()
    path.write_text('[scope]\nseries = ["fatalities", "fatalities"]\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="listed twice"):
        load_config()
