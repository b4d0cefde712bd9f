"""Ingest one file: detect its kind, parse it, validate the panel, store it atomically.

The same function serves the CLI (``riskcast ingest``), the scheduler's ingest job and
anyone scripting riskcast, so a file goes through exactly one path whoever ingests it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from pathlib import Path

import pandas as pd

from data.config import DataConfig
from data.ids import check_region_ids
from data.names import NameResolver
from data.schema import ROW_COLUMN, validate_panel
from data.sources import check_file, detect_kind, get_source
from data.store import IngestReport, Store
from riskcast.errors import InputError

log = logging.getLogger(__name__)


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file's bytes (read in 1 MiB blocks)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def parse_file(
    path: Path | str,
    *,
    source_kind: str | None = None,
    resolver: NameResolver,
    config: DataConfig | None = None,
    allow_new_regions: bool = False,
) -> tuple[str, pd.DataFrame]:
    """Detect (unless given) the kind of a file and parse and validate it into a panel.

    Region ids follow :mod:`data.ids`: known to the registry, or new and well formed when
    ``allow_new_regions`` is set.

    Returns:
        The kind and the validated panel frame.

    Raises:
        InputError: naming file, row and field of the first problem.
    """
    path = Path(path)
    file = str(path)
    config = config or DataConfig()
    check_file(path, max_xlsx_unpacked_mb=config.max_xlsx_unpacked_mb)
    kind = source_kind or detect_kind(path)
    try:
        source = get_source(kind)
    except InputError as exc:
        raise InputError(exc.message, file=file, field="--source") from None
    frame = source.parse(path, resolver, config.sources)
    check_region_ids(frame, resolver.registry, file=file, allow_new=allow_new_regions)
    # Rows are only named where the parser kept them (``_row``): an aggregated panel's
    # positions are not rows a person could find in the file.
    has_rows = ROW_COLUMN in frame.columns
    row_offset = 2 if has_rows else None
    return kind, validate_panel(frame, file=file, row_offset=row_offset, max_value=config.max_value)


def ingest_file(
    path: Path | str,
    *,
    store: Store,
    source_kind: str | None = None,
    until: pd.Period | None = None,
    allow_new_regions: bool = False,
) -> IngestReport:
    """Ingest one source file into the store (one transaction; idempotent).

    Args:
        path: the file.
        store: where to write.
        source_kind: the kind (``--source``); detected from the header when None.
        until: drop months after this one (how a backtest feeds history).
        allow_new_regions: let well-formed unknown region ids become custom regions
            (``--new-regions``); otherwise they are refused.

    Returns:
        What changed: rows added/changed/unchanged, regions added, rows dropped by ``until``.

    Raises:
        InputError: the file is bad (naming file, row, field); nothing is written.
        StoreUnavailableError: the database is locked or down; nothing is written.
    """
    path = Path(path)
    resolver = NameResolver(store.registry())
    kind, panel = parse_file(
        path,
        source_kind=source_kind,
        resolver=resolver,
        config=store.config,
        allow_new_regions=allow_new_regions,
    )
    dropped = 0
    if until is not None:
        keep = (panel["month"] <= until).to_numpy()
        dropped = int((~keep).sum())
        panel = panel[keep].reset_index(drop=True)
        if panel.empty:
            raise InputError(
                f"no rows at or before --until {until} (all {dropped} rows are later)",
                file=str(path),
                field="month",
            )
    report = store.ingest(panel, file=str(path), file_hash=file_sha256(path), kind=kind)
    if dropped:
        log.info("%s: dropped %d rows after %s", path, dropped, until)
    return dataclasses.replace(report, rows_dropped_after_until=dropped)
