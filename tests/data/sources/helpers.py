"""Small helpers the source-parser tests share (no fixtures here: see conftest)."""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

import pandas as pd

from data.names import NameResolver
from data.regions import load_default_registry
from data.source_options import SourceOptions


def resolver() -> NameResolver:
    """A resolver over the shipped registry."""
    return NameResolver(load_default_registry())


def options(**changes: object) -> SourceOptions:
    """Default source options with some fields changed."""
    return SourceOptions().model_copy(update=changes)


def yearly(panel: pd.DataFrame, series: str, regions: Iterable[str]) -> dict[int, float]:
    """Yearly totals of one series summed over ``regions``."""
    rows = panel[(panel["series"] == series) & panel["region"].isin(list(regions))]
    return rows.groupby(rows["month"].dt.year)["value"].sum().to_dict()


def assert_panel_shape(panel: pd.DataFrame) -> None:
    """The panel contract: columns, dtypes, one row per key, non-negative values."""
    assert list(panel.columns) == ["region", "month", "series", "value", "source"]
    assert str(panel["month"].dtype) == "period[M]"
    assert panel["value"].dtype == float
    assert (panel["value"] >= 0).all()
    assert not panel.duplicated(["region", "month", "series"]).any()
    assert panel["region"].isin(load_default_registry().ids()).all()


@lru_cache(maxsize=4)
def raw_workbook(path: str) -> pd.DataFrame:
    """The Data sheet of a shared workbook, read once per test session (reads are slow)."""
    return pd.read_excel(path, sheet_name="Data")
