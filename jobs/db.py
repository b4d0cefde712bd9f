"""UTC timestamps for the job tables, and the shared table-creation helper.

Timestamps are stored as naive UTC (portable across SQLite and PostgreSQL) and handed out
as timezone-aware UTC datetimes.
"""

from __future__ import annotations

from datetime import UTC, datetime

from data.db import ensure_tables, unavailable

__all__ = ["ensure_tables", "from_db_time", "to_db_time", "unavailable", "utcnow"]


def utcnow() -> datetime:
    """Now, timezone-aware UTC."""
    return datetime.now(UTC)


def to_db_time(moment: datetime) -> datetime:
    """Aware (or naive-UTC) datetime → naive UTC for storage."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def from_db_time(moment: datetime | None) -> datetime | None:
    """Naive UTC from the database → aware UTC."""
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
