"""Every job run, recorded: start, end, outcome, error and the MLflow run it produced.

``/jobs`` reads this table, so on-call people see what ran, when, where and how it ended
without reading logs. A row is written "running" before the job body starts, so a crash
leaves visible evidence; the next process to claim the job marks it failed
(:func:`mark_failed`, see :mod:`jobs.lease`).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import Engine, insert, select
from sqlalchemy import update as sql_update
from sqlalchemy.exc import OperationalError

from data.migrate import ensure_schema
from data.tables import job_runs
from jobs.db import from_db_time, to_db_time, unavailable, utcnow
from jobs.lease import process_owner

Outcome = Literal["running", "succeeded", "failed"]
Trigger = Literal["cli", "schedule", "api"]


@dataclass
class JobOutcome:
    """How one job run ended.

    Attributes:
        run_id: id of the run record.
        job_name: ``weekly``, ``ingest`` …
        trigger: ``cli``, ``schedule`` or ``api``.
        outcome: ``succeeded`` or ``failed`` (``running`` only while in flight).
        started_at / finished_at: aware UTC.
        fire_time: scheduled fire time for scheduler runs, else None.
        error: one-line reason when failed.
        mlflow_run_id: the MLflow run the job logged, if any.
        details: job-specific summary (files ingested, origin, model, alerts, bulletin path).
    """

    run_id: str
    job_name: str
    trigger: str
    outcome: str
    started_at: datetime
    finished_at: datetime | None = None
    fire_time: datetime | None = None
    error: str | None = None
    mlflow_run_id: str | None = None
    owner: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when the run succeeded."""
        return self.outcome == "succeeded"

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict (ISO timestamps)."""
        out = asdict(self)
        for key in ("started_at", "finished_at", "fire_time"):
            out[key] = out[key].isoformat() if out[key] else None
        return out


def new_run_id() -> str:
    """A fresh run id (32 hex characters)."""
    return uuid.uuid4().hex


def start(
    engine: Engine,
    name: str,
    *,
    trigger: str,
    fire_time: datetime | None = None,
    run_id: str | None = None,
) -> JobOutcome:
    """Record that a run of ``name`` starts now; returns its (running) outcome."""
    ensure_schema(engine)
    outcome = JobOutcome(
        run_id=run_id or new_run_id(),
        job_name=name,
        trigger=trigger,
        outcome="running",
        started_at=utcnow(),
        fire_time=fire_time,
        owner=process_owner(),
    )
    try:
        with engine.begin() as connection:
            connection.execute(
                insert(job_runs).values(
                    run_id=outcome.run_id,
                    job_name=name,
                    trigger=trigger,
                    fire_time=to_db_time(fire_time) if fire_time else None,
                    owner=outcome.owner,
                    started_at=to_db_time(outcome.started_at),
                    outcome="running",
                )
            )
    except OperationalError as exc:
        raise unavailable(exc) from exc
    return outcome


def finish(engine: Engine, outcome: JobOutcome) -> JobOutcome:
    """Write the end of a run (outcome, error, MLflow run id, details)."""
    outcome.finished_at = outcome.finished_at or utcnow()
    with engine.begin() as connection:
        connection.execute(
            sql_update(job_runs)
            .where(job_runs.c.run_id == outcome.run_id)
            .values(
                finished_at=to_db_time(outcome.finished_at),
                outcome=outcome.outcome,
                error=outcome.error,
                mlflow_run_id=outcome.mlflow_run_id,
                details=json.dumps(outcome.details, default=str),
            )
        )
    return outcome


def mark_failed(engine: Engine, run_id: str, error: str) -> bool:
    """End a run left "running" by a process that died; True when it was still running."""
    ensure_schema(engine)
    with engine.begin() as connection:
        updated = connection.execute(
            sql_update(job_runs)
            .where(job_runs.c.run_id == run_id, job_runs.c.outcome == "running")
            .values(finished_at=to_db_time(utcnow()), outcome="failed", error=error)
        ).rowcount
    return updated == 1


def _from_row(row: Any) -> JobOutcome:
    return JobOutcome(
        run_id=row["run_id"],
        job_name=row["job_name"],
        trigger=row["trigger"],
        outcome=row["outcome"],
        started_at=from_db_time(row["started_at"]),  # type: ignore[arg-type]
        finished_at=from_db_time(row["finished_at"]),
        fire_time=from_db_time(row["fire_time"]),
        error=row["error"],
        mlflow_run_id=row["mlflow_run_id"],
        owner=row["owner"],
        details=json.loads(row["details"]) if row["details"] else {},
    )


def runs(engine: Engine, *, name: str | None = None, limit: int = 50) -> list[JobOutcome]:
    """Recorded runs, newest first."""
    ensure_schema(engine)
    query = select(job_runs).order_by(job_runs.c.started_at.desc()).limit(limit)
    if name:
        query = query.where(job_runs.c.job_name == name)
    with engine.connect() as connection:
        return [_from_row(row) for row in connection.execute(query).mappings()]


def get(engine: Engine, run_id: str) -> JobOutcome | None:
    """One run by id, or None."""
    ensure_schema(engine)
    with engine.connect() as connection:
        row = (
            connection.execute(select(job_runs).where(job_runs.c.run_id == run_id))
            .mappings()
            .one_or_none()
        )
    return _from_row(row) if row else None


def in_flight(engine: Engine, name: str, *, stale_after: timedelta) -> JobOutcome | None:
    """A run of ``name`` still marked running and younger than ``stale_after``, or None."""
    ensure_schema(engine)
    cutoff = to_db_time(utcnow() - stale_after)
    query = (
        select(job_runs)
        .where(
            job_runs.c.job_name == name,
            job_runs.c.outcome == "running",
            job_runs.c.started_at >= cutoff,
        )
        .order_by(job_runs.c.started_at.desc())
        .limit(1)
    )
    with engine.connect() as connection:
        row = connection.execute(query).mappings().one_or_none()
    return _from_row(row) if row else None
