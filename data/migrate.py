"""The database schema's version: bring it to the current one, or refuse to run on an old one.

Migrations (Alembic, ``data/migrations``) change the schema of a database that already
holds data; they run only when someone says so (``riskcast db upgrade``), because a
deployed database deserves a backup first. What every process does on its first touch of a
database (:func:`ensure_schema`):

* the schema is current → carry on (checked once per engine and process, not per query);
* the database holds no riskcast table (a new file or server) → create the current schema
  at once, so ``make run`` and a first ingest need no extra step;
* anything else (an older revision, or tables from a release before migrations) → refuse
  with :class:`SchemaOutOfDateError`, which names the command to run.

Several processes may start on a new database together: on PostgreSQL the upgrade holds an
advisory lock, on SQLite a ``BEGIN IMMEDIATE`` write lock, and Alembic reads the version
inside that lock, so the second process finds the work done.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError

from data.db import unavailable
from data.tables import metadata
from riskcast.errors import RiskcastError

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
UPGRADE_COMMAND = "riskcast db upgrade"
_MIGRATION_LOCK_KEY = 0x72636D67  # "rcmg": the advisory lock id an upgrade holds

# Alembic logs "Context impl SQLiteImpl" (and its plugins) at INFO on every check; the
# commands say what changed.
logging.getLogger("alembic").setLevel(logging.WARNING)

_current: weakref.WeakSet[Engine] = weakref.WeakSet()
_lock = threading.Lock()


class SchemaOutOfDateError(RiskcastError):
    """The database's schema is not the one this riskcast was written for."""


@dataclass(frozen=True)
class SchemaState:
    """Where a database's schema stands.

    Attributes:
        revision: the Alembic revision stored in the database (None: never migrated).
        head: the revision this riskcast needs.
        tables: riskcast tables the database holds.
    """

    revision: str | None
    head: str
    tables: frozenset[str]

    @property
    def current(self) -> bool:
        """The database is at the revision this code needs."""
        return self.revision == self.head

    @property
    def empty(self) -> bool:
        """Nothing of riskcast's is there yet (a new database)."""
        return self.revision is None and not self.tables


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic's configuration, built in code (no ``alembic.ini``); runs on ``connection``."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest migration: the schema this code reads and writes."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "data/migrations/versions holds no migration"
    return head


def schema_state(engine: Engine) -> SchemaState:
    """Read the stored revision and which riskcast tables exist."""
    try:
        with engine.connect() as connection:
            revision = MigrationContext.configure(connection).get_current_revision()
            present = set(sa.inspect(connection).get_table_names())
    except DBAPIError as exc:
        raise unavailable(exc) from exc
    return SchemaState(revision, head_revision(), frozenset(present & set(metadata.tables)))


def upgrade(engine: Engine) -> SchemaState:
    """Migrate the database to the head revision; a no-op when it is there already.

    A database from before migrations (riskcast tables, no revision) is taken through the
    baseline, which creates only what it lacks, then through every later revision.

    Returns:
        the state after the upgrade.
    """
    try:
        with _locked_connection(engine) as connection:
            command.upgrade(alembic_config(connection), "head")
    except DBAPIError as exc:
        raise unavailable(exc) from exc
    return schema_state(engine)


def ensure_schema(engine: Engine, *, attempts: int = 8) -> None:
    """Create the schema of a new database, accept a current one, refuse an old one.

    Raises:
        SchemaOutOfDateError: the database needs ``riskcast db upgrade`` (or a newer riskcast).
        StoreUnavailableError: the database cannot be reached or stays locked.
    """
    if engine in _current:
        return
    with _lock:
        if engine in _current:
            return
        for attempt in range(attempts):
            state = schema_state(engine)
            if state.current:
                break
            if not state.empty:
                raise SchemaOutOfDateError(_out_of_date(state))
            try:
                upgrade(engine)
                break
            except RiskcastError:
                # Another process creating the same new database (SQLite may refuse the
                # write lock at once): look again, the work may be done.
                if attempt == attempts - 1:
                    raise
                time.sleep(min(1.0, 0.05 * 2**attempt))
        _current.add(engine)


def _out_of_date(state: SchemaState) -> str:
    if state.revision is None:
        found = "tables from a riskcast release before migrations"
    elif state.revision not in _known_revisions():
        return (
            f"the database schema is at revision {state.revision}, which this riskcast does "
            f"not know (it needs {state.head}): it was upgraded by a newer riskcast; run "
            "that release"
        )
    else:
        found = f"schema revision {state.revision}"
    return (
        f"the database holds {found}; this riskcast needs revision {state.head}. "
        f"Back it up, then run `{UPGRADE_COMMAND}`"
    )


def _known_revisions() -> set[str]:
    script = ScriptDirectory.from_config(alembic_config())
    return {revision.revision for revision in script.walk_revisions()}


@contextlib.contextmanager
def _locked_connection(engine: Engine) -> Iterator[Connection]:
    """A connection in a transaction that holds the migration lock until it commits."""
    options = {"sqlite_immediate": True} if engine.dialect.name == "sqlite" else {}
    with engine.connect().execution_options(**options) as connection, connection.begin():
        if engine.dialect.name == "postgresql":
            connection.execute(sa.select(sa.func.pg_advisory_xact_lock(_MIGRATION_LOCK_KEY)))
        yield connection
