"""Exactly-once across processes: a lease row per (job, scheduled fire time).

Every service process runs its own scheduler (uvicorn ``--workers 2``, or two hosts on one
PostgreSQL), so a fire time can reach several processes. Before running, each one INSERTs
``(job name, fire time)`` into ``job_leases``; the primary key lets exactly one INSERT
commit, on SQLite and PostgreSQL alike, without advisory locks or clocks agreeing. The
losers skip. A process that wins and then dies leaves its lease: that fire is not retried
(at most once), and its run record shows it stale — the next fire runs normally.
"""

from __future__ import annotations

import logging
import os
import socket
from datetime import datetime, timedelta

from sqlalchemy import Column, DateTime, Engine, MetaData, String, Table, delete, insert, select
from sqlalchemy.exc import IntegrityError, OperationalError

from jobs.db import ensure_tables, from_db_time, to_db_time, unavailable, utcnow

logger = logging.getLogger(__name__)

metadata = MetaData()

job_leases = Table(
    "job_leases",
    metadata,
    Column("job_name", String(100), primary_key=True),
    Column("fire_time", DateTime(), primary_key=True),
    Column("owner", String(200), nullable=False),
    Column("acquired_at", DateTime(), nullable=False),
)


def process_owner() -> str:
    """``host:pid`` — who holds a lease, for people reading the table."""
    return f"{socket.gethostname()}:{os.getpid()}"


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
    ensure_tables(engine, metadata)
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
    ensure_tables(engine, metadata)
    with engine.connect() as connection:
        return connection.execute(
            select(job_leases.c.owner).where(
                job_leases.c.job_name == name, job_leases.c.fire_time == to_db_time(fire_time)
            )
        ).scalar_one_or_none()


def prune(engine: Engine, older_than_days: int) -> int:
    """Delete leases older than ``older_than_days``; returns how many went."""
    ensure_tables(engine, metadata)
    cutoff = to_db_time(utcnow() - timedelta(days=older_than_days))
    with engine.begin() as connection:
        result = connection.execute(delete(job_leases).where(job_leases.c.fire_time < cutoff))
    return int(result.rowcount or 0)


def leases(engine: Engine, name: str | None = None) -> list[dict]:
    """All leases (newest first), for /jobs and tests."""
    ensure_tables(engine, metadata)
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
