"""Leaderboards rank models on the same origins and data, and refuse to mix them."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from cli import app
from experiments import tracking
from experiments.compare import leaderboard, leaderboard_json, list_runs
from experiments.runs import log_backtest
from riskcast.errors import ConfigError, RiskcastError
from tests.experiments import install_store, small_backtest


@pytest.fixture(autouse=True)
def store(isolated_home: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("RISKCAST_CONFIG", install_store(isolated_home, top_regions=0))
    return tracking.tracking_uri()


def _log(panel, registry, **kwargs) -> str:
    result = small_backtest(panel, registry, **kwargs)
    return log_backtest(
        result, panel=panel, registry=registry, n_draws=200, seed=0, log_models=False
    )


@pytest.mark.slow
def test_leaderboard_ranks_with_skill_against_conflictology(panel, registry) -> None:
    parent = _log(panel, registry)
    table = leaderboard(metric="crps_log")
    assert list(table["rank"]) == [1, 2, 3]
    assert table["crps_log"].is_monotonic_increasing
    bench = table[table["model"] == "conflictology"].iloc[0]
    assert bench["skill"] == pytest.approx(0.0)
    zero = table[table["model"] == "zero"].iloc[0]
    assert zero["skill"] == pytest.approx(1 - zero["crps_log"] / bench["crps_log"])
    assert zero["skill"] < 0  # the zero forecast is worse than the benchmark here
    assert set(table["parent_run_id"]) == {parent}
    assert table.attrs["comparable_on"]["origins"] == "2019-12,2020-06"

    # coverage ranks by distance to nominal, not by size
    by_cov = leaderboard(metric="coverage_90")
    gaps = (by_cov["coverage_90"] - 0.9).abs()
    assert gaps.is_monotonic_increasing

    payload = leaderboard_json()
    assert json.loads(json.dumps(payload))["rows"][0]["rank"] == 1
    assert payload["benchmark"] == "conflictology"

    with pytest.raises(ConfigError, match="did you mean 'crps_log'"):
        leaderboard(metric="crps_lgo")


@pytest.mark.slow
def test_refuses_to_rank_different_origins_or_data(panel, registry) -> None:
    first = _log(panel, registry, models=["zero", "conflictology"])
    _log(
        panel,
        registry,
        models=["zero", "conflictology"],
        origins=[pd.Period("2019-06", "M"), pd.Period("2020-06", "M")],
    )
    with pytest.raises(RiskcastError, match="different origins"):
        leaderboard()
    # one backtest at a time, or the newest comparable set, still works
    assert len(leaderboard(parent_run_id=first)) == 2
    assert leaderboard(latest=True).attrs["comparable_on"]["origins"] == "2019-06,2020-06"

    revised = panel.copy()
    revised.loc[revised["value"] > 0, "value"] += 1  # history revised: other data
    _log(
        revised,
        registry,
        models=["zero", "conflictology"],
        origins=[pd.Period("2019-06", "M"), pd.Period("2020-06", "M")],
    )
    with pytest.raises(RiskcastError, match="data fingerprint"):
        leaderboard(latest=False, parent_run_id=None)
    runs = list_runs()
    assert len(runs) == 3 and set(runs["kind"]) == {"backtest"}


@pytest.mark.slow
def test_cli_list_and_compare(panel, registry, monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "220")  # rich sizes tables to the terminal
    runner = CliRunner()
    empty = runner.invoke(app, ["experiments", "list"])
    assert empty.exit_code == 0 and "no riskcast runs" in empty.output
    _log(panel, registry)
    listed = runner.invoke(app, ["experiments", "list"], terminal_width=200)
    assert listed.exit_code == 0 and "backtest" in listed.output
    compared = runner.invoke(
        app, ["experiments", "compare", "--metric", "crps_log"], terminal_width=250
    )
    assert compared.exit_code == 0, compared.output
    assert "conflictology" in compared.output and "skill" in compared.output
    as_json = runner.invoke(app, ["experiments", "compare", "--json"])
    assert json.loads(as_json.output)["metric"] == "crps_log"
