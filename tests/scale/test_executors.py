"""Executors give the same results as the serial path, in the same order."""

from __future__ import annotations

import numpy as np
import pytest

from forecast.executors import SerialExecutor, make_executor
from riskcast.errors import ConfigError


def seeded_draws(seed: int) -> np.ndarray:
    """A top-level (picklable) job that carries its own seed."""
    return np.random.default_rng(seed).poisson(3.0, size=50).astype(np.float32)


def test_local_pool_matches_serial() -> None:
    items = list(range(12))
    expected = SerialExecutor().map(seeded_draws, items)
    executor = make_executor("local", workers=2)
    try:
        got = executor.map(seeded_draws, items)
    finally:
        executor.close()
    assert all(np.array_equal(a, b) for a, b in zip(expected, got, strict=True))


@pytest.mark.slow
def test_dask_local_cluster_matches_serial() -> None:
    items = list(range(6))
    expected = SerialExecutor().map(seeded_draws, items)
    executor = make_executor("dask", workers=2)
    try:
        got = executor.map(seeded_draws, items)
    finally:
        executor.close()
    assert all(np.array_equal(a, b) for a, b in zip(expected, got, strict=True))


def test_unknown_executor_is_named() -> None:
    with pytest.raises(ConfigError, match="did you mean 'dask'"):
        make_executor("dusk")


def test_imap_yields_in_order_and_closes_as_context_manager() -> None:
    items = list(range(10))
    expected = SerialExecutor().map(seeded_draws, items)
    with make_executor("local", workers=2) as executor:
        got = list(executor.imap(seeded_draws, items))
    assert all(np.array_equal(a, b) for a, b in zip(expected, got, strict=True))
    serial = SerialExecutor().imap(seeded_draws, items)
    assert np.array_equal(next(serial), expected[0])  # lazy: one result at a time
