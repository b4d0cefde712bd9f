"""The registry riskcast ships: sub-national regions from ``data/regions/*.csv`` and every
country known to pycountry (ISO3 ids), so UCDP's country columns all have a home.

Sub-national ids are OCHA P-codes (Mopti = ``ML05``). Neighbours are same-level regions
sharing a border; they feed the spatial-lag features.
"""

from __future__ import annotations

import csv
from functools import lru_cache
from pathlib import Path

import pycountry

from data.registry import Region, Registry

REGION_FILES = Path(__file__).resolve().parent / "regions"


def _split(cell: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in cell.split("|") if part.strip())


def _subnational_regions() -> list[Region]:
    regions: list[Region] = []
    for path in sorted(REGION_FILES.glob("*.csv")):
        with path.open(encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                regions.append(
                    Region(
                        id=row["id"],
                        name=row["name"],
                        level=row["level"],  # type: ignore[arg-type]
                        parent=row["parent"] or None,
                        iso3=row["iso3"] or None,
                        neighbours=_split(row["neighbours"]),
                        aliases=_split(row["aliases"]),
                    )
                )
    return regions


def _countries() -> list[Region]:
    return [
        Region(
            id=country.alpha_3,
            name=getattr(country, "common_name", None) or country.name,
            level="country",
            iso3=country.alpha_3,
            aliases=tuple({country.name, getattr(country, "official_name", country.name)}),
        )
        for country in pycountry.countries
    ]


@lru_cache(maxsize=1)
def load_default_registry() -> Registry:
    """Countries (pycountry) plus the shipped sub-national regions."""
    return Registry([*_countries(), *_subnational_regions()])
