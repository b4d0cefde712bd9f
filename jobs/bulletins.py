"""The weekly bulletin, rendered once per refit and kept in the database.

Rendering reads the panel, every published series, the alert store and MLflow (the
backtest's precision table): seconds of work. The weekly job does it once, right after it
publishes, and stores the page (``bulletins``); ``GET /bulletin`` and every reader after it
serve the stored page, so what they show is exactly what the job published, at the cost of
one primary-key read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, delete, func, insert, select

from data.migrate import ensure_schema
from data.tables import bulletins
from jobs.bulletin_context import render_bulletin_html
from jobs.config import RiskcastConfig
from reports.bulletin import write_html

KEEP = 104
"""Bulletins kept (two years of weekly runs, ~0.2-0.5 MB each); older ones are deleted when a
new one is stored, so the table does not grow without bound."""


@dataclass(frozen=True)
class StoredBulletin:
    """One rendered bulletin.

    Attributes:
        html: the page.
        rendered_at: when the job rendered it (aware UTC).
        refit_id: the headline series' refit it reports (None if that series was skipped).
        job_run_id: the job run that rendered it (None for ``riskcast report``).
    """

    html: str
    rendered_at: datetime
    refit_id: str | None
    job_run_id: str | None


def publish_bulletin(
    store: Any,
    config: RiskcastConfig,
    *,
    path: Path,
    refit_id: str | None = None,
    job_run_id: str | None = None,
) -> Path:
    """Render the bulletin of the latest refits once; store it and write it to ``path``.

    Raises:
        NoRefitYetError: nothing has been published yet.
    """
    html = render_bulletin_html(store, config)
    ensure_schema(store.engine)
    with store.engine.begin() as connection:
        connection.execute(
            insert(bulletins).values(
                html=html,
                rendered_at=datetime.now(UTC),
                refit_id=refit_id,
                job_run_id=job_run_id,
            )
        )
        newest = connection.execute(select(func.max(bulletins.c.id))).scalar_one()
        connection.execute(delete(bulletins).where(bulletins.c.id <= newest - KEEP))
    return write_html(html, path)


def latest_bulletin(engine: Engine) -> StoredBulletin | None:
    """The newest stored bulletin, or None before the first weekly run."""
    ensure_schema(engine)
    query = select(bulletins).order_by(bulletins.c.id.desc()).limit(1)
    with engine.connect() as connection:
        row = connection.execute(query).mappings().one_or_none()
    if row is None:
        return None
    rendered_at = row["rendered_at"]
    if rendered_at.tzinfo is None:  # SQLite hands back naive UTC
        rendered_at = rendered_at.replace(tzinfo=UTC)
    return StoredBulletin(row["html"], rendered_at, row["refit_id"], row["job_run_id"])
