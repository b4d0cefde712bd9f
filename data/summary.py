"""Per region and series: first and last month, months stored and the total.

Computed in the database (GROUP BY), so a summary of a large store does not load the panel.
"""

from __future__ import annotations

import pandas as pd
import sqlalchemy as sa

from data.store import Store
from data.tables import observations

SUMMARY_COLUMNS = ("region", "series", "first_month", "last_month", "months", "total", "sources")


def panel_summary(store: Store) -> pd.DataFrame:
    """One row per (region, series): first_month, last_month (``YYYY-MM``), months, total.

    ``sources`` lists the distinct sources of the rows (comma-separated), so a synthetic
    panel is visible as such.
    """
    o = observations.c
    query = (
        sa.select(
            o.region,
            o.series,
            sa.func.min(o.month),
            sa.func.max(o.month),
            sa.func.count(),
            sa.func.sum(o.value),
            sa.func.min(o.source),
            sa.func.max(o.source),
            sa.func.count(sa.distinct(o.source)),
        )
        .group_by(o.region, o.series)
        .order_by(o.region, o.series)
    )
    with store.engine.connect() as conn:
        rows = conn.execute(query).all()
    records = []
    for region, series, first, last, months, total, low, high, n_sources in rows:
        sources = low if n_sources == 1 else f"{low} … {high} ({n_sources} sources)"
        records.append((region, series, first, last, int(months), float(total), sources))
    return pd.DataFrame(records, columns=list(SUMMARY_COLUMNS))
