"""The inbox: files dropped in ``<home>/inbox/`` are ingested once each, by content hash.

A file is claimed by INSERTing its SHA-256 into ``inbox_files`` before it is read, so two
processes never ingest the same bytes, and a file already seen (ingested or rejected) is
not read again. A rejected file stays rejected until its content changes; the reason is
kept in the table and in the job record, naming the file, row and field.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import (
    delete,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from data.ingest import file_sha256
from data.migrate import ensure_schema
from data.tables import inbox_files
from jobs.db import to_db_time, utcnow
from riskcast.config import get_settings
from riskcast.errors import StoreUnavailableError

logger = logging.getLogger(__name__)


IGNORED_SUFFIXES = (".part", ".tmp", ".crdownload")
"""Files still being written by whoever drops them; picked up once renamed."""


@dataclass
class InboxReport:
    """What one pass over the inbox did (file names relative to the inbox)."""

    ingested: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[dict[str, str]] = field(default_factory=list)
    already_seen: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """JSON-ready summary."""
        return dataclasses.asdict(self)


def inbox_dir() -> Path:
    """``<home>/inbox``, created if missing."""
    path = get_settings().resolved_home() / "inbox"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _report_json(report: Any) -> dict[str, Any]:
    if dataclasses.is_dataclass(report) and not isinstance(report, type):
        return dataclasses.asdict(report)
    if hasattr(report, "model_dump"):
        return report.model_dump()
    return {"report": str(report)}


def ingest_inbox(store: Any, folder: Path | None = None) -> InboxReport:
    """Ingest every new file of the inbox, each in its own transaction (via ``ingest_file``).

    One bad file does not block the others: it is recorded as rejected with the reason.
    """
    folder = folder or inbox_dir()
    engine = store.engine
    ensure_schema(engine)
    report = InboxReport()
    candidates = sorted(
        path
        for path in folder.iterdir()
        if path.is_file()
        and not path.name.startswith(".")
        and path.suffix.lower() not in IGNORED_SUFFIXES
    )
    if not candidates:
        return report
    from data.ingest import ingest_file

    for path in candidates:
        digest = file_sha256(path)
        try:
            with engine.begin() as connection:
                connection.execute(
                    insert(inbox_files).values(
                        sha256=digest,
                        filename=path.name,
                        seen_at=to_db_time(utcnow()),
                        outcome="ingesting",
                    )
                )
        except IntegrityError:
            report.already_seen.append(path.name)
            continue
        try:
            result = ingest_file(path, store=store)
        except StoreUnavailableError:
            # Not the file's fault: release the claim so the next pass retries it.
            with engine.begin() as connection:
                connection.execute(delete(inbox_files).where(inbox_files.c.sha256 == digest))
            raise
        except Exception as exc:
            from jobs.runner import error_text

            reason = error_text(exc)
            logger.error("inbox file %s rejected: %s", path.name, reason)
            report.rejected.append({"file": path.name, "error": reason})
            outcome, error = "rejected", reason
        else:
            report.ingested.append({**_report_json(result), "file": path.name})
            outcome, error = "ingested", None
        with engine.begin() as connection:
            connection.execute(
                update(inbox_files)
                .where(inbox_files.c.sha256 == digest)
                .values(outcome=outcome, error=error)
            )
    return report


def inbox_history(store: Any) -> list[dict[str, Any]]:
    """Every file the inbox has seen, newest first."""
    ensure_schema(store.engine)
    with store.engine.connect() as connection:
        rows = connection.execute(
            select(inbox_files).order_by(inbox_files.c.seen_at.desc())
        ).mappings()
        return [dict(row) for row in rows]


def ingest_job(
    store: Any, *, trigger: str, run_id: str | None = None, config: Any = None
) -> dict[str, Any]:
    """The daily ``ingest`` job: fails (recorded, named) when any new file was rejected."""
    report = ingest_inbox(store)
    details = report.to_json()
    if report.rejected:
        names = ", ".join(f"{item['file']} ({item['error']})" for item in report.rejected)
        details.update(failed=True, error=f"rejected inbox file(s): {names}")
    return details
