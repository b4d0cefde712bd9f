"""The NB-GLM's mean fit and training sample: fast paths that must not cost accuracy."""

from __future__ import annotations

import warnings

import numpy as np
import statsmodels.api as sm

import forecast.models.glm as glm
import forecast.models.negbin as negbin
from forecast.models import make_model


def pooled_problem(n_rows: int = 5_000, seed: int = 0):
    """Zero-heavy NB2 counts from a known log-linear model with an offset."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n_rows, 4))
    offset = np.log(rng.gamma(0.7, 4.0, size=n_rows) + glm.OFFSET_EPS)
    mu = np.exp(offset + x @ np.array([0.4, -0.3, 0.2, 0.0]) - 0.2)
    size = 1.0 / 1.5
    y = rng.negative_binomial(size, size / (size + mu)).astype(float)
    return sm.add_constant(x), y, offset


def test_mean_fit_reaches_at_least_the_lbfgs_likelihood():
    design, y, offset = pooled_problem()
    alpha = np.full(len(y), 1.5)
    model = sm.GLM(y, design, family=sm.families.NegativeBinomial(alpha=alpha), offset=offset)
    fast = negbin._mean_fit(design, y, offset, alpha, None, ridge=0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        slow = model.fit(
            start_params=negbin.poisson_start(design, y, offset), method="lbfgs", maxiter=500
        )
    assert model.loglike(fast) >= model.loglike(np.asarray(slow.params)) - 1e-6
    assert np.allclose(fast[1:4], [0.4, -0.3, 0.2], atol=0.1)  # recovers the true slopes


def test_mean_fit_falls_back_to_lbfgs_when_newton_cg_fails(monkeypatch):
    def broken(model, start):
        raise negbin.GLMFitError("forced")

    monkeypatch.setattr(negbin, "_newton_cg", broken)
    design, y, offset = pooled_problem(seed=1)
    params = negbin._mean_fit(design, y, offset, np.full(len(y), 1.5), None, ridge=0.0)
    assert np.all(np.isfinite(params)) and np.allclose(params[1:4], [0.4, -0.3, 0.2], atol=0.1)


def test_training_rows_keep_everything_under_the_cap():
    usable = np.array([True, False, True, True])
    assert glm.training_rows(usable, max_rows=10, horizon=1).tolist() == [0, 2, 3]
    assert glm.training_rows(usable, max_rows=0, horizon=1).tolist() == [0, 2, 3]


def test_training_rows_sample_is_fixed_sorted_and_usable():
    usable = np.random.default_rng(3).random(50_000) > 0.4
    rows = glm.training_rows(usable, max_rows=1_000, horizon=4)
    assert len(rows) == 1_000 and np.all(np.diff(rows) > 0) and usable[rows].all()
    assert np.array_equal(rows, glm.training_rows(usable, max_rows=1_000, horizon=4))
    assert not np.array_equal(rows, glm.training_rows(usable, max_rows=1_000, horizon=5))


def test_row_cap_changes_the_fit_only_when_reached(task):
    rng_seed = 7
    full = make_model("negbin_glm").fit(task).predict(3, 200, np.random.default_rng(rng_seed))
    rows = int(task.panel["region"].nunique()) * 121
    same = make_model("negbin_glm", max_rows=rows * 2).fit(task)
    assert np.array_equal(same.predict(3, 200, np.random.default_rng(rng_seed)).values, full.values)
    capped = make_model("negbin_glm", max_rows=60).fit(task)
    draws = capped.predict(3, 200, np.random.default_rng(rng_seed))
    assert not draws.notes and np.isfinite(draws.values).all()
    assert not np.array_equal(draws.values, full.values)
