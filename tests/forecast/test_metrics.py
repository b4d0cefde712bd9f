"""Scores checked against facts that do not depend on scoringrules."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from forecast import metrics


def test_crps_of_a_point_mass_is_the_absolute_error() -> None:
    obs = np.array([[0.0, 3.0], [10.0, 7.0]])
    draws = np.full((2, 2, 50), 4.0)
    np.testing.assert_allclose(metrics.crps(obs, draws), np.abs(obs - 4.0))
    np.testing.assert_allclose(metrics.crps_log(obs, draws), np.abs(np.log1p(obs) - np.log1p(4.0)))


def test_crps_of_two_point_ensemble_matches_the_energy_form() -> None:
    # E|X - y| - 0.5 E|X - X'| for X uniform on {0, 2}, y = 0: 1 - 0.5 * 1 = 0.5
    assert metrics.crps(np.array([0.0]), np.array([[0.0, 2.0]]))[0] == pytest.approx(0.5)


def test_coverage_of_known_draws() -> None:
    draws = np.tile(np.arange(101.0), (4, 1))  # quantile q is exactly 100 q
    obs = np.array([50.0, 20.0, 4.0, 96.0])
    np.testing.assert_array_equal(metrics.covered(obs, draws, 0.5), [1, 0, 0, 0])
    np.testing.assert_array_equal(metrics.covered(obs, draws, 0.9), [1, 1, 0, 0])


def test_coverage_is_near_nominal_for_a_calibrated_forecast() -> None:
    rng = np.random.default_rng(1)
    draws = rng.poisson(30, size=(4000, 500)).astype(float)
    obs = rng.poisson(30, size=4000).astype(float)
    assert metrics.covered(obs, draws, 0.9).mean() == pytest.approx(0.9, abs=0.03)


def test_interval_score_by_hand() -> None:
    draws = np.tile(np.arange(101.0), (3, 1))  # 90% interval = [5, 95]
    obs = np.array([50.0, 0.0, 100.0])
    width = 90.0
    np.testing.assert_allclose(
        metrics.interval_score(obs, draws, 0.9),
        [width, width + 2 / 0.1 * 5, width + 2 / 0.1 * 5],
    )


def test_ignorance_uses_views_bins_and_smoothing() -> None:
    draws = np.array([[0.0] * 6 + [1.0, 2.0, 30.0, 30.0]])  # bins 0:6, [1,2]:2, [26..50]:2
    n, k, s = 10, len(metrics.VIEWS_BINS), metrics.IGNORANCE_SMOOTHING
    expected = {
        0.0: -np.log2((6 + s) / (n + s * k)),
        2.0: -np.log2((2 + s) / (n + s * k)),
        50.0: -np.log2((2 + s) / (n + s * k)),
        51.0: -np.log2(s / (n + s * k)),  # 51 is in the 50.5-100.5 bin: no draw there
        5000.0: -np.log2(s / (n + s * k)),
    }
    for value, score in expected.items():
        assert metrics.ignorance_score(np.array([value]), draws)[0] == pytest.approx(score)


def test_brier_log_loss_and_skill() -> None:
    prob = np.array([0.0, 1.0, 0.25])
    outcome = np.array([0.0, 0.0, 1.0])
    np.testing.assert_allclose(metrics.brier(prob, outcome), [0.0, 1.0, 0.5625])
    losses = metrics.log_loss(prob, outcome)
    assert np.isfinite(losses).all()  # clipped, not infinite
    assert losses[1] == pytest.approx(-np.log(metrics.LOG_LOSS_EPS))
    assert losses[2] == pytest.approx(-np.log(0.25))
    assert metrics.brier_skill(0.05, 0.1) == pytest.approx(0.5)
    assert np.isnan(metrics.brier_skill(0.0, 0.0))


def test_reliability_table_counts_every_forecast() -> None:
    prob = np.array([0.05, 0.05, 0.15, 0.95, 1.0])
    outcome = np.array([0, 1, 0, 1, 1])
    table = metrics.reliability_table(prob, outcome, n_bins=10)
    assert table["n"].sum() == 5 and len(table) == 10
    assert table.loc[0, "observed_freq"] == pytest.approx(0.5)
    assert table.loc[9, "n"] == 2 and table.loc[9, "mean_p"] == pytest.approx(0.975)
    assert np.isnan(table.loc[5, "mean_p"])


def test_score_counts_is_vectorised_over_region_and_horizon() -> None:
    rng = np.random.default_rng(0)
    draws = rng.poisson(5, size=(3, 4, 200)).astype(np.float32)
    obs = rng.poisson(5, size=(3, 4)).astype(float)
    scores = metrics.score_counts(obs, draws)
    assert set(scores) == set(metrics.COUNT_METRICS)
    assert all(v.shape == (3, 4) for v in scores.values())
    with pytest.raises(ValueError, match="do not match"):
        metrics.score_counts(obs[:2], draws)


@settings(max_examples=40, deadline=None)
@given(
    arrays(np.float64, (2, 30), elements=st.floats(0, 1e4)),
    arrays(np.float64, (2,), elements=st.floats(0, 1e4)),
)
def test_scores_are_non_negative_and_crps_bounded_by_mean_absolute_error(draws, obs) -> None:
    crps = metrics.crps(obs, draws)
    assert (crps >= -1e-9).all()
    assert (crps <= np.abs(draws - obs[:, None]).mean(axis=1) + 1e-6).all()
    assert (metrics.ignorance_score(obs, draws) > 0).all()


@pytest.mark.parametrize("n_draws", [1, 2, 7, 250, 1001])
@pytest.mark.parametrize("block", [1, 3, 10_000_000])
def test_score_counts_equals_each_score_exactly_whatever_the_block(
    n_draws: int, block: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # score_counts sorts once and reads medians and interval bounds by index: it must give
    # the very numbers of the one-score functions (np.quantile, np.median, unsorted CRPS)
    rng = np.random.default_rng(n_draws)
    draws = rng.negative_binomial(1.2, 0.1, size=(11, 4, n_draws)).astype(np.float32)
    draws[::2] *= rng.gamma(2.0, 1.0, size=draws[::2].shape).astype(np.float32)  # non-integer
    draws[3] = 5.0  # ties everywhere
    obs = rng.negative_binomial(1.2, 0.1, size=(11, 4)).astype(float)
    obs[3, 0] = 5.0
    monkeypatch.setattr(metrics, "SCORE_BLOCK_ELEMENTS", block * 4 * n_draws)
    scores = metrics.score_counts(obs, draws)
    wide = draws.astype(np.float64)
    expected = {
        "crps": metrics.crps(obs, wide),
        "crps_log": metrics.crps_log(obs, wide),
        "ae_median": metrics.absolute_error_median(obs, wide),
        "ae_mean": metrics.absolute_error_mean(obs, wide),
        "in_50": metrics.covered(obs, wide, 0.5),
        "in_90": metrics.covered(obs, wide, 0.9),
        "interval_90": metrics.interval_score(obs, wide, 0.9),
        "ignorance": metrics.ignorance_score(obs, wide),
    }
    assert set(scores) == set(expected)
    for name, values in expected.items():
        np.testing.assert_array_equal(scores[name], values, err_msg=name)


def test_score_counts_of_one_region_month() -> None:
    draws = np.array([0.0, 1.0, 3.0, 8.0], dtype=np.float32)
    scores = metrics.score_counts(np.float64(2.0), draws)
    assert scores["ae_median"] == pytest.approx(0.0)
    assert scores["crps"] == pytest.approx(float(metrics.crps(np.float64(2.0), draws)))


def test_draws_quantiles_are_numpys_across_sort_blocks(monkeypatch):
    import forecast.draws as draws_module
    from forecast.draws import QUANTILES, Draws

    rng = np.random.default_rng(5)
    values = rng.negative_binomial(0.6, 0.04, size=(7, 3, 101)).astype(np.float32)
    draws = Draws("m", "fatalities", pd.Period("2020-01", freq="M"), tuple("abcdefg"), values)
    monkeypatch.setattr(draws_module, "QUANTILE_BLOCK_ELEMENTS", 2 * 3 * 101)  # 4 blocks
    got = draws.quantiles()
    assert got.shape == (len(QUANTILES), 7, 3)
    assert np.array_equal(got, np.quantile(values, QUANTILES, axis=2))
