"""The ``[data]`` section: store timeouts, input limits, source ranks and parser options.

Read once by an entry point (:mod:`jobs.config`) and handed to :func:`data.store.open_store`,
which keeps it on the store: every ingest through that store uses the same limits.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pydantic import Field

from data.source_options import SourceOptions
from riskcast.config import StrictSection

DEFAULT_BUSY_TIMEOUT_S = 30.0
DEFAULT_CONNECT_TIMEOUT_S = 10
DEFAULT_MAX_VALUE = 10_000_000.0
DEFAULT_MAX_XLSX_MB = 200.0


class DataConfig(StrictSection):
    """The ``[data]`` section of ``riskcast.toml``.

    Attributes:
        busy_timeout_seconds: how long a SQLite writer waits for another writer's lock
            before giving up with a clear "database is locked" error.
        connect_timeout_seconds: how long to wait for a PostgreSQL server before
            "cannot be reached".
        sources: the parsers' options (``[data.sources]``, :mod:`data.source_options`).
        source_priority: source kinds, most trusted first. Several sources can write the
            same (region, month, series) — ACLED events and the ACLED admin2 workbook both
            give admin1 fatalities, under different definitions. A row from a lower-ranked
            kind never overwrites a stored row from a higher-ranked one (it is counted as
            ``rows_outranked``); the same or a higher rank revises it. Kinds not listed rank
            below all listed ones.
        max_value: the largest count a panel row may hold; larger values are refused
            naming row and field (one 1e308 once broke every forecast).
        max_xlsx_unpacked_mb: the largest unpacked size of an .xlsx workbook; a bigger one
            (a zip bomb) is refused before it is opened.
    """

    max_value: float = Field(default=DEFAULT_MAX_VALUE, gt=0)
    max_xlsx_unpacked_mb: float = Field(default=DEFAULT_MAX_XLSX_MB, gt=0)
    busy_timeout_seconds: float = Field(default=DEFAULT_BUSY_TIMEOUT_S, ge=0)
    connect_timeout_seconds: int = Field(default=DEFAULT_CONNECT_TIMEOUT_S, ge=1)
    sources: SourceOptions = Field(default_factory=SourceOptions)
    source_priority: tuple[str, ...] = (
        "panel_csv",
        "acled_admin2_xlsx",
        "ucdp_ged",
        "acled_events",
        "ucdp_country_month",
        "un_peacekeeping",
        "osac",
        "awsd",
    )

    def source_rank(self, sources: pd.Series) -> np.ndarray:
        """Rank of each source string (``kind:file``); 0 is the most trusted."""
        ranks = {kind: rank for rank, kind in enumerate(self.source_priority)}
        # A file holds few distinct sources: rank those, then spread by code (-1 = missing).
        codes, uniques = pd.factorize(sources)
        unique_ranks = np.array(
            [ranks.get(str(source).split(":", 1)[0], len(ranks)) for source in uniques]
            + [len(ranks)],
            dtype="float64",
        )
        return unique_ranks[codes]
