"""The scheduler: APScheduler 3.x, jobs persisted in the service database.

Choices, deliberately:

* ``BackgroundScheduler`` in the service process (and in every worker: uvicorn
  ``--workers 2`` or two hosts on one database) with a ``SQLAlchemyJobStore`` on the same
  database, so schedules and next fire times survive restarts.
* ``coalesce=True``: after an outage, all missed fires of a job collapse into one run.
* ``misfire_grace_time`` per job (``[schedule]``: 23 h for the daily ingest, 6 days for the
  weekly refit): a fire missed while the service was down still runs once on start,
  but never one so stale that it would overlap the next regular fire.
* ``max_instances=1``: a slow refit is never stacked on itself within a process.
* Across processes the database lease (:mod:`jobs.lease`) makes each fire run exactly once:
  every process's scheduler may fire, the first INSERT of ``(job, fire time)`` wins.
* The job store tolerates another process removing or updating a job first
  (:class:`SharedSQLAlchemyJobStore`); stock APScheduler 3 would lose its scheduler
  thread to a ``JobLookupError`` there.
* On start, stored jobs whose trigger is unchanged keep their stored next fire time (so a
  missed fire is not forgotten by re-adding the job); changed ones are rescheduled.

APScheduler does not tell a job its scheduled fire time, and the lease needs it, so a small
executor passes it as the ``fire_time`` keyword.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.executors.base import run_job
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.base import ConflictingIdError, JobLookupError
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import Engine

from jobs.db import ensure_tables, utcnow
from jobs.runner import JOBS, execute
from jobs.settings import ScheduleConfig
from riskcast.errors import StoreUnavailableError

logger = logging.getLogger(__name__)

JOB_ID_PREFIX = "riskcast."
JOBSTORE_TABLE = "apscheduler_jobs"


@dataclass(frozen=True)
class ScheduledJob:
    """One job on the schedule.

    Attributes:
        name: job name (lease and record key; ``JOBS`` key for the built-in jobs).
        trigger: when it fires.
        misfire_grace_seconds: how late a fire may still run (see module docstring).
        target: ``"module:function"`` body; None → the built-in job's body.
    """

    name: str
    trigger: BaseTrigger
    misfire_grace_seconds: int
    target: str | None = None

    @property
    def job_id(self) -> str:
        """The id in the job store."""
        return JOB_ID_PREFIX + self.name


def default_jobs(config: ScheduleConfig) -> list[ScheduledJob]:
    """The production schedule from ``[schedule]``: daily ingest, the weekly refit, and an
    hourly alerts evaluation that drains the delivery outbox."""
    return [
        ScheduledJob(
            "ingest",
            CronTrigger.from_crontab(config.ingest, timezone=config.timezone),
            config.ingest_misfire_grace_seconds,
        ),
        ScheduledJob(
            "weekly",
            CronTrigger.from_crontab(config.weekly, timezone=config.timezone),
            config.weekly_misfire_grace_seconds,
        ),
        ScheduledJob(
            "alerts",
            CronTrigger.from_crontab(config.alerts, timezone=config.timezone),
            config.alerts_misfire_grace_seconds,
        ),
    ]


def scheduled_run(
    name: str, target: str | None = None, *, fire_time: datetime | None = None
) -> str | None:
    """What the scheduler calls: the job, leased on its fire time, recorded.

    ``fire_time`` is passed by :class:`FireTimeExecutor`; it defaults to None only because
    APScheduler checks the signature when the job is added. Never raises into APScheduler
    for a job failure (the run record has it); a database that is down is logged and the
    scheduler retries at the next fire.
    """
    if fire_time is None:
        logger.error("job %s fired without its fire time (not FireTimeExecutor?); skipped", name)
        return None
    try:
        outcome = execute(name, trigger="schedule", fire_time=fire_time, target=target)
    except StoreUnavailableError as exc:
        logger.error("scheduled %s at %s not run: %s", name, fire_time, exc)
        return None
    return outcome.run_id if outcome else None


class SharedSQLAlchemyJobStore(SQLAlchemyJobStore):
    """A SQLAlchemy job store that tolerates other processes sharing it.

    APScheduler 3 assumes one scheduler per job store: when a job's trigger is exhausted
    every process tries to remove it, and the loser's ``JobLookupError`` kills its
    scheduler thread. Here a job another process already removed is simply gone.
    """

    def update_job(self, job: Any) -> None:
        try:
            super().update_job(job)
        except JobLookupError:
            logger.debug("job %s was removed by another process", job.id)

    def remove_job(self, job_id: str) -> None:
        try:
            super().remove_job(job_id)
        except JobLookupError:
            logger.debug("job %s was already removed by another process", job_id)


class _FireTimeJob:
    """A view of an APScheduler job whose kwargs carry ``fire_time``."""

    def __init__(self, job: Any, fire_time: datetime) -> None:
        self._job = job
        self.kwargs = {**job.kwargs, "fire_time": fire_time}

    def __getattr__(self, attribute: str) -> Any:
        return getattr(self._job, attribute)

    def __str__(self) -> str:
        return str(self._job)


def _run_with_fire_times(job: Any, alias: str, run_times: list, logger_name: str) -> list:
    events: list[JobExecutionEvent] = []
    for run_time in run_times:
        events.extend(run_job(_FireTimeJob(job, run_time), alias, [run_time], logger_name))
    return events


class FireTimeExecutor(ThreadPoolExecutor):
    """Thread pool executor that passes each run's scheduled time as ``fire_time``."""

    def _do_submit_job(self, job: Any, run_times: list) -> None:
        def callback(future: Any) -> None:
            exc = future.exception()
            if exc:
                self._run_job_error(job.id, exc, getattr(exc, "__traceback__", None))
            else:
                self._run_job_success(job.id, future.result())

        future = self._pool.submit(
            _run_with_fire_times, job, job._jobstore_alias, run_times, self._logger.name
        )
        future.add_done_callback(callback)


def _log_event(event: JobExecutionEvent) -> None:
    if event.code == EVENT_JOB_MISSED:
        logger.warning(
            "job %s missed its fire at %s (beyond misfire grace)",
            event.job_id,
            event.scheduled_run_time,
        )
    elif event.exception is not None:
        logger.error(
            "job %s raised at %s: %s", event.job_id, event.scheduled_run_time, event.exception
        )


def build_scheduler(engine: Engine, *, timezone: str = "UTC") -> BackgroundScheduler:
    """A configured, not yet started scheduler on ``engine``'s database."""
    jobstore = SharedSQLAlchemyJobStore(engine=engine, tablename=JOBSTORE_TABLE)
    # Create the table here, race-tolerant: APScheduler's own create fails outright when
    # another process creates it at the same moment on SQLite.
    ensure_tables(engine, jobstore.jobs_t.metadata)
    scheduler = BackgroundScheduler(
        jobstores={"default": jobstore},
        executors={"default": FireTimeExecutor(max_workers=4)},
        job_defaults={"coalesce": True, "max_instances": 1},
        timezone=timezone,
    )
    scheduler.add_listener(_log_event, EVENT_JOB_MISSED | EVENT_JOB_ERROR)
    return scheduler


def _same_trigger(a: BaseTrigger, b: BaseTrigger) -> bool:
    return type(a) is type(b) and a.__getstate__() == b.__getstate__()


def reconcile(scheduler: BackgroundScheduler, wanted: Sequence[ScheduledJob]) -> None:
    """Make the stored jobs match ``wanted`` without forgetting missed fires.

    New jobs are added; stored ones with the same trigger keep their next fire time (a
    fire missed while the service was down stays due and runs once, coalesced); jobs whose
    trigger changed are rescheduled from now; riskcast jobs no longer wanted are removed.
    """
    wanted_ids = {job.job_id for job in wanted}
    for stale in scheduler.get_jobs():
        if stale.id.startswith(JOB_ID_PREFIX) and stale.id not in wanted_ids:
            logger.info("removing job %s (no longer on the schedule)", stale.id)
            scheduler.remove_job(stale.id)
    for job in wanted:
        options = {
            "args": (job.name, job.target),
            "misfire_grace_time": job.misfire_grace_seconds,
            "coalesce": True,
            "max_instances": 1,
            "name": job.name,
        }
        existing = scheduler.get_job(job.job_id)
        if existing is None:
            try:
                scheduler.add_job(scheduled_run, trigger=job.trigger, id=job.job_id, **options)
                continue
            except ConflictingIdError:  # another process added it just now
                existing = scheduler.get_job(job.job_id)
        if existing is None:
            continue
        if _same_trigger(existing.trigger, job.trigger):
            scheduler.modify_job(job.job_id, **options)
        else:
            logger.info("job %s trigger changed to %s; rescheduling", job.job_id, job.trigger)
            scheduler.modify_job(job.job_id, **options)
            scheduler.reschedule_job(job.job_id, trigger=job.trigger)


def start_scheduler(
    engine: Engine,
    config: ScheduleConfig,
    jobs: Sequence[ScheduledJob] | None = None,
) -> BackgroundScheduler:
    """Build, reconcile and start the scheduler; returns it running.

    Args:
        engine: the service database (job store, lease and run records all live there).
        config: ``[schedule]`` (zone, crons, grace times).
        jobs: the schedule; default :func:`default_jobs` of ``config``.
    """
    scheduler = build_scheduler(engine, timezone=config.timezone)
    scheduler.start(paused=True)
    try:
        reconcile(scheduler, jobs if jobs is not None else default_jobs(config))
    except Exception:
        scheduler.shutdown(wait=False)
        raise
    scheduler.resume()
    logger.info(
        "scheduler started: %s",
        ", ".join(f"{j.id} next {j.next_run_time}" for j in scheduler.get_jobs()),
    )
    return scheduler


def scheduler_state(scheduler: BackgroundScheduler | None) -> str:
    """``running``, ``paused``, ``stopped`` or ``off`` (not started in this process)."""
    if scheduler is None:
        return "off"
    return {0: "stopped", 1: "running", 2: "paused"}.get(scheduler.state, str(scheduler.state))


def schedule_overview(
    scheduler: BackgroundScheduler | None, config: ScheduleConfig
) -> list[dict[str, Any]]:
    """Each scheduled job with its trigger and next fire time, for ``/jobs``.

    From the running scheduler when there is one, else computed from ``config``.
    """
    described = []
    if scheduler is not None and scheduler.running:
        for job in scheduler.get_jobs():
            described.append(
                {
                    "name": job.name,
                    "id": job.id,
                    "trigger": str(job.trigger),
                    "next_run_time": job.next_run_time.isoformat() if job.next_run_time else None,
                    "misfire_grace_seconds": job.misfire_grace_time,
                    "description": JOBS[job.name].description if job.name in JOBS else "",
                }
            )
        return described
    now = utcnow()
    for job in default_jobs(config):
        upcoming = job.trigger.get_next_fire_time(None, now)
        described.append(
            {
                "name": job.name,
                "id": job.job_id,
                "trigger": str(job.trigger),
                "next_run_time": upcoming.isoformat() if upcoming else None,
                "misfire_grace_seconds": job.misfire_grace_seconds,
                "description": JOBS[job.name].description,
            }
        )
    return described
