"""One interface to run independent work (a fit per region, per origin, per model) serially,
on a local process pool, or on a Dask cluster — so a user can grow from Mali's dozen regions
to ten thousand grid cells without switching tools.

Every executor has ``map(fn, items) -> list`` that keeps the order of ``items``, and
``imap(fn, items)`` that yields the same results in the same order as they arrive, so a
caller can reduce each result (score a backtest fit, write a chunk) and drop it instead of
holding every result at once. ``fn`` must be a picklable top-level function and must carry
its own seed in its item: results are then identical whichever executor runs them (tested).
Executors are context managers (``with make_executor("local") as ex: ...``).

Large read-only inputs (a backtest's panel: ~200 MB at 10,000 regions × 300 months) go in
``shared=``: ``imap(fn, items, shared=panel)`` calls ``fn(item, panel)`` and ships the panel
to each worker once per call instead of once per item, so items stay small (an origin, a
model, a seed). Serially the object is passed as is (no copy); the local pool pickles it
once to a temporary file that each worker loads once and keeps (deleted when the call's
results are consumed); Dask scatters it to every worker once and releases it afterwards.
``fn`` must treat it as read-only: a worker hands the same object to all its items.

Worker processes run BLAS single-threaded (Dask's nanny does this by default; the local pool
does it in its initializer): with one process per core, multi-threaded BLAS in every worker
would oversubscribe the cores.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
import tempfile
import uuid
import weakref
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal, Protocol, TypeVar

from pydantic import Field

from riskcast.config import StrictSection, did_you_mean, validate_section
from riskcast.errors import ConfigError

log = logging.getLogger(__name__)

Out = TypeVar("Out")

EXECUTOR_NAMES = ("serial", "local", "dask")


class _Nothing:
    """Type of :data:`NOTHING` (so ``shared=None`` stays a legitimate shared object)."""

    def __repr__(self) -> str:
        return "NOTHING"


NOTHING: Any = _Nothing()
"""Default of ``shared=``: call ``fn(item)``, with no shared object."""


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
    """Runs ``fn`` over ``items`` and returns the results in the order of ``items``.

    With ``shared=obj`` each call is ``fn(item, obj)`` and ``obj`` travels to each worker
    once per ``map``/``imap`` call, not once per item (see the module docstring).
    """

    name: str
    n_workers: int

    def map(
        self, fn: Callable[..., Out], items: Iterable[Any], *, shared: Any = NOTHING
    ) -> list[Out]: ...

    def imap(
        self, fn: Callable[..., Out], items: Iterable[Any], *, shared: Any = NOTHING
    ) -> Iterator[Out]: ...

    def close(self) -> None: ...


class _ClosingContext:
    """What the executors share: ``map`` as a collected ``imap``, and ``with`` support that
    closes on exit, even after an error."""

    def map(
        self, fn: Callable[..., Out], items: Iterable[Any], *, shared: Any = NOTHING
    ) -> list[Out]:
        """Every result, in the order of ``items``."""
        return list(self.imap(fn, items, shared=shared))  # type: ignore[attr-defined]

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

    def imap(
        self, fn: Callable[..., Out], items: Iterable[Any], *, shared: Any = NOTHING
    ) -> Iterator[Out]:
        """Results one at a time, computed lazily; ``shared`` is passed as is (no copy)."""
        if shared is NOTHING:
            return (fn(item) for item in items)
        return (fn(item, shared) for item in items)

    def close(self) -> None:
        """Nothing to release."""


class LocalExecutor(_ClosingContext):
    """A process pool on this machine (statsmodels and Prophet fits are CPU-bound).

    A worker keeps the last shared object it loaded until a later call shares another one
    or the pool is closed (one object per worker at most), so close a pool you no longer
    use rather than keep it idle with a 10,000-region panel in every worker.
    """

    name = "local"

    def __init__(self, n_workers: int = 0) -> None:
        self.n_workers = _worker_count(n_workers)
        self._pool = ProcessPoolExecutor(max_workers=self.n_workers, initializer=_pin_blas_threads)

    def imap(
        self, fn: Callable[..., Out], items: Iterable[Any], *, shared: Any = NOTHING
    ) -> Iterator[Out]:
        """Results in order as they arrive (all items are submitted at once).

        ``shared`` is pickled once to a temporary file (a path travels with each chunk of
        items, not the object); each worker loads it on its first item and keeps it for
        the rest. The file is deleted once the results are consumed (or the iterator is
        closed or collected).
        """
        batch = list(items)
        chunk = max(1, len(batch) // (self.n_workers * 4))
        if shared is NOTHING:
            return self._pool.map(fn, batch, chunksize=chunk)
        payload = _SharedFile(shared)
        try:
            results = self._pool.map(
                _CallWithShared(fn, payload.token, payload.path), batch, chunksize=chunk
            )
        except BaseException:
            payload.delete()
            raise
        return _consume_then_delete(results, payload)

    def close(self) -> None:
        """Shut the pool down."""
        self._pool.shutdown(wait=True, cancel_futures=True)


class DaskExecutor(_ClosingContext):
    """dask.distributed: a LocalCluster by default, or an existing scheduler by address."""

    name = "dask"

    def __init__(self, address: str = "", n_workers: int = 0) -> None:
        from dask.distributed import Client, LocalCluster

        self._cluster = None
        self._quiet = _QuietDask()
        if address:
            self._client = Client(address)
        else:
            self._cluster = LocalCluster(
                n_workers=_worker_count(n_workers),
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                silence_logs=_DASK_LOG_LEVEL,
            )
            self._client = Client(self._cluster)
        self.n_workers = len(self._client.scheduler_info().get("workers", {})) or 1
        log.info("dask executor on %s", self._client.scheduler.address)

    def imap(
        self, fn: Callable[..., Out], items: Iterable[Any], *, shared: Any = NOTHING
    ) -> Iterator[Out]:
        """Results in order as they arrive; each is released on the cluster once yielded.

        ``shared`` is scattered to every worker once (``broadcast=True``) and each task
        names its future, which Dask resolves to the worker's copy; it is released once
        the results are consumed.
        """
        batch = list(items)
        if shared is NOTHING:
            return self._results(self._client.map(fn, batch, pure=False), None)
        # wrapped in a list: scatter would split a tuple or dict into one future per element
        [handle] = self._client.scatter([shared], broadcast=True, hash=False)
        futures = self._client.map(fn, batch, [handle] * len(batch), pure=False)
        return self._results(futures, handle)

    @staticmethod
    def _results(futures: list[Any], handle: Any) -> Iterator[Any]:
        try:
            for index in range(len(futures)):
                future = futures[index]
                futures[index] = None  # drop our reference so the worker can free the result
                yield future.result()
        finally:
            for future in futures:
                if future is not None:
                    future.cancel()
            if handle is not None:
                handle.release()

    def close(self) -> None:
        """Close the client and the cluster this executor started (never a user's).

        A clean shutdown makes workers and the scheduler log closed connections
        (``CommClosedError`` tracebacks) that say nothing about the run, so they are muted
        while closing; the cluster's own INFO chatter stays below WARNING throughout.
        """
        with self._quiet.closing():
            self._client.close()
            if self._cluster is not None:
                self._cluster.close()
        self._quiet.restore()


_DASK_LOG_LEVEL = logging.WARNING
_DASK_LOGGERS = ("distributed", "tornado")


class _QuietDask:
    """Keeps dask.distributed's loggers at WARNING while an executor lives (its INFO lines,
    ~30 per LocalCluster, drown the CLI's output) unless riskcast runs with ``--verbose``,
    and mutes them entirely during a clean shutdown. Restores the previous levels after."""

    def __init__(self) -> None:
        self._levels = {name: logging.getLogger(name).level for name in _DASK_LOGGERS}
        if not logging.getLogger().isEnabledFor(logging.DEBUG):
            for name in _DASK_LOGGERS:
                logging.getLogger(name).setLevel(_DASK_LOG_LEVEL)

    @contextlib.contextmanager
    def closing(self) -> Iterator[None]:
        """Mute the loggers (expected closed-connection errors) while the cluster stops."""
        before = {name: logging.getLogger(name).level for name in _DASK_LOGGERS}
        for name in _DASK_LOGGERS:
            logging.getLogger(name).setLevel(logging.CRITICAL + 1)
        try:
            yield
        finally:
            for name, level in before.items():
                logging.getLogger(name).setLevel(level)

    def restore(self) -> None:
        """Give the loggers back the levels they had before this executor."""
        for name, level in self._levels.items():
            logging.getLogger(name).setLevel(level)


# --------------------------------------------------------------------- shared objects, local pool

_WORKER_SHARED: dict[str, Any] = {}
"""This process's copy of the shared object of the running call (token → object; at most
one entry: a new call's object replaces the previous one)."""
_WORKER_LOADS = 0


def shared_loads() -> int:
    """How many shared objects this process has loaded from a local pool's file.

    A diagnostic: in a pool worker it counts the calls that shipped something, never the
    items (tests check that the panel of a backtest is loaded once per worker).
    """
    return _WORKER_LOADS


class _SharedFile:
    """One shared object pickled to a temporary file for a local pool call."""

    def __init__(self, obj: Any) -> None:
        self.token = uuid.uuid4().hex
        handle, self.path = tempfile.mkstemp(prefix="riskcast-shared-", suffix=".pkl")
        try:
            with os.fdopen(handle, "wb") as file:
                pickle.dump(obj, file, protocol=5)
        except BaseException:
            _unlink(self.path)
            raise
        # also deleted when this object is collected or the interpreter exits
        self._finalizer = weakref.finalize(self, _unlink, self.path)
        log.debug("shared object pickled to %s (%d bytes)", self.path, os.path.getsize(self.path))

    def delete(self) -> None:
        """Remove the file (idempotent)."""
        self._finalizer()


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _load_shared(token: str, path: str) -> Any:
    """The shared object of call ``token``: loaded from ``path`` once per process."""
    global _WORKER_LOADS
    if token not in _WORKER_SHARED:
        _WORKER_SHARED.clear()  # drop the previous call's object before loading this one
        with open(path, "rb") as file:
            _WORKER_SHARED[token] = pickle.load(file)
        _WORKER_LOADS += 1
    return _WORKER_SHARED[token]


@dataclass(frozen=True)
class _CallWithShared:
    """``fn(item, shared)`` in a pool worker; pickles to a function name and a path."""

    fn: Callable[..., Any]
    token: str
    path: str

    def __call__(self, item: Any) -> Any:
        return self.fn(item, _load_shared(self.token, self.path))


def _consume_then_delete(results: Iterator[Out], payload: _SharedFile) -> Iterator[Out]:
    """Yield ``results``; delete the shared file once they are all in (or on close)."""
    try:
        yield from results
    finally:
        close = getattr(results, "close", None)
        if close is not None:
            close()  # cancels items not started yet, so none of them looks for the file
        payload.delete()


def make_executor(
    name: str | None = None, config: ExecutorConfig | None = None, **overrides: Any
) -> Executor:
    """The executor named here, else ``config.kind`` (the ``[executor]`` section; default
    ``serial``); ``overrides`` (e.g. ``workers``) win over ``config``.

    Raises:
        ConfigError: for an unknown name, with a did-you-mean.
    """
    if name is not None and name not in EXECUTOR_NAMES:
        raise ConfigError(f"unknown executor '{name}'{did_you_mean(name, EXECUTOR_NAMES)}")
    base = (config or ExecutorConfig()).model_dump()
    config = validate_section(base, "executor", ExecutorConfig, kind=name, **overrides)
    if config.kind == "local":
        return LocalExecutor(config.workers)
    if config.kind == "dask":
        return DaskExecutor(config.dask_address, config.workers)
    return SerialExecutor()
