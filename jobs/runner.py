"""Run one job: claim its fire time (lease) and the job's lock, record the run, never let a
failure escape.

The scheduler, ``riskcast run`` and ``POST /jobs/{name}/run`` all go through
:func:`execute`, so a run looks the same in ``/jobs`` however it was started, and one
mechanism (:func:`jobs.lease.lock`) lets exactly one run of a job proceed at a time across
every process on the database: a second trigger gets :class:`JobBusyError` (409 on the
API). A job body is a plain function ``body(store, *, trigger, run_id, config) -> dict``
named by a ``"module:function"`` reference (so APScheduler can persist it in the
database); the dict it returns becomes the run's details, and its ``mlflow_run_id`` key, if
any, the run's MLflow run id.
"""

from __future__ import annotations

import importlib
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from data.store import Store, open_store
from jobs import lease, records
from jobs.config import RiskcastConfig, load_config
from jobs.records import JobOutcome
from jobs.settings import ScheduleConfig
from riskcast.errors import InputError, RiskcastError

logger = logging.getLogger(__name__)

JobBody = Callable[..., dict[str, Any]]


@dataclass(frozen=True)
class JobSpec:
    """A job the service knows.

    Attributes:
        name: stable name (``weekly``, ``ingest``); the URL of ``POST /jobs/{name}/run``.
        target: ``"module:function"`` of the body.
        description: one line for ``/jobs`` and the docs.
    """

    name: str
    target: str
    description: str


JOBS: dict[str, JobSpec] = {
    "ingest": JobSpec(
        "ingest", "jobs.inbox:ingest_job", "ingest new files dropped in <home>/inbox (daily)"
    ),
    "weekly": JobSpec(
        "weekly",
        "jobs.weekly:weekly_job",
        "ingest new files, refit the champion, forecast, score risk, evaluate alerts, "
        "write the bulletin, log the MLflow run (weekly)",
    ),
    "alerts": JobSpec(
        "alerts",
        "jobs.weekly:alerts_job",
        "re-evaluate alerts on the latest refit (also runs inside every weekly refit)",
    ),
}


class JobBusyError(RiskcastError):
    """Another run of the job holds its lock; this trigger did not start one."""

    def __init__(self, holder: lease.Holder) -> None:
        self.holder = holder
        super().__init__(
            f"job {holder.job_name} is already running (run {holder.run_id}, "
            f"trigger {holder.trigger}, started {holder.acquired_at.isoformat()} "
            f"by {holder.owner})"
        )


def resolve_target(target: str) -> JobBody:
    """Import ``"module:function"``."""
    module_name, _, attribute = target.partition(":")
    return getattr(importlib.import_module(module_name), attribute)


def job_spec(name: str) -> JobSpec:
    """The spec of job ``name``.

    Raises:
        InputError: for an unknown job, listing the known ones.
    """
    if name not in JOBS:
        known = ", ".join(sorted(JOBS))
        raise InputError(f"unknown job '{name}'; known jobs: {known}", field="name")
    return JOBS[name]


def open_service_store(config: RiskcastConfig) -> Store:
    """The service database (``data.store.open_store`` on the settings' URL)."""
    return open_store(config=config.data)


def error_text(exc: BaseException) -> str:
    """One line naming what failed: the message for user errors, type + message otherwise."""
    if isinstance(exc, RiskcastError):
        return str(exc)
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def execute(
    name: str,
    *,
    trigger: str,
    fire_time: datetime | None = None,
    target: str | None = None,
    store: Any | None = None,
    on_start: Callable[[JobOutcome], None] | None = None,
    config: RiskcastConfig | None = None,
) -> JobOutcome | None:
    """Run job ``name`` once, recorded.

    A run is an entry point: without ``config`` it reads and validates the whole domain
    config first, so a typo anywhere fails the run before it has changed anything.

    Args:
        name: job name (its lease and record key).
        trigger: ``schedule``, ``cli`` or ``api``.
        fire_time: the scheduled fire time (scheduler runs only). When given, the run first
            claims the lease of ``(name, fire_time)`` and returns None if another process
            already has.
        target: body reference; default from :data:`JOBS`.
        store: an open store; default :func:`open_service_store`.
        on_start: called with the (running) record once it is written, so an API caller
            can answer with the run id while the job goes on.
        config: the domain config (the service's, loaded at its start); default read now.

    Returns:
        The finished outcome (``succeeded`` or ``failed``), or None when a scheduled fire
        was skipped because another process holds its lease or the job's lock.

    Raises:
        JobBusyError: a manual (CLI/API) trigger while another run holds the job's lock.
        StoreUnavailableError: only when the run cannot even be recorded (database down);
            every failure of the body itself is caught and recorded instead.
    """
    body = resolve_target(target or job_spec(name).target)
    config = config or load_config()
    run = _Run(name, body, trigger, fire_time, on_start, config)
    if store is None:
        store = open_service_store(config)
        try:
            return _execute(run, store)
        finally:
            store.close()  # a run's own engine: release its connections
    return _execute(run, store)


@dataclass(frozen=True)
class _Run:
    """One run's what and why: the job, its trigger and the config it runs under."""

    name: str
    body: JobBody
    trigger: str
    fire_time: datetime | None
    on_start: Callable[[JobOutcome], None] | None
    config: RiskcastConfig


def _execute(run: _Run, store: Any) -> JobOutcome | None:
    name, trigger, fire_time = run.name, run.trigger, run.fire_time
    engine = store.engine
    config = run.config.schedule
    if fire_time is not None:
        if not lease.acquire(engine, name, fire_time):
            return None
        try:
            lease.prune(engine, config.lease_retention_days)
        except Exception:  # pruning is housekeeping; never fail a run for it
            logger.debug("lease pruning failed", exc_info=True)
    run_id = records.new_run_id()
    stale_after = timedelta(seconds=config.lease_stale_seconds)
    for dead in lease.reap(engine, stale_after):
        _mark_dead(engine, dead, run_id)
    claim = lease.lock(
        engine, name, run_id, trigger=trigger, fire_time=fire_time, stale_after=stale_after
    )
    if claim.taken_over is not None:
        _mark_dead(engine, claim.taken_over, run_id)
    if not claim.acquired:
        assert claim.holder is not None
        if fire_time is not None:
            logger.warning(
                "scheduled %s at %s skipped: run %s is still going", name, fire_time, claim.holder
            )
            return None
        raise JobBusyError(claim.holder)
    try:
        with _heartbeat(engine, name, run_id, config.lease_heartbeat_seconds):
            return _run_recorded(run, store, run_id)
    finally:
        try:
            lease.unlock(engine, name, run_id)
        except Exception:  # the lock goes stale and is taken over; never mask the run
            logger.exception("could not release the lock of job %s run %s", name, run_id)


def _mark_dead(engine: Any, dead: lease.Holder, by_run: str) -> None:
    records.mark_failed(
        engine,
        dead.run_id,
        f"its process ({dead.owner}) stopped mid-run (last heartbeat "
        f"{dead.heartbeat_at.isoformat()}); found by run {by_run}",
    )


@contextmanager
def _heartbeat(engine: Any, name: str, run_id: str, every_s: float) -> Iterator[None]:
    """Refresh the job's lock every ``every_s`` seconds while the body runs."""
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(every_s):
            try:
                if not lease.heartbeat(engine, name, run_id):
                    logger.error("job %s run %s lost its lock (taken over)", name, run_id)
                    return
            except Exception:  # a database hiccup: try again at the next beat
                logger.warning("heartbeat of job %s run %s failed", name, run_id, exc_info=True)

    thread = threading.Thread(target=beat, name=f"riskcast-heartbeat-{name}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def _run_recorded(run: _Run, store: Any, run_id: str) -> JobOutcome:
    name, trigger = run.name, run.trigger
    engine = store.engine
    outcome = records.start(engine, name, trigger=trigger, fire_time=run.fire_time, run_id=run_id)
    logger.info("job %s started (trigger %s, run %s)", name, trigger, outcome.run_id)
    if run.on_start is not None:
        run.on_start(outcome)
    try:
        details = run.body(store, trigger=trigger, run_id=outcome.run_id, config=run.config) or {}
        outcome.details = dict(details)
        outcome.mlflow_run_id = details.get("mlflow_run_id")
        outcome.outcome = "failed" if details.get("failed") else "succeeded"
        outcome.error = details.get("error")
    except Exception as exc:  # a job failure is recorded, never raised into the scheduler
        outcome.outcome = "failed"
        outcome.error = error_text(exc)
        outcome.details = dict(getattr(exc, "details", {}) or {})
        outcome.mlflow_run_id = outcome.details.get("mlflow_run_id")
        if isinstance(exc, RiskcastError) or isinstance(exc.__cause__, RiskcastError):
            logger.error("job %s failed: %s", name, outcome.error)  # the message says it all
        else:
            logger.exception("job %s failed: %s", name, outcome.error)
    try:
        records.finish(engine, outcome)
    except Exception:
        logger.exception("could not record the end of job run %s", outcome.run_id)
    logger.info("job %s %s (run %s)", name, outcome.outcome, outcome.run_id)
    return outcome


def busy(store: Any, name: str, schedule: ScheduleConfig) -> lease.Holder | None:
    """The live run holding job ``name``'s lock, or None (a dead holder does not count).

    For display only: whether a trigger may run is decided by :func:`jobs.lease.lock`
    inside :func:`execute`, atomically, never by this look.
    """
    holder = lease.lock_holder(store.engine, name)
    stale_after = timedelta(seconds=schedule.lease_stale_seconds)
    return holder if holder is not None and holder.alive(stale_after) else None
