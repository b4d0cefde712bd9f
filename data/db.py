"""Creating tables when several processes start at once (store, jobs and alerts share it).

Two service processes starting together may both issue ``CREATE TABLE``; on SQLite the
loser gets "database is locked" at once, on PostgreSQL a unique violation on the catalog.
"""

from __future__ import annotations

import threading
import time
import weakref

from sqlalchemy import Engine, MetaData, inspect
from sqlalchemy.exc import DBAPIError, OperationalError

from riskcast.errors import StoreUnavailableError

# Per engine (weakly: an engine id can be reused once it is garbage), the tables made.
_created: weakref.WeakKeyDictionary[Engine, set[str]] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def ensure_tables(engine: Engine, metadata: MetaData, *, attempts: int = 8) -> None:
    """Create ``metadata``'s tables once per engine, tolerating other processes racing us.

    Two service processes starting together may both issue ``CREATE TABLE``. On SQLite the
    loser gets "database is locked" at once (a deferred transaction cannot upgrade to a
    write lock while another writer commits, so the busy timeout does not help) or "already
    exists"; on PostgreSQL a unique violation on the catalog. So: re-check, back off, retry.

    Raises:
        StoreUnavailableError: the tables still cannot be created after ``attempts`` tries.
    """
    key = ",".join(sorted(metadata.tables))
    with _lock:
        if key in _created.get(engine, set()):
            return
        for attempt in range(attempts):
            try:
                metadata.create_all(engine, checkfirst=True)
                break
            except DBAPIError as exc:
                try:
                    present = set(inspect(engine).get_table_names())
                except DBAPIError:
                    present = set()
                if {table.name for table in metadata.tables.values()} <= present:
                    break
                if attempt == attempts - 1:
                    raise unavailable(exc) from exc
                time.sleep(min(1.0, 0.05 * 2**attempt))
        _created.setdefault(engine, set()).add(key)


def unavailable(exc: Exception) -> StoreUnavailableError:
    """Turn a driver error into the user-facing "database unavailable" error."""
    reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0] if str(exc) else repr(exc)
    if isinstance(exc, OperationalError) and "locked" in reason.lower():
        return StoreUnavailableError(f"database is locked by another writer: {reason}")
    return StoreUnavailableError(f"database unavailable: {reason}")
