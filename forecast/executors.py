"""One interface to run independent work (a fit per region, per origin, per model) serially,
on a local process pool, or on a Dask cluster — so a user can grow from Mali's dozen regions
to ten thousand grid cells without switching tools.

Every executor has ``map(fn, items) -> list`` that keeps the order of ``items``, and
``imap(fn, items)`` that yields the same results in the same order as they arrive, so a
caller can reduce each result (score a backtest fit, write a chunk) and drop it instead of
holding every result at once. ``fn`` must be a picklable top-level function and must carry
its own seed in its item: results are then identical whichever executor runs them (tested).
Executors are context managers (``with make_executor("local") as ex: ...``).

Worker processes run BLAS single-threaded (Dask's nanny does this by default; the local pool
does it in its initializer): with one process per core, multi-threaded BLAS in every worker
would oversubscribe the cores.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from typing import Any, Literal, Protocol, TypeVar

from pydantic import Field

from riskcast.config import StrictSection, config_section, did_you_mean
from riskcast.errors import ConfigError

log = logging.getLogger(__name__)

In = TypeVar("In")
Out = TypeVar("Out")

EXECUTOR_NAMES = ("serial", "local", "dask")


class ExecutorConfig(StrictSection):
    """The [executor] section: where fits and backtests run.

    Attributes:
        kind: ``serial`` (one process), ``local`` (a process pool sized to the machine) or
            ``dask`` (dask.distributed).
        workers: processes for ``local`` / workers for a new Dask LocalCluster; 0 = all cores.
        dask_address: an existing Dask scheduler (``tcp://host:8786``); empty = start a
            LocalCluster on this machine.
    """

    kind: Literal["serial", "local", "dask"] = "serial"
    workers: int = Field(default=0, ge=0)
    dask_address: str = ""


class Executor(Protocol):
    """Runs ``fn`` over ``items`` and returns the results in the order of ``items``."""

    name: str

    def map(self, fn: Callable[[In], Out], items: Iterable[In]) -> list[Out]: ...

    def imap(self, fn: Callable[[In], Out], items: Iterable[In]) -> Iterator[Out]: ...

    def close(self) -> None: ...


class _ClosingContext:
    """``with`` support shared by the executors: close on exit, even after an error."""

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()  # type: ignore[attr-defined]


def _pin_blas_threads() -> None:
    """Process-pool initializer: one BLAS thread per worker process (when threadpoolctl is
    installed; it comes with scipy's usual stack)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - optional
        return
    threadpool_limits(limits=1, user_api="blas")


def _worker_count(requested: int) -> int:
    return requested or os.cpu_count() or 1


class SerialExecutor(_ClosingContext):
    """Runs everything in this process: the reference the others must match."""

    name = "serial"
    n_workers = 1

    def map(self, fn: Callable[[In], Out], items: Iterable[In]) -> list[Out]:
        return [fn(item) for item in items]

    def imap(self, fn: Callable[[In], Out], items: Iterable[In]) -> Iterator[Out]:
        """Results one at a time, computed lazily."""
        return (fn(item) for item in items)

    def close(self) -> None:
        """Nothing to release."""


class LocalExecutor(_ClosingContext):
    """A process pool on this machine (statsmodels and Prophet fits are CPU-bound)."""

    name = "local"

    def __init__(self, n_workers: int = 0) -> None:
        self.n_workers = _worker_count(n_workers)
        self._pool = ProcessPoolExecutor(max_workers=self.n_workers, initializer=_pin_blas_threads)

    def map(self, fn: Callable[[In], Out], items: Iterable[In]) -> list[Out]:
        return list(self.imap(fn, items))

    def imap(self, fn: Callable[[In], Out], items: Iterable[In]) -> Iterator[Out]:
        """Results in order as they arrive (all items are submitted at once)."""
        batch = list(items)
        chunk = max(1, len(batch) // (self.n_workers * 4))
        return self._pool.map(fn, batch, chunksize=chunk)

    def close(self) -> None:
        """Shut the pool down."""
        self._pool.shutdown(wait=True, cancel_futures=True)


class DaskExecutor(_ClosingContext):
    """dask.distributed: a LocalCluster by default, or an existing scheduler by address."""

    name = "dask"

    def __init__(self, address: str = "", n_workers: int = 0) -> None:
        from dask.distributed import Client, LocalCluster

        self._cluster = None
        if address:
            self._client = Client(address)
        else:
            self._cluster = LocalCluster(
                n_workers=_worker_count(n_workers),
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
            )
            self._client = Client(self._cluster)
        self.n_workers = len(self._client.scheduler_info().get("workers", {})) or 1
        log.info("dask executor on %s", self._client.scheduler.address)

    def map(self, fn: Callable[[In], Out], items: Iterable[In]) -> list[Out]:
        futures = self._client.map(fn, list(items), pure=False)
        return self._client.gather(futures)

    def imap(self, fn: Callable[[In], Out], items: Iterable[In]) -> Iterator[Out]:
        """Results in order as they arrive; each is released on the cluster once yielded."""
        futures = self._client.map(fn, list(items), pure=False)
        for index in range(len(futures)):
            future = futures[index]
            futures[index] = None  # drop our reference so the worker can free the result
            yield future.result()

    def close(self) -> None:
        """Close the client and the cluster this executor started (never a user's)."""
        self._client.close()
        if self._cluster is not None:
            self._cluster.close()


def make_executor(name: str | None = None, **overrides: Any) -> Executor:
    """The executor named here or in the [executor] config (default ``serial``).

    Raises:
        ConfigError: for an unknown name, with a did-you-mean.
    """
    if name is not None and name not in EXECUTOR_NAMES:
        raise ConfigError(f"unknown executor '{name}'{did_you_mean(name, EXECUTOR_NAMES)}")
    config = config_section("executor", ExecutorConfig, kind=name, **overrides)
    if config.kind == "local":
        return LocalExecutor(config.workers)
    if config.kind == "dask":
        return DaskExecutor(config.dask_address, config.workers)
    return SerialExecutor()
