"""Seeded, offline panels for tests: zero-inflated counts, bursts, an all-zero series and a
series that starts late — the shapes conflict data really has."""

from __future__ import annotations

import numpy as np
import pandas as pd

from data.registry import Region, Registry


def chain_registry(n_regions: int = 4, country: str = "AAA") -> Registry:
    """A country with ``n_regions`` admin1 regions in a line (each borders the next)."""
    ids = [f"{country[:2]}{i:02d}" for i in range(1, n_regions + 1)]
    regions = [Region(id=country, name=f"Country {country}", level="country", iso3=country)]
    for i, rid in enumerate(ids):
        neighbours = tuple(ids[j] for j in (i - 1, i + 1) if 0 <= j < len(ids))
        regions.append(
            Region(
                id=rid,
                name=f"Region {rid}",
                level="admin1",
                parent=country,
                iso3=country,
                neighbours=neighbours,
            )
        )
    return Registry(regions)


def synthetic_panel(
    registry: Registry | None = None,
    start: str = "2015-01",
    end: str = "2021-12",
    seed: int = 0,
    series: tuple[str, ...] = ("fatalities", "aid_diversion"),
) -> pd.DataFrame:
    """A long panel (region, month, series, value, source) over the registry's admin1 regions.

    The first region is all zeros (a quiet place), the last starts two years late, the rest
    are negative-binomial counts with bursts. Peacekeeper casualties are given per country.
    """
    registry = registry or chain_registry()
    rng = np.random.default_rng(seed)
    months = pd.period_range(start, end, freq="M")
    admin1 = [r.id for r in registry if r.level == "admin1"]
    rows = []
    for k, region in enumerate(admin1):
        level = 0.0 if k == 0 else rng.gamma(2.0, 5.0)
        burst = np.zeros(len(months))
        for at in rng.choice(len(months), size=3, replace=False):
            burst[at : at + 4] += rng.gamma(2.0, 15.0)
        mu = level + burst if k else np.zeros(len(months))
        fat = rng.negative_binomial(2, 2 / (2 + np.maximum(mu, 1e-9)))
        fat = np.where(mu > 0, fat, 0)
        aid = rng.poisson(0.05 * fat + 0.1) if k else np.zeros(len(months), dtype=int)
        for name, values in (("fatalities", fat), ("aid_diversion", aid)):
            if name not in series:
                continue
            for i, month in enumerate(months):
                if k == len(admin1) - 1 and k > 0 and i < 24:
                    continue  # starts late
                rows.append((region, month, name, float(values[i]), "synthetic-test"))
    if "peacekeeper_casualties" in series:
        for country in [r.id for r in registry if r.level == "country"]:
            for month, value in zip(months, rng.poisson(1.5, len(months)), strict=True):
                rows.append(
                    (country, month, "peacekeeper_casualties", float(value), "synthetic-test")
                )
    frame = pd.DataFrame(rows, columns=["region", "month", "series", "value", "source"])
    frame["month"] = frame["month"].astype("period[M]")
    return frame
