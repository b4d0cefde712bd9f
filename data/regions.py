"""The registry riskcast ships: sub-national regions from ``data/regions/*.csv`` and every
country known to pycountry (ISO3 ids), so UCDP's country columns all have a home.

Sub-national ids are OCHA P-codes (Mopti = ``ML05``, Sahel = ``BF56``, Tillabéri =
``NE006``); the Mali and Burkina Faso codes match the ``Admin1 Pcode`` column of ACLED's HDX
sub-national files. Neighbours are same-level regions sharing a border, across national
borders too (the Liptako-Gourma edges: Mopti–Sahel, Gao–Tillabéri, Ménaka–Tahoua …),
because violence there spills over borders; they feed the spatial-lag features.

Country names come from pycountry (name, official name, common name); the few spellings
that conflict datasets use and pycountry does not know (UCDP's historical names, ACLED's
and AWSD's variants) are listed in :data:`COUNTRY_ALIASES`. Only aliases go there, never a
full list of countries.
"""

from __future__ import annotations

import csv
from functools import lru_cache
from pathlib import Path

import pycountry

from data.registry import Region, Registry

REGION_FILES = Path(__file__).resolve().parent / "regions"

#: Source spellings pycountry does not resolve, by ISO3. UCDP appends former names in
#: parentheses ("DR Congo (Zaire)"); ACLED, AWSD and OSAC use common short names.
COUNTRY_ALIASES: dict[str, tuple[str, ...]] = {
    "BIH": ("Bosnia-Herzegovina",),
    "CIV": ("Ivory Coast", "Cote D'Ivoire"),
    "COD": (
        "DR Congo",
        "DR Congo (Zaire)",
        "Democratic Republic of Congo",
        "Democratic Republic of the Congo",
        "DRC",
        "Zaire",
        "Congo-Kinshasa",
    ),
    "COG": ("Republic of Congo", "Republic of the Congo", "Congo-Brazzaville"),
    "KHM": ("Cambodia (Kampuchea)", "Kampuchea"),
    "LBY": ("Libyan Arab Jamahiriya",),
    "MDG": ("Madagascar (Malagasy)", "Malagasy Republic"),
    "MMR": ("Myanmar (Burma)", "Burma"),
    "PSE": ("Occupied Palestinian Territories", "Occupied Palestinian Territory", "Palestine"),
    # UCDP's "Russia (Soviet Union)" codes Soviet-era events to today's Russia; AWSD lists
    # Chechnya as if a country: it is a republic of the Russian Federation.
    "RUS": ("Russia", "Russia (Soviet Union)", "Soviet Union", "USSR", "Chechnya"),
    "SRB": ("Serbia (Yugoslavia)", "Yugoslavia"),
    "SWZ": ("Kingdom of eSwatini (Swaziland)", "Swaziland", "eSwatini"),
    "TUR": ("Turkey",),
    "YEM": ("Yemen (North Yemen)", "North Yemen"),
    "ZWE": ("Zimbabwe (Rhodesia)", "Rhodesia"),
}

#: Countries the world's conflict data uses but ISO 3166 does not list (user-assigned code
#: XK, as used by the EU, the IMF and UCDP's successors).
EXTRA_COUNTRIES: tuple[Region, ...] = (
    Region(id="XKX", name="Kosovo", level="country", iso3="XKX"),
)


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
    countries: list[Region] = []
    for country in pycountry.countries:
        names = {country.name, getattr(country, "official_name", country.name)}
        names |= set(COUNTRY_ALIASES.get(country.alpha_3, ()))
        countries.append(
            Region(
                id=country.alpha_3,
                name=getattr(country, "common_name", None) or country.name,
                level="country",
                iso3=country.alpha_3,
                aliases=tuple(sorted(names)),
            )
        )
    return [*countries, *EXTRA_COUNTRIES]


@lru_cache(maxsize=1)
def load_default_registry() -> Registry:
    """Countries (pycountry plus Kosovo) and the shipped sub-national regions."""
    return Registry([*_countries(), *_subnational_regions()])
