"""The panel store: observations, their revisions, the ingest log and user-added regions.

SQLAlchemy 2.x Core on SQLite (default, a file under the home folder, WAL + busy timeout)
or PostgreSQL (``postgresql+psycopg://`` URL). Every table of the database is declared in
:mod:`data.tables` and created or migrated by :mod:`data.migrate`.

Ingest semantics, chosen so a scheduler can re-run ingests blindly:

* one transaction: everything of an ingest is written, or nothing (a failure half-way
  rolls back the observations, revisions, regions and the ingest record);
* idempotent: a row whose value and source are already stored is *unchanged*; ingesting the
  same file twice leaves the observations as they were. Every ingest is still recorded in
  the ingest log (the second with 0 added / 0 changed), so the log answers "when did we
  last look at this file" as well as "when did it change anything";
* revisions kept: when a source revises a number, the previous value goes to
  ``observation_revisions`` (old/new value and source, both ingest ids, when);
* regions: a region id not in the registry becomes a ``custom`` region (name = id), added in
  the same transaction and reported.

At scale (10,000 series × 300 months = 3 million rows; ``bench/store.py``): new rows and
revisions are written with :func:`data.db.bulk_insert` (binary ``COPY`` on PostgreSQL), a
revision applies all its new values with one ``UPDATE … FROM`` a temporary table, and reads
go through :func:`data.db.read_frame` (``COPY … TO`` on PostgreSQL, streamed elsewhere).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from data.config import DataConfig
from data.db import bulk_insert, read_frame
from data.engine import create_store_engine, describe_url
from data.migrate import ensure_schema
from data.registry import Region, Registry
from data.tables import ingests, observation_revisions, observations, regions
from riskcast.config import get_settings
from riskcast.errors import StoreUnavailableError
from riskcast.months import format_month

log = logging.getLogger(__name__)

SYNTHETIC_SOURCE = "synthetic-demo"
_WRITER_LOCK_KEY = 0x7269736B  # "risk": the advisory lock id that serialises writers
_CHUNK = 500  # ids per IN (...) clause: well under SQLite's bound-parameter limit
_KEY = ("region", "month", "series")
_ANALYZE_AFTER_ROWS = 10_000  # rows written by one ingest before PostgreSQL re-plans (ANALYZE)


def _staged_revisions() -> sa.Table:
    """The temporary table holding an ingest's revised values until ``UPDATE … FROM``.

    Its own MetaData, so it is never created with the store's tables. Created and dropped
    inside the ingest's transaction: a rollback removes it too.
    """
    return sa.Table(
        "riskcast_staged_revisions",
        sa.MetaData(),
        sa.Column("region", sa.String(64), primary_key=True),
        sa.Column("month", sa.String(7), primary_key=True),
        sa.Column("series", sa.String(64), primary_key=True),
        sa.Column("value", sa.Double, nullable=False),
        sa.Column("source", sa.String(200), nullable=False),
        prefixes=["TEMPORARY"],
    )


@dataclass(frozen=True)
class IngestReport:
    """What one ingest did.

    Attributes:
        ingest_id: id of the ingest record.
        file: the file (or label) ingested.
        kind: source kind (``panel_csv``, ``ucdp_ged`` …).
        sha256: hash of the file's bytes.
        rows_added: observations that were not stored before.
        rows_changed: observations whose value or source changed (previous kept as revision).
        rows_unchanged: observations already stored with the same value and source.
        rows_outranked: observations left as stored because a more trusted source kind
            wrote them (``[data] source_priority``).
        new_regions: ids added to the registry as custom regions.
        rows_dropped_after_until: rows left out because their month was after ``--until``.
    """

    ingest_id: int
    file: str
    kind: str
    sha256: str
    rows_added: int
    rows_changed: int
    rows_unchanged: int
    rows_outranked: int = 0
    new_regions: tuple[str, ...] = ()
    rows_dropped_after_until: int = 0
    series: tuple[str, ...] = field(default=())

    @property
    def changed_anything(self) -> bool:
        """True when the store's observations or regions differ after this ingest."""
        return bool(self.rows_added or self.rows_changed or self.new_regions)


def _now() -> datetime:
    return datetime.now(UTC)


def _frame(rows: Sequence[Any], columns: list[str]) -> pd.DataFrame:
    """Rows as a frame; plain tuples first (pandas probing SQLAlchemy Rows is slow)."""
    return pd.DataFrame([tuple(row) for row in rows], columns=columns)


def _month_texts(months: pd.Series) -> np.ndarray:
    """``YYYY-MM`` of every month, formatting each distinct month once (a panel has few)."""
    codes, uniques = pd.factorize(months)
    if (codes < 0).any():
        raise ValueError("a panel month is missing (validate_panel rejects that)")
    return np.array([format_month(month) for month in uniques], dtype=object)[codes]


def _month_periods(texts: pd.Series) -> pd.PeriodIndex:
    """Monthly Periods of ``YYYY-MM`` strings, parsing each distinct month once."""
    codes, uniques = pd.factorize(texts)
    return pd.PeriodIndex([str(u) for u in uniques], freq="M").take(codes)


class Store:
    """The database behind riskcast: open with :func:`open_store`.

    Attributes:
        engine: the SQLAlchemy engine (the jobs and alerts tables live on it too).
        url: the database URL with any password hidden.
        config: the ``[data]`` section this store ingests with (source ranks, limits).
    """

    def __init__(self, engine: Engine, url: str, config: DataConfig | None = None) -> None:
        self.engine = engine
        self.url = describe_url(url)
        self.config = config or DataConfig()
        self.is_sqlite = engine.dialect.name == "sqlite"

    # -- errors ---------------------------------------------------------------------------

    @contextlib.contextmanager
    def _unavailable_as_error(self, action: str) -> Iterator[None]:
        """Turn 'cannot connect' and 'database is locked' into StoreUnavailableError."""
        try:
            yield
        except sa.exc.OperationalError as exc:
            text = str(exc.orig or exc).strip().splitlines()[0]
            if "locked" in text or "busy" in text:
                reason = (
                    "the database is locked by another writer (another ingest or job is "
                    "running); retry when it has finished"
                )
            else:
                reason = f"the database cannot be reached ({text})"
            raise StoreUnavailableError(
                f"could not {action} at {self.url}: {reason}. Nothing was written."
            ) from exc
        except sa.exc.InterfaceError as exc:
            raise StoreUnavailableError(
                f"could not {action} at {self.url}: {exc.orig or exc}. Nothing was written."
            ) from exc

    def _write_connection(self) -> contextlib.AbstractContextManager[Connection]:
        """A connection whose transaction takes SQLite's write lock at BEGIN."""
        options = {"sqlite_immediate": True} if self.is_sqlite else {}
        return self.engine.connect().execution_options(**options)

    def _serialise_writers(self, conn: Connection) -> None:
        """One writer at a time (ingests are rare, correctness matters more than overlap).

        SQLite gets this from ``BEGIN IMMEDIATE``; on PostgreSQL a transaction-scoped advisory
        lock makes a second ingest wait and then see the first one's rows, instead of both
        inserting the same keys and one failing on the unique constraint.
        """
        if self.engine.dialect.name == "postgresql":
            conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_WRITER_LOCK_KEY)))

    def create_tables(self) -> None:
        """Create a new database's schema, or check an existing one is current.

        Raises:
            SchemaOutOfDateError: the database needs ``riskcast db upgrade`` first.
        """
        with self._unavailable_as_error("open the database"), self.engine.connect():
            pass  # a server that is down or a locked file: said here, naming the database
        ensure_schema(self.engine)

    def close(self) -> None:
        """Release pooled connections (a SQLite file can then be moved or deleted)."""
        self.engine.dispose()

    # -- ingest ---------------------------------------------------------------------------

    def ingest(self, panel: pd.DataFrame, *, file: str, file_hash: str, kind: str) -> IngestReport:
        """Store a validated panel in one transaction; idempotent; keeps revisions.

        Args:
            panel: output of :func:`data.schema.validate_panel` (one row per key).
            file: file name or label recorded in the ingest log.
            file_hash: sha256 of the file's bytes.
            kind: the source kind that parsed it.

        Raises:
            StoreUnavailableError: the database is locked or unreachable (nothing written).
        """
        incoming = pd.DataFrame(
            {
                "region": panel["region"].astype(str).to_numpy(),
                "month": _month_texts(panel["month"]),
                "series": panel["series"].astype(str).to_numpy(),
                "value": panel["value"].astype("float64").to_numpy(),
                "source": panel["source"].astype(str).to_numpy(),
            }
        )
        with self._unavailable_as_error("ingest"), self._write_connection() as conn:
            with conn.begin():
                report = self._ingest_in(conn, incoming, file=file, file_hash=file_hash, kind=kind)
        log.info(
            "ingested %s (%s): %d added, %d changed, %d unchanged, new regions: %s",
            file,
            kind,
            report.rows_added,
            report.rows_changed,
            report.rows_unchanged,
            ", ".join(report.new_regions) or "none",
        )
        return report

    def _ingest_in(
        self, conn: Connection, incoming: pd.DataFrame, *, file: str, file_hash: str, kind: str
    ) -> IngestReport:
        self._serialise_writers(conn)
        at = _now()
        ingest_id = conn.execute(
            sa.insert(ingests)
            .values(file=file, sha256=file_hash, kind=kind, at=at)
            .returning(ingests.c.id)
        ).scalar_one()
        new_regions = self._add_unknown_regions(conn, incoming["region"].unique(), ingest_id, at)
        existing = self._existing(conn, incoming)
        merged = incoming.merge(
            existing, on=["region", "month", "series"], how="left", suffixes=("", "_old")
        )
        is_new = merged["value_old"].isna().to_numpy()
        same_value = np.isclose(
            merged["value"].to_numpy(), merged["value_old"].to_numpy(), rtol=1e-12, atol=1e-9
        )
        same = ~is_new & same_value & (merged["source"] == merged["source_old"]).to_numpy()
        priority = self.config
        outranked = (
            ~is_new
            & ~same
            & (priority.source_rank(merged["source"]) > priority.source_rank(merged["source_old"]))
        )
        changed = ~is_new & ~same & ~outranked
        added_rows = merged[is_new]
        changed_rows = merged[changed]
        bulk_insert(
            conn,
            observations,
            added_rows[list(_KEY) + ["value", "source"]],
            constants={"ingest_id": ingest_id, "updated_at": at},
        )
        if len(changed_rows):
            self._revise(conn, changed_rows, ingest_id, at)
        self._refresh_statistics(conn, written=len(added_rows) + len(changed_rows))
        report = IngestReport(
            ingest_id=ingest_id,
            file=file,
            kind=kind,
            sha256=file_hash,
            rows_added=int(is_new.sum()),
            rows_changed=int(changed.sum()),
            rows_unchanged=int(same.sum()),
            rows_outranked=int(outranked.sum()),
            new_regions=tuple(new_regions),
            series=tuple(sorted(incoming["series"].unique())),
        )
        conn.execute(
            sa.update(ingests)
            .where(ingests.c.id == ingest_id)
            .values(
                rows_added=report.rows_added,
                rows_changed=report.rows_changed,
                rows_unchanged=report.rows_unchanged,
                rows_outranked=report.rows_outranked,
                regions_added=",".join(report.new_regions),
            )
        )
        return report

    def _refresh_statistics(self, conn: Connection, *, written: int) -> None:
        """``ANALYZE observations`` on PostgreSQL after a large write, inside the ingest.

        Autovacuum analyzes a table only a minute or so after the commit; until then the
        planner works from the statistics of the table before the ingest. After a first
        ingest of 3 million rows, the next ingest's lookups of stored rows chose a bitmap
        scan of the whole table (0.6 s per 500 regions instead of 0.04 s: 12 s instead of
        1 s at 10,000 regions). ANALYZE samples ~30,000 rows (~0.3 s at 3 million rows).
        """
        if self.engine.dialect.name == "postgresql" and written >= _ANALYZE_AFTER_ROWS:
            preparer = conn.dialect.identifier_preparer
            conn.exec_driver_sql(f"ANALYZE {preparer.format_table(observations)}")

    def _existing(self, conn: Connection, incoming: pd.DataFrame) -> pd.DataFrame:
        """Stored rows sharing a region and series with the incoming ones."""
        columns = ["region", "month", "series", "value", "source", "ingest_id"]
        series = sorted(incoming["series"].unique())
        region_ids = sorted(incoming["region"].unique())
        parts = []
        for start in range(0, len(region_ids), _CHUNK):
            query = sa.select(*(observations.c[c] for c in columns)).where(
                observations.c.series.in_(series),
                observations.c.region.in_(region_ids[start : start + _CHUNK]),
            )
            parts.append(read_frame(conn, query))
        existing = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)
        existing = existing.rename(
            columns={"value": "value_old", "source": "source_old", "ingest_id": "ingest_id_old"}
        )
        existing["value_old"] = existing["value_old"].astype("float64")
        return existing

    def _revise(self, conn: Connection, rows: pd.DataFrame, ingest_id: int, at: datetime) -> None:
        """Keep the previous values, then update the observations in place.

        The new values are bulk-loaded into a temporary table and applied by one
        ``UPDATE … FROM`` joined on the key (PostgreSQL, and SQLite ≥ 3.33): one statement
        instead of one per revised row.
        """
        revisions = pd.DataFrame(
            {
                **{key: rows[key] for key in _KEY},
                "old_value": rows["value_old"],
                "new_value": rows["value"],
                "old_source": rows["source_old"],
                "new_source": rows["source"],
                "old_ingest_id": rows["ingest_id_old"].astype("int64"),
            }
        )
        bulk_insert(
            conn,
            observation_revisions,
            revisions,
            constants={"new_ingest_id": ingest_id, "revised_at": at},
        )
        staged = _staged_revisions()
        staged.create(conn)
        bulk_insert(conn, staged, rows[list(_KEY) + ["value", "source"]])
        key = observations.c
        conn.execute(
            sa.update(observations)
            .where(*(key[name] == staged.c[name] for name in _KEY))
            .values(
                value=staged.c.value, source=staged.c.source, ingest_id=ingest_id, updated_at=at
            )
        )
        staged.drop(conn)

    def _add_unknown_regions(
        self, conn: Connection, region_ids: Sequence[str], ingest_id: int, at: datetime
    ) -> list[str]:
        known = self._registry_in(conn)
        unknown = sorted(r for r in region_ids if r not in known)
        if unknown:
            conn.execute(
                sa.insert(regions),
                [
                    {
                        "id": rid,
                        "name": rid,
                        "level": "custom",
                        "neighbours": "",
                        "aliases": "",
                        "ingest_id": ingest_id,
                        "added_at": at,
                    }
                    for rid in unknown
                ],
            )
        return unknown

    # -- reads ----------------------------------------------------------------------------

    def load_panel(
        self,
        *,
        regions: Sequence[str] | None = None,
        series: Sequence[str] | None = None,
        since: pd.Period | None = None,
        until: pd.Period | None = None,
    ) -> pd.DataFrame:
        """The stored panel (region, month ``period[M]``, series, value, source).

        Sorted by region, series, month. Filters are inclusive; None means all.
        """
        o = observations.c
        query = sa.select(o.region, o.month, o.series, o.value, o.source)
        if regions is not None:
            query = query.where(o.region.in_(list(regions)))
        if series is not None:
            query = query.where(o.series.in_(list(series)))
        if since is not None:
            query = query.where(o.month >= format_month(since))
        if until is not None:
            query = query.where(o.month <= format_month(until))
        query = query.order_by(o.region, o.series, o.month)
        with self._unavailable_as_error("read the panel"), self.engine.connect() as conn:
            frame = read_frame(conn, query)
        return frame.assign(
            region=frame["region"].astype(str),
            month=_month_periods(frame["month"]),
            series=frame["series"].astype(str),
            value=frame["value"].astype("float64"),
            source=frame["source"].astype(str),
        )

    def regions_with_data(self) -> list[str]:
        """Ids of the regions holding at least one observation, sorted.

        ``SELECT DISTINCT`` on the key index instead of loading the panel to list its
        regions: at 3 million rows 0.15-0.35 s instead of 4-9 s (and no 0.5 GB frame).
        """
        query = sa.select(observations.c.region).distinct().order_by(observations.c.region)
        with self._unavailable_as_error("read the panel"), self.engine.connect() as conn:
            return [str(region) for region in conn.execute(query).scalars()]

    def _registry_in(self, conn: Connection) -> Registry:
        from data.regions import load_default_registry

        added = [
            Region(
                id=row.id,
                name=row.name,
                level=row.level,
                parent=row.parent,
                iso3=row.iso3,
                neighbours=tuple(n for n in row.neighbours.split("|") if n),
                aliases=tuple(a for a in row.aliases.split("|") if a),
            )
            for row in conn.execute(sa.select(regions).order_by(regions.c.id))
        ]
        return load_default_registry().with_regions(added)

    def registry(self) -> Registry:
        """The default registry plus the regions users added (ingest of unknown ids)."""
        with self._unavailable_as_error("read the regions"), self.engine.connect() as conn:
            return self._registry_in(conn)

    def ingests(self) -> pd.DataFrame:
        """The ingest log, oldest first (id, file, sha256, kind, rows_*, regions_added, at)."""
        with self._unavailable_as_error("read the ingest log"), self.engine.connect() as conn:
            rows = conn.execute(sa.select(ingests).order_by(ingests.c.id)).all()
        return _frame(rows, [c.name for c in ingests.columns])

    def revisions(self) -> pd.DataFrame:
        """Every revised number: key, old/new value and source, ingest ids, when."""
        with self._unavailable_as_error("read the revisions"), self.engine.connect() as conn:
            query = sa.select(observation_revisions).order_by(observation_revisions.c.id)
            rows = conn.execute(query).all()
        return _frame(rows, [c.name for c in observation_revisions.columns])

    def is_synthetic(self) -> bool:
        """True when the stored panel holds demo data (source ``synthetic-demo``)."""
        query = sa.select(sa.literal(1)).where(observations.c.source == SYNTHETIC_SOURCE).limit(1)
        with self._unavailable_as_error("read the panel"), self.engine.connect() as conn:
            return conn.execute(query).first() is not None

    def count(self) -> int:
        """Number of stored observations."""
        with self._unavailable_as_error("read the panel"), self.engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(observations)).scalar())


def open_store(
    url: str | None = None,
    *,
    config: DataConfig | None = None,
    busy_timeout_s: float | None = None,
    connect_timeout_s: int | None = None,
    check_schema: bool = True,
) -> Store:
    """Open the store at ``url``: a new database gets the current schema, an old one is refused.

    Args:
        url: SQLAlchemy URL; default ``Settings().resolved_database_url()`` (SQLite under
            the home folder, or ``RISKCAST_DATABASE_URL``).
        config: the ``[data]`` section (the entry point's); default its model's defaults.
        busy_timeout_s: how long a SQLite writer waits for another writer's lock before
            :class:`StoreUnavailableError`; default ``config.busy_timeout_seconds``.
        connect_timeout_s: how long to wait for a PostgreSQL server; default
            ``config.connect_timeout_seconds``.
        check_schema: False only for ``riskcast db`` itself, which migrates an old schema.

    Raises:
        StoreUnavailableError: the database cannot be reached, opened or is locked.
        SchemaOutOfDateError: the database needs ``riskcast db upgrade`` first.
    """
    url = url or get_settings().resolved_database_url()
    config = config or DataConfig()
    engine = create_store_engine(
        url,
        busy_timeout_s=config.busy_timeout_seconds if busy_timeout_s is None else busy_timeout_s,
        connect_timeout_s=connect_timeout_s or config.connect_timeout_seconds,
    )
    store = Store(engine, url, config)
    if check_schema:
        store.create_tables()
    return store
