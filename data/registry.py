"""The region registry: stable ids, names, levels, parents and neighbours.

Ids are P-codes for sub-national regions (Mopti = ``ML05``) and ISO3 for countries
(``MLI``). Features use neighbours (spatial lags) and parents (a region inherits its
country's peacekeeper casualties); ingest uses names and aliases to map source spellings
to ids.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Literal

Level = Literal["country", "admin1", "admin2", "custom"]


@dataclass(frozen=True)
class Region:
    """One region of the registry.

    Attributes:
        id: stable id (P-code or ISO3; any user id for custom regions).
        name: display name.
        level: ``country``, ``admin1``, ``admin2`` or ``custom``.
        parent: id of the enclosing region (``MLI`` for ``ML05``), or None.
        iso3: ISO3 code of the country the region lies in.
        neighbours: ids of regions sharing a border, same level.
        aliases: other spellings found in sources ("Tombouctou", "Timbuktu").
    """

    id: str
    name: str
    level: Level
    parent: str | None = None
    iso3: str | None = None
    neighbours: tuple[str, ...] = ()
    aliases: tuple[str, ...] = field(default=())


class Registry:
    """A set of regions with look-ups by id, parent and neighbour."""

    def __init__(self, regions: Iterable[Region]) -> None:
        self._regions: dict[str, Region] = {}
        for region in regions:
            if region.id in self._regions:
                raise ValueError(f"region id {region.id} is listed twice in the registry")
            self._regions[region.id] = region

    def __contains__(self, region_id: object) -> bool:
        return region_id in self._regions

    def __iter__(self) -> Iterator[Region]:
        return iter(self._regions.values())

    def __len__(self) -> int:
        return len(self._regions)

    def get(self, region_id: str) -> Region:
        """The region with this id; KeyError naming it when unknown."""
        try:
            return self._regions[region_id]
        except KeyError:
            raise KeyError(f"unknown region id '{region_id}'") from None

    def ids(self) -> list[str]:
        """All region ids, in registry order."""
        return list(self._regions)

    def neighbours(self, region_id: str) -> tuple[str, ...]:
        """Ids of the neighbours of a region that are themselves in the registry."""
        return tuple(n for n in self.get(region_id).neighbours if n in self._regions)

    def parent(self, region_id: str) -> str | None:
        """Id of the parent region, or None."""
        return self.get(region_id).parent

    def children(self, region_id: str) -> list[str]:
        """Ids of the regions whose parent is this one."""
        return [r.id for r in self._regions.values() if r.parent == region_id]

    def with_regions(self, extra: Iterable[Region]) -> Registry:
        """A new registry with more regions (ids already present are kept as they are)."""
        added = [r for r in extra if r.id not in self._regions]
        return Registry([*self._regions.values(), *added])
