"""The watch list and the per-series escalation rules: what the weekly job covers.

An analyst watches a handful of regions, not every country a peacekeeping file mentions. The
``[scope]`` section says which series are forecast and for which regions; everything else
that was ingested stays in the store (features and exports still read it) but is neither
forecast, flagged, alerted on nor shown in the bulletin.

Automatic scope (``regions = []``): the regions of ``anchor_series`` (fatalities) with data
in that series' last ``active_months`` months, plus their parents (``parents = true``). For
Mali's ACLED workbook that is the ten admin1 regions and Mali itself, where the country-level
peacekeeper and aid-diversion series live.

Each series has its own escalation rule (``forecast/rules.py``): fatalities keep
``[escalation]`` (``max(25, 1.5 × 12-month mean)``); the others read
``[series_rules.<series>]``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd
from pydantic import Field, field_validator

from data.registry import Registry
from riskcast.config import StrictSection

logger = logging.getLogger(__name__)

DEFAULT_SERIES: tuple[str, ...] = ("fatalities", "aid_diversion", "peacekeeper_casualties")


class ScopeConfig(StrictSection):
    """The ``[scope]`` section.

    Attributes:
        series: the series forecast, alerted on and reported, in bulletin order.
        regions: an explicit watch list; empty = automatic (see the module docstring).
        anchor_series: the series whose active regions make the automatic scope.
        active_months: a region is active when ``anchor_series`` has data for it in this
            many months up to that series' newest month.
        parents: add the parents of the active regions (their country) to the scope.
    """

    series: list[str] = Field(default_factory=lambda: list(DEFAULT_SERIES), min_length=1)
    regions: list[str] = Field(default_factory=list)
    anchor_series: str = "fatalities"
    active_months: int = Field(default=24, ge=1, le=600)
    parents: bool = True

    @field_validator("series")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError(f"a series is listed twice: {value}")
        return value


@dataclass(frozen=True)
class Scope:
    """The resolved watch list.

    Attributes:
        series: series covered, in order.
        regions: region ids covered, sorted.
        how: one line saying how the regions were chosen (shown on the bulletin).
    """

    series: tuple[str, ...]
    regions: tuple[str, ...]
    how: str

    def covers(self, region: str) -> bool:
        """Whether a region is in the watch list."""
        return region in self.regions


def resolve_scope(panel: pd.DataFrame, registry: Registry | None, config: ScopeConfig) -> Scope:
    """The regions and series the weekly job, alerts and bulletin cover.

    Args:
        panel: the long panel.
        registry: the region registry (for parents); may be None.
        config: ``[scope]``.
    """
    series = tuple(config.series)
    if config.regions:
        return Scope(series, tuple(sorted(set(config.regions))), "the regions listed in [scope]")
    anchor = panel[(panel["series"] == config.anchor_series) & panel["value"].notna()]
    if anchor.empty:
        logger.warning("no %s data: the scope is empty", config.anchor_series)
        return Scope(series, (), f"no {config.anchor_series} data yet")
    newest = anchor["month"].max()
    since = newest - (config.active_months - 1)
    active = set(anchor.loc[anchor["month"] >= since, "region"].astype(str))
    how = (
        f"regions with {config.anchor_series.replace('_', ' ')} data in the "
        f"{config.active_months} months to {newest.strftime('%Y-%m')}"
    )
    if config.parents and registry is not None:
        parents = {registry.parent(r) for r in active if r in registry} - {None}
        if parents:
            active |= {str(p) for p in parents}
            how += ", and their country"
    return Scope(series, tuple(sorted(active)), how)


def scoped(panel: pd.DataFrame, regions: Sequence[str]) -> pd.DataFrame:
    """The panel rows of the scoped regions."""
    return panel[panel["region"].isin(list(regions))]
