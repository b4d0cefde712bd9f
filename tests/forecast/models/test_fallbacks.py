"""Fits that fail fall back to poisson_mean visibly: logged and written to Draws.notes."""

from __future__ import annotations

import logging

import numpy as np
import pytest

import forecast.models.glm as glm
import forecast.models.negbin as negbin
from forecast.models import make_model
from forecast.models.statespace import Ets, FitFailed, Sarimax


def test_glm_fit_failure_falls_back_for_every_region(task, monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise glm.GLMFitError("forced failure")

    monkeypatch.setattr(glm, "fit_negbin", broken)
    with caplog.at_level(logging.WARNING):
        draws = make_model("negbin_glm").fit(task).predict(6, 100, np.random.default_rng(0))
    assert set(draws.notes) == set(task.regions)
    assert all("forced failure" in n and "poisson_mean" in n for n in draws.notes.values())
    assert "fell back to poisson_mean" in caplog.text
    expected = make_model("poisson_mean").fit(task).predict(6, 100, np.random.default_rng(0))
    assert np.array_equal(draws.values, expected.values)


def test_glm_feature_failure_falls_back(task, monkeypatch):
    def broken(*args, **kwargs):
        raise KeyError("no such feature")

    monkeypatch.setattr(glm, "build_task_features", broken)
    draws = make_model("negbin_glm").fit(task).predict(3, 50, np.random.default_rng(0))
    assert all("features could not be built" in n for n in draws.notes.values())


@pytest.mark.slow
def test_glm_fits_without_fallback_and_caps_means(task):
    model = make_model("negbin_glm").fit(task)
    draws = model.predict(12, 500, np.random.default_rng(0))
    assert not draws.notes
    assert set(model.alphas) == set(range(1, 13))
    assert all(np.all((a > 0) & (a <= negbin.ALPHA_MAX)) for a in model.alphas.values())
    history = task.target_matrix().to_numpy()
    cap = model.mean_cap * np.nanmax(history, axis=0) + 10
    assert (draws.mean() <= cap[:, None] * 1.5).all()


@pytest.mark.slow
def test_glm_long_horizons_reuse_the_fit_below(panel, registry):
    from tests.forecast.models.conftest import cut_task

    # 20 months of history: horizons ≥ 20 have no training pair at all.
    short = cut_task(panel[panel.month >= "2019-05"], "2020-12", registry)
    draws = make_model("negbin_glm").fit(short).predict(24, 30, np.random.default_rng(0))
    assert draws.horizon == 24
    assert any("reuse the horizon-" in n for n in draws.notes.values())


@pytest.mark.parametrize("cls", [Ets, Sarimax])
def test_statespace_region_failure_is_noted(cls, task, monkeypatch, caplog):
    original = cls._fit_one
    calls = {"n": 0}

    def flaky(self, z):
        calls["n"] += 1
        if calls["n"] == 1:
            raise FitFailed("forced non-convergence")
        return original(self, z)

    monkeypatch.setattr(cls, "_fit_one", flaky)
    with caplog.at_level(logging.WARNING):
        draws = cls().fit(task).predict(4, 50, np.random.default_rng(0))
    failed = [r for r, n in draws.notes.items() if "forced non-convergence" in n]
    assert len(failed) == 1 and "poisson_mean" in draws.notes[failed[0]]
    assert "fell back to poisson_mean" in caplog.text
    fitted = [r for r in task.regions if r not in draws.notes]
    assert fitted, "the other regions keep their own fits"


def test_statespace_all_zero_region_is_noted(task):
    draws = make_model("ets").fit(task).predict(3, 20, np.random.default_rng(0))
    assert "constant history" in draws.notes[task.regions[0]]
