"""The block samplers draw exactly what one whole-array draw did (seeded forecasts keep)."""

from __future__ import annotations

import numpy as np
import pytest

from forecast.models import _common


def whole_array_poisson(mean, n_draws, rng):
    lam = np.broadcast_to(np.maximum(mean, 0.0)[..., None], (*np.shape(mean), n_draws))
    return rng.poisson(lam).astype(np.float32)


def whole_array_negbin(mean, alpha, n_draws, rng):
    mean = np.maximum(np.asarray(mean, dtype=np.float64), 0.0)
    alpha = np.maximum(np.broadcast_to(np.asarray(alpha, dtype=np.float64), mean.shape), 0.0)
    shape = (*mean.shape, n_draws)
    mu = np.broadcast_to(mean[..., None], shape)
    a = np.broadcast_to(alpha[..., None], shape)
    dispersed = a > 0
    safe_a = np.where(dispersed, a, 1.0)
    gamma = rng.gamma(1.0 / safe_a, 1.0) * safe_a * mu
    return rng.poisson(np.where(dispersed, gamma, mu)).astype(np.float32)


@pytest.fixture(params=[1, 7, 10_000_000], ids=["block-1", "block-7", "one-block"])
def block_elements(request, monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(_common, "SAMPLE_BLOCK_ELEMENTS", request.param)
    return request.param


def test_poisson_blocks_draw_the_whole_array_stream(block_elements: int) -> None:
    rng = np.random.default_rng(3)
    mean = np.random.default_rng(0).gamma(1.0, 5.0, size=(23, 4))
    mean[2] = 0.0
    reference_rng = np.random.default_rng(3)
    expected = whole_array_poisson(mean, 50, reference_rng)
    got = _common.poisson_draws(mean, 50, rng)
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, expected)
    assert rng.random() == reference_rng.random()  # the stream continues where it did


def test_negbin_blocks_draw_the_whole_array_stream(block_elements: int) -> None:
    source = np.random.default_rng(0)
    mean = source.gamma(1.0, 5.0, size=(23, 4))
    alpha = source.gamma(1.0, 1.0, size=(23, 4)) * (source.random((23, 4)) > 0.3)
    mean[2] = 0.0
    rng, reference_rng = np.random.default_rng(9), np.random.default_rng(9)
    expected = whole_array_negbin(mean, alpha, 40, reference_rng)
    got = _common.negbin_draws(mean, alpha, 40, rng)
    assert got.dtype == np.float32 and got.shape == (23, 4, 40)
    np.testing.assert_array_equal(got, expected)
    assert rng.random() == reference_rng.random()


def test_samplers_take_a_scalar_mean() -> None:
    got = _common.negbin_draws(np.float64(4.0), 0.5, 30, np.random.default_rng(1))
    expected = whole_array_negbin(np.float64(4.0), 0.5, 30, np.random.default_rng(1))
    np.testing.assert_array_equal(got, expected)
    got = _common.poisson_draws(np.float64(4.0), 30, np.random.default_rng(1))
    np.testing.assert_array_equal(got, whole_array_poisson(4.0, 30, np.random.default_rng(1)))


def test_conflictology_draws_do_not_depend_on_the_block(panel, task, monkeypatch) -> None:
    from forecast.models.baselines import Conflictology

    monkeypatch.setattr(_common, "SAMPLE_BLOCK_ELEMENTS", 10_000_000)
    whole = Conflictology().fit(task).predict(12, 60, np.random.default_rng(5)).values
    monkeypatch.setattr(_common, "SAMPLE_BLOCK_ELEMENTS", 12 * 60 + 1)
    blocked = Conflictology().fit(task).predict(12, 60, np.random.default_rng(5)).values
    np.testing.assert_array_equal(whole, blocked)
