"""The ``[service]`` and ``[schedule]`` config sections.

Both are :class:`riskcast.config.StrictSection` models, so a misspelled key is an error with
a "did you mean" rather than a silently ignored setting.
"""

from __future__ import annotations

from pydantic import Field, field_validator

from riskcast.config import StrictSection


class ServiceConfig(StrictSection):
    """``[service]``: the HTTP API.

    Attributes:
        max_body_bytes: largest request body accepted; larger answers 413 before anything is
            parsed. 5 MB holds ~100k panel rows of CSV, far above a weekly upload.
        run_scheduler: ``riskcast serve`` also runs the scheduler (every worker may; the
            database lease makes each fire run once).
        job_wait_seconds: how long ``POST /jobs/{name}/run?wait=true`` waits before answering
            202 with the run still going.
        db_busy_timeout_seconds: how long an API write waits for a SQLite lock held by
            another writer before answering 503 (jobs keep the store's longer default).
        db_connect_timeout_seconds: how long the API waits for a PostgreSQL server.
    """

    max_body_bytes: int = Field(default=5_000_000, ge=1_000)
    run_scheduler: bool = True
    job_wait_seconds: float = Field(default=600.0, ge=0)
    db_busy_timeout_seconds: float = Field(default=5.0, gt=0)
    db_connect_timeout_seconds: int = Field(default=5, ge=1)


class ScheduleConfig(StrictSection):
    """``[schedule]``: when jobs fire and how runs are leased.

    What the weekly refit computes is ``[forecast]`` (model, horizon, draws, seed), for the
    series of ``[scope]``; its headline series is ``[escalation] series``.

    Cron expressions are standard five-field crontab strings read in ``timezone``.

    Attributes:
        enabled: run the scheduler at all (``riskcast run`` works either way).
        timezone: zone of the cron expressions (UTC: forecasts are monthly, offices are not).
        ingest: cron of the daily inbox ingest.
        weekly: cron of the weekly refit + forecast + risk + alerts + bulletin.
        alerts: cron of the alerts evaluation on the latest refit: it delivers whatever the
            outbox still owes a receiver that was down (hourly by default).
        ingest_misfire_grace_seconds: a daily ingest missed by less than this (service down)
            still runs once on start; 23 h so a missed run never overlaps the next one.
        weekly_misfire_grace_seconds: same for the weekly refit; 6 days, so a refit missed
            over a long weekend outage still runs once when the service comes back, but a
            stale one never runs just before the next regular Monday.
        alerts_misfire_grace_seconds: same for the alerts evaluation.
        stale_run_hours: a run still marked "running" after this long is reported stale
            (its process died) and no longer blocks manual triggers.
        lease_retention_days: lease rows older than this are pruned.
        lease_heartbeat_seconds: how often a running job refreshes its lock.
        lease_stale_seconds: a lock not refreshed for this long belongs to a dead run: the
            next claim takes it over and marks that run failed (at once when the holder's
            process is gone from this host).
    """

    enabled: bool = True
    timezone: str = "UTC"
    ingest: str = "0 5 * * *"
    weekly: str = "0 6 * * mon"
    alerts: str = "30 * * * *"
    ingest_misfire_grace_seconds: int = Field(default=23 * 3600, ge=1)
    weekly_misfire_grace_seconds: int = Field(default=6 * 24 * 3600, ge=1)
    alerts_misfire_grace_seconds: int = Field(default=3000, ge=1)
    stale_run_hours: float = Field(default=6.0, gt=0)
    lease_retention_days: int = Field(default=90, ge=1)
    lease_heartbeat_seconds: float = Field(default=15.0, gt=0)
    lease_stale_seconds: float = Field(default=90.0, gt=0)

    @field_validator("ingest", "weekly", "alerts")
    @classmethod
    def _valid_cron(cls, value: str) -> str:
        from apscheduler.triggers.cron import CronTrigger

        try:
            CronTrigger.from_crontab(value, timezone="UTC")
        except ValueError as exc:
            raise ValueError(f"'{value}' is not a five-field crontab expression: {exc}") from exc
        return value


NO_SCHEDULER_ENV = "RISKCAST_NO_SCHEDULER"
"""Set to 1 (``riskcast serve --no-scheduler``) to serve without running scheduled jobs: the
flag reaches every uvicorn worker process through the environment."""
