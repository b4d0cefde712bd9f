"""Exactly-once across processes: a lease row per fire time, a lock row per running job.

Every service process runs its own scheduler (uvicorn ``--workers 2``, or two hosts on one
PostgreSQL), so a fire time can reach several processes. Before running, each one INSERTs
``(job name, fire time)`` into ``job_leases``; the primary key lets exactly one INSERT
commit, on SQLite and PostgreSQL alike, without advisory locks or clocks agreeing. The
losers skip.

Whatever started it (schedule, ``riskcast run``, ``POST /jobs/{name}/run``), a run then
INSERTs the job's one row in ``job_locks`` (:func:`lock`): the same primary-key rule lets
one run of a job proceed at a time across every process on the database, and the others
get the holder back (the API answers 409). The holder refreshes ``heartbeat_at`` while it
runs and deletes the row when it ends. A holder that died (``kill -9``) is taken over by
the next :func:`lock` attempt — at once when its ``host:pid`` no longer exists on this
host, otherwise once its heartbeat is older than ``[schedule] lease_stale_seconds`` — and
its run is handed back so the caller can mark it failed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import (
    Engine,
    delete,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError, OperationalError

from data.migrate import ensure_schema
from data.tables import job_leases, job_locks
from jobs.db import from_db_time, to_db_time, unavailable, utcnow
from riskcast.processes import owner_alive
from riskcast.processes import process_owner as process_owner

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Holder:
    """The run holding a job's lock (or that held it and died)."""

    job_name: str
    run_id: str
    trigger: str
    fire_time: datetime | None
    owner: str
    acquired_at: datetime
    heartbeat_at: datetime

    def alive(self, stale_after: timedelta, now: datetime | None = None) -> bool:
        """True unless the holder's process is gone or its heartbeat is too old."""
        now = now or utcnow()
        return owner_alive(self.owner) and now - self.heartbeat_at <= stale_after


@dataclass(frozen=True)
class LockResult:
    """What :func:`lock` found.

    Attributes:
        acquired: True when the caller now holds the lock and must run the job.
        holder: the live holder when not acquired.
        taken_over: a dead holder whose lock the caller removed (mark its run failed).
    """

    acquired: bool
    holder: Holder | None = None
    taken_over: Holder | None = None


def _holder(row: dict) -> Holder:
    return Holder(
        job_name=row["job_name"],
        run_id=row["run_id"],
        trigger=row["trigger"],
        fire_time=from_db_time(row["fire_time"]),
        owner=row["owner"],
        acquired_at=from_db_time(row["acquired_at"]),  # type: ignore[arg-type]
        heartbeat_at=from_db_time(row["heartbeat_at"]),  # type: ignore[arg-type]
    )


def lock_holder(engine: Engine, name: str) -> Holder | None:
    """The run holding job ``name``'s lock (alive or not), or None."""
    ensure_schema(engine)
    with engine.connect() as connection:
        row = (
            connection.execute(select(job_locks).where(job_locks.c.job_name == name))
            .mappings()
            .one_or_none()
        )
    return _holder(dict(row)) if row else None


def lock(
    engine: Engine,
    name: str,
    run_id: str,
    *,
    trigger: str,
    stale_after: timedelta,
    fire_time: datetime | None = None,
) -> LockResult:
    """Take job ``name``'s one lock for run ``run_id``, taking over a dead holder's.

    Raises:
        StoreUnavailableError: the database is down or locked past its busy timeout.
    """
    ensure_schema(engine)
    now = utcnow()
    row = {
        "job_name": name,
        "run_id": run_id,
        "trigger": trigger,
        "fire_time": to_db_time(fire_time) if fire_time else None,
        "owner": process_owner(),
        "acquired_at": to_db_time(now),
        "heartbeat_at": to_db_time(now),
    }
    taken_over: Holder | None = None
    for _ in range(2):  # at most: find a dead holder, remove it, try once more
        try:
            with engine.begin() as connection:
                connection.execute(insert(job_locks).values(**row))
            return LockResult(True, taken_over=taken_over)
        except IntegrityError:
            pass
        except OperationalError as exc:
            raise unavailable(exc) from exc
        current = lock_holder(engine, name)
        if current is None:
            continue  # released between our INSERT and our look: try again
        if current.alive(stale_after) or taken_over is not None:
            return LockResult(False, holder=current, taken_over=taken_over)
        if _remove_if_unchanged(engine, current):
            logger.warning(
                "job %s: run %s of %s stopped (no heartbeat since %s); taking over",
                name,
                current.run_id,
                current.owner,
                current.heartbeat_at,
            )
            taken_over = current
    holder_now = lock_holder(engine, name)
    return LockResult(False, holder=holder_now, taken_over=taken_over)


def _remove_if_unchanged(engine: Engine, holder: Holder) -> bool:
    """Delete a dead holder's lock unless it moved on; only one process can succeed."""
    with engine.begin() as connection:
        removed = connection.execute(
            delete(job_locks).where(
                job_locks.c.job_name == holder.job_name,
                job_locks.c.run_id == holder.run_id,
                job_locks.c.heartbeat_at == to_db_time(holder.heartbeat_at),
            )
        ).rowcount
    return removed == 1


def reap(engine: Engine, stale_after: timedelta) -> list[Holder]:
    """Remove the locks of every job whose holder died; returns them (mark their runs failed).

    Every run calls this first, so a dead weekly run is found by the next run of *any* job
    (the hourly alerts evaluation at the latest), not by the next weekly fire.
    """
    ensure_schema(engine)
    with engine.connect() as connection:
        rows = connection.execute(select(job_locks)).mappings().all()
    now = utcnow()
    dead = [
        holder for holder in map(_holder, map(dict, rows)) if not holder.alive(stale_after, now)
    ]
    reaped = [holder for holder in dead if _remove_if_unchanged(engine, holder)]
    for holder in reaped:
        logger.warning(
            "job %s: run %s of %s stopped (no heartbeat since %s); lock released",
            holder.job_name,
            holder.run_id,
            holder.owner,
            holder.heartbeat_at,
        )
    return reaped


def heartbeat(engine: Engine, name: str, run_id: str) -> bool:
    """Refresh the lock of a running job; False when it is no longer this run's."""
    with engine.begin() as connection:
        updated = connection.execute(
            update(job_locks)
            .where(job_locks.c.job_name == name, job_locks.c.run_id == run_id)
            .values(heartbeat_at=to_db_time(utcnow()))
        ).rowcount
    return updated == 1


def unlock(engine: Engine, name: str, run_id: str) -> None:
    """Release the lock of a finished run (a lock already taken over is left alone)."""
    with engine.begin() as connection:
        connection.execute(
            delete(job_locks).where(job_locks.c.job_name == name, job_locks.c.run_id == run_id)
        )


def acquire(engine: Engine, name: str, fire_time: datetime, owner: str | None = None) -> bool:
    """Claim the run of job ``name`` scheduled at ``fire_time``.

    Args:
        engine: the service database (the same one every process uses).
        name: job name.
        fire_time: the scheduled fire time (aware or naive UTC); every process derives the
            same value from the trigger, so it identifies the fire.
        owner: recorded holder; default ``host:pid``.

    Returns:
        True when this caller won and must run the job; False when another already has.

    Raises:
        StoreUnavailableError: the database is down or locked past its busy timeout.
    """
    ensure_schema(engine)
    row = {
        "job_name": name,
        "fire_time": to_db_time(fire_time),
        "owner": owner or process_owner(),
        "acquired_at": to_db_time(utcnow()),
    }
    try:
        with engine.begin() as connection:
            connection.execute(insert(job_leases).values(**row))
    except IntegrityError:
        logger.info("job %s at %s already claimed by another process; skipping", name, fire_time)
        return False
    except OperationalError as exc:
        raise unavailable(exc) from exc
    return True


def holder(engine: Engine, name: str, fire_time: datetime) -> str | None:
    """Who holds the lease of ``name`` at ``fire_time``, or None."""
    ensure_schema(engine)
    with engine.connect() as connection:
        return connection.execute(
            select(job_leases.c.owner).where(
                job_leases.c.job_name == name, job_leases.c.fire_time == to_db_time(fire_time)
            )
        ).scalar_one_or_none()


def prune(engine: Engine, older_than_days: int) -> int:
    """Delete leases older than ``older_than_days``; returns how many went."""
    ensure_schema(engine)
    cutoff = to_db_time(utcnow() - timedelta(days=older_than_days))
    with engine.begin() as connection:
        result = connection.execute(delete(job_leases).where(job_leases.c.fire_time < cutoff))
    return int(result.rowcount or 0)


def leases(engine: Engine, name: str | None = None) -> list[dict]:
    """All leases (newest first), for /jobs and tests."""
    ensure_schema(engine)
    query = select(job_leases).order_by(job_leases.c.fire_time.desc())
    if name:
        query = query.where(job_leases.c.job_name == name)
    with engine.connect() as connection:
        rows = connection.execute(query).mappings().all()
    return [
        {
            **row,
            "fire_time": from_db_time(row["fire_time"]),
            "acquired_at": from_db_time(row["acquired_at"]),
        }
        for row in rows
    ]
