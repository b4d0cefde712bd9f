"""A backtest run through a real Dask LocalCluster and a local process pool scores exactly
what the serial path scores: every job carries its own seed, so where it runs cannot matter."""

from __future__ import annotations

import pandas as pd
import pytest

from forecast.backtest import BacktestResult, run_backtest
from forecast.executors import make_executor

MODELS = ["conflictology", "poisson_mean", "negbin_glm"]
ORIGINS = [pd.Period("2020-06", freq="M"), pd.Period("2020-12", freq="M")]


def backtest(panel: pd.DataFrame, registry, executor=None) -> BacktestResult:
    return run_backtest(
        panel,
        registry,
        models=MODELS,
        origins=ORIGINS,
        horizon=12,
        n_draws=200,
        seed=7,
        executor=executor,
        progress=False,
    )


def assert_identical(expected: BacktestResult, got: BacktestResult) -> None:
    """Same rows, same order, same values to the last bit (no tolerance)."""
    pd.testing.assert_frame_equal(expected.scores, got.scores, check_exact=True)
    pd.testing.assert_frame_equal(expected.forecasts, got.forecasts, check_exact=True)
    pd.testing.assert_frame_equal(expected.notes, got.notes, check_exact=True)


@pytest.fixture(scope="module")
def serial_result(request: pytest.FixtureRequest) -> BacktestResult:
    from tests.panels import chain_registry, synthetic_panel

    registry = chain_registry()
    panel = synthetic_panel(
        registry, series=("fatalities", "aid_diversion", "peacekeeper_casualties")
    )
    result = backtest(panel, registry)
    # the comparison is only meaningful if every model really was fitted and scored
    assert list(result.scores["model"].unique()) == MODELS
    assert len(result.scores) == len(MODELS) * len(ORIGINS) * 4 * 12
    assert result.scores["crps"].notna().all()
    return result


@pytest.mark.slow
def test_dask_local_cluster_backtest_matches_serial(panel, registry, serial_result) -> None:
    executor = make_executor("dask", workers=2)
    try:
        assert executor.name == "dask"
        got = backtest(panel, registry, executor)
    finally:
        executor.close()
    assert_identical(serial_result, got)


@pytest.mark.slow
def test_local_process_pool_backtest_matches_serial(panel, registry, serial_result) -> None:
    executor = make_executor("local", workers=2)
    try:
        assert executor.name == "local"
        got = backtest(panel, registry, executor)
    finally:
        executor.close()
    assert_identical(serial_result, got)


@pytest.mark.slow
def test_a_different_seed_changes_the_draws(panel, registry, serial_result) -> None:
    """Guards the identity tests: they would pass vacuously if the seed were ignored."""
    other = run_backtest(
        panel,
        registry,
        models=["conflictology"],
        origins=ORIGINS,
        horizon=12,
        n_draws=200,
        seed=8,
        progress=False,
    )
    same_model = serial_result.scores[serial_result.scores["model"] == "conflictology"]
    assert not same_model["crps"].reset_index(drop=True).equals(other.scores["crps"])
