"""Tests of the features layer, plus the tiny hand-written panels they share."""

from __future__ import annotations

import pandas as pd

from data.registry import Region, Registry


def long_panel(
    spec: dict[tuple[str, str], list[float | None]], start: str = "2020-01"
) -> pd.DataFrame:
    """A long panel from ``{(region, series): [value or None per month from start]}``.

    ``None`` means no row for that month (a gap), so tests write gaps where they see them.
    """
    rows = []
    for (region, series), values in spec.items():
        months = pd.period_range(start, periods=len(values), freq="M")
        for month, value in zip(months, values, strict=True):
            if value is not None:
                rows.append((region, month, series, float(value), "test"))
    frame = pd.DataFrame(rows, columns=["region", "month", "series", "value", "source"])
    frame["month"] = frame["month"].astype("period[M]")
    return frame


def abc_registry(*, island: bool = False) -> Registry:
    """Country X with regions A - B - C in a line (and an island D without neighbours)."""
    regions = [
        Region("X", "Country X", "country", iso3="XXX"),
        Region("A", "A", "admin1", parent="X", neighbours=("B",)),
        Region("B", "B", "admin1", parent="X", neighbours=("A", "C")),
        Region("C", "C", "admin1", parent="X", neighbours=("B",)),
    ]
    if island:
        regions.append(Region("D", "D", "admin1", parent="X"))
    return Registry(regions)
