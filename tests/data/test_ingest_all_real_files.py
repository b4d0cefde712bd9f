"""Every real file in ../shared/data ingests into one store, and the known totals read back."""

from __future__ import annotations

import pandas as pd
import pytest

from data.ingest import ingest_file
from data.store import open_store
from tests.conftest import SHARED_DATA


def _yearly(panel: pd.DataFrame, series: str, regions: list[str], year: int) -> float:
    rows = panel[
        (panel["series"] == series)
        & panel["region"].isin(regions)
        & (panel["month"].dt.year == year)
    ]
    return float(rows["value"].sum())


@pytest.mark.slow
def test_every_shared_file_ingests_and_known_totals_survive_the_store() -> None:
    files = sorted(p for p in SHARED_DATA.glob("*") if p.suffix in {".csv", ".xlsx"})
    if len(files) < 11:
        pytest.skip(f"the real data files are not all in {SHARED_DATA}")
    store = open_store()
    first = [ingest_file(path, store=store) for path in files]
    # Sources overlap (e.g. OSAC and AWSD both count aid diversion per country), so a file
    # may add nothing new; every one must still have parsed to rows the store weighed.
    weighed = {
        r.file: r.rows_added + r.rows_changed + r.rows_unchanged + r.rows_outranked for r in first
    }
    assert all(count > 0 for count in weighed.values()), weighed

    panel = store.load_panel()
    mali_admin1 = [f"ML{i:02d}" for i in range(1, 12)]
    assert _yearly(panel, "fatalities", ["MLI"], 2020) == 1519  # UCDP
    assert _yearly(panel, "fatalities", mali_admin1, 2021) == 1907  # ACLED admin2 workbook
    assert _yearly(panel, "peacekeeper_casualties", ["MLI"], 2016) == 39  # MINUSMA
    assert _yearly(panel, "peacekeeper_casualties_malicious", ["MLI"], 2016) == 27

    # The same file twice changes nothing; the whole sequence again ends where it did
    # (files of equal source rank that overlap revise each other in between, by design:
    # the newest ingest of equally trusted sources wins).
    assert not ingest_file(files[-1], store=store).changed_anything
    for path in files:
        ingest_file(path, store=store)
    pd.testing.assert_frame_equal(store.load_panel(), panel)
