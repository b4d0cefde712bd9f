"""Engines for the store's database: SQLite with WAL and real transactions, or PostgreSQL.

Separate from :mod:`data.store` because the engine's mechanics (URL checks, pragmas, the
``BEGIN IMMEDIATE`` recipe, timeouts) are one job and what is stored is another.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine, make_url

from riskcast.errors import StoreUnavailableError

log = logging.getLogger(__name__)


def create_store_engine(url: str, *, busy_timeout_s: float, connect_timeout_s: int) -> Engine:
    """An engine for ``url`` (``sqlite:///`` or ``postgresql+psycopg://``); connects lazily.

    Raises:
        StoreUnavailableError: not a database URL, an unsupported backend, or a SQLite
            folder that cannot be created.
    """
    try:
        parsed = make_url(url)
    except sa.exc.ArgumentError as exc:
        raise StoreUnavailableError(f"'{url}' is not a database URL: {exc}") from exc
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            folder = Path(parsed.database).expanduser().parent
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreUnavailableError(
                    f"the database at {describe_url(url)} cannot be reached: cannot create "
                    f"folder {folder} ({exc.strerror})"
                ) from exc
        engine = sa.create_engine(url, connect_args={"timeout": busy_timeout_s})
        _sqlite_pragmas(engine, busy_timeout_s)
        return engine
    if parsed.get_backend_name() == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        return sa.create_engine(
            parsed, connect_args={"connect_timeout": connect_timeout_s}, pool_pre_ping=True
        )
    raise StoreUnavailableError(
        f"database URL {describe_url(url)}: only sqlite:/// and postgresql+psycopg:// are supported"
    )


def describe_url(url: str) -> str:
    """The URL without its password, for messages."""
    return make_url(url).render_as_string(hide_password=True)


def _sqlite_pragmas(engine: Engine, busy_timeout_s: float) -> None:
    """WAL, busy timeout and real transactions for pysqlite.

    pysqlite's own transaction handling starts transactions late and cannot take the write
    lock up front; the SQLAlchemy recipe hands BEGIN to us so a writer can say
    ``BEGIN IMMEDIATE`` (execution option ``sqlite_immediate``) and fail fast and clearly on
    a locked database rather than half-way through.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_s * 1000)}")
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
        except Exception:  # a locked file keeps its mode; the lock is reported on write
            log.debug("could not switch SQLite to WAL (database busy)", exc_info=True)
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        immediate = connection.get_execution_options().get("sqlite_immediate", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
