"""Executors give the same results as the serial path, in the same order, and ship a shared
object to each worker once per call instead of once per item."""

from __future__ import annotations

import os
import time

import numpy as np
import pytest

from forecast import executors
from forecast.executors import SerialExecutor, make_executor
from riskcast.errors import ConfigError


def seeded_draws(seed: int) -> np.ndarray:
    """A top-level (picklable) job that carries its own seed."""
    return np.random.default_rng(seed).poisson(3.0, size=50).astype(np.float32)


def shifted_draws(seed: int, shared: np.ndarray) -> tuple[np.ndarray, int, int]:
    """A job reading a shared array: its draws plus the array, the worker's pid and how many
    shared objects that worker has loaded so far."""
    return seeded_draws(seed) + shared, os.getpid(), executors.shared_loads()


def held_by_dask_worker(seed: int, shared: np.ndarray) -> tuple[np.ndarray, bool]:
    """Draws plus the shared array, and whether that array is the very object the Dask
    worker stores (scattered once) rather than a copy shipped with the task."""
    from dask.distributed import get_worker

    stored = any(value is shared for value in get_worker().data.values())
    return seeded_draws(seed) + shared, stored


def same_arrays(expected: list[np.ndarray], got: list[np.ndarray]) -> bool:
    return len(expected) == len(got) and all(
        np.array_equal(a, b) for a, b in zip(expected, got, strict=True)
    )


def test_local_pool_matches_serial() -> None:
    items = list(range(12))
    expected = SerialExecutor().map(seeded_draws, items)
    executor = make_executor("local", workers=2)
    try:
        got = executor.map(seeded_draws, items)
    finally:
        executor.close()
    assert same_arrays(expected, got)


def test_unknown_executor_is_named() -> None:
    with pytest.raises(ConfigError, match="did you mean 'dask'"):
        make_executor("dusk")


def test_imap_yields_in_order_and_closes_as_context_manager() -> None:
    items = list(range(10))
    expected = SerialExecutor().map(seeded_draws, items)
    with make_executor("local", workers=2) as executor:
        got = list(executor.imap(seeded_draws, items))
    assert same_arrays(expected, got)
    serial = SerialExecutor().imap(seeded_draws, items)
    assert np.array_equal(next(serial), expected[0])  # lazy: one result at a time


def test_serial_executor_passes_the_shared_object_itself() -> None:
    shared = np.arange(50, dtype=np.float32)
    seen = SerialExecutor().map(lambda item, obj: obj, [1, 2, 3], shared=shared)
    assert all(obj is shared for obj in seen)  # no copy, no pickling


def test_local_pool_loads_a_shared_object_once_per_worker(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    first = np.arange(50, dtype=np.float32)
    second = first + 1000.0
    items = list(range(40))
    with make_executor("local", workers=2) as executor:
        got = executor.map(shifted_draws, items, shared=first)
        # 40 items on 2 workers: every worker loaded the object exactly once
        assert same_arrays([seeded_draws(i) + first for i in items], [g[0] for g in got])
        assert {loads for _, _, loads in got} == {1}
        assert len({pid for _, pid, _ in got}) <= 2
        assert list(tmp_path.iterdir()) == []  # the shared file is gone once consumed

        # a second call ships its own object: the workers never reuse the first one
        again = executor.map(shifted_draws, items, shared=second)
        assert same_arrays([seeded_draws(i) + second for i in items], [g[0] for g in again])
        # each worker loads the new object once more (a worker that sat out the first call,
        # as a lazily started pool worker may, loads it for the first time)
        before = {pid: loads for _, pid, loads in got}
        for _, pid, loads in again:
            assert loads == before.get(pid, 0) + 1

        # a caller that stops early still leaves no file behind
        stream = executor.imap(shifted_draws, items, shared=first)
        assert np.array_equal(next(stream)[0], seeded_draws(0) + first)
        stream.close()
        assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_dask_local_cluster_matches_serial_and_scatters_the_shared_object_once() -> None:
    items = list(range(6))
    shared = np.arange(50, dtype=np.float32)
    expected = SerialExecutor().map(seeded_draws, items)
    executor = make_executor("dask", workers=2)
    try:
        assert same_arrays(expected, executor.map(seeded_draws, items))
        got = executor.map(held_by_dask_worker, items, shared=shared)
        assert same_arrays([e + shared for e in expected], [g[0] for g in got])
        assert all(stored for _, stored in got)
        # the scattered copy is released after the call (the release message is async)
        deadline = time.monotonic() + 20
        while executor._client.who_has() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert executor._client.who_has() == {}
    finally:
        executor.close()


DASK_RUN = """
import logging
logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
import dask.distributed
from forecast.executors import make_executor
def levels():
    return [logging.getLogger(name).level for name in ("distributed", "tornado")]
before = levels()
executor = make_executor("dask", workers=2)
print(executor.map(abs, [-1, -2, -3]))
executor.close()
print("levels restored", levels() == before)
"""


@pytest.mark.slow
def test_dask_run_logs_no_cluster_chatter_or_shutdown_tracebacks() -> None:
    """As the CLI configures logging (root at INFO): only riskcast's own lines reach stderr."""
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", DASK_RUN], capture_output=True, text=True, timeout=300, check=True
    )
    assert "[1, 2, 3]" in done.stdout
    assert "levels restored True" in done.stdout
    noise = [line for line in done.stderr.splitlines() if "forecast.executors" not in line]
    assert noise == []  # no distributed.* INFO lines, no CommClosedError traceback
