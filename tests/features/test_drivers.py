"""Drivers: the most unusual inputs at the origin, from data up to the origin only."""

from __future__ import annotations

import pandas as pd

from features.drivers import top_drivers
from tests.panels import chain_registry


def _panel(values_by_region: dict[str, list[float]], start: str = "2018-01") -> pd.DataFrame:
    rows = []
    for region, values in values_by_region.items():
        months = pd.period_range(start, periods=len(values), freq="M")
        rows += [
            (region, m, "fatalities", float(v), "test") for m, v in zip(months, values, strict=True)
        ]
    frame = pd.DataFrame(rows, columns=["region", "month", "series", "value", "source"])
    frame["month"] = frame["month"].astype("period[M]")
    return frame


def test_a_recent_surge_is_the_top_driver_and_the_future_is_ignored() -> None:
    registry = chain_registry(2)
    calm = [2.0, 3.0] * 18
    surge = calm[:-3] + [40.0, 50.0, 60.0]
    panel = _panel({"AA01": surge + [0.0] * 6, "AA02": calm + [0.0] * 6})
    origin = pd.Period("2020-12", "M")

    drivers = top_drivers(panel, registry, origin)

    label, value = drivers["AA01"][0]
    assert label.startswith("fatalities_roll3_sum (+")
    assert value == 150.0
    later = panel.assign(value=panel["value"].where(panel["month"] <= origin, 999.0))
    assert top_drivers(later, registry, origin) == drivers
