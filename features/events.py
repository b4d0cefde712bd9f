"""Known events as features: coups, mission mandates, any event a user lists in ``[events]``.

``event_<name>_<kind>`` per (name, kind): ``indicator`` is 1 in the months ``start…end`` and
0 otherwise; ``decay`` is ``2**(-(t - start) / half_life)`` from ``start`` on (0 before), so
a coup matters most the month it happens and fades. Several events with one name and kind
(Mali's three coups) share the column: the strongest (most recent) one wins. An event applies
to its region and every region under it in the registry (MLI → ML05 → its cercles).
Both depend only on the calendar up to the origin, never on the panel.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from data.registry import Registry
from features.config import BUILTIN_EVENTS, EventSpec
from riskcast.config import did_you_mean
from riskcast.errors import ConfigError
from riskcast.months import parse_month


def event_column(event: EventSpec) -> str:
    """The column an event feeds: ``event_<name>_<kind>``."""
    return f"event_{event.name}_{event.kind}"


def _ancestors(region: str, registry: Registry | None) -> set[str]:
    found: set[str] = set()
    while registry is not None and region in registry:
        parent = registry.parent(region)
        if parent is None or parent in found:
            break
        found.add(parent)
        region = parent
    return found


def check_event_regions(
    events: tuple[EventSpec, ...], registry: Registry | None, known: set[str]
) -> None:
    """Refuse user events whose region is neither in the registry nor in the panel.

    Raises:
        ConfigError: naming the event and region, with a "did you mean".
    """
    choices = set(known) | (set(registry.ids()) if registry is not None else set())
    for event in events:
        if event not in BUILTIN_EVENTS and event.region not in choices:
            raise ConfigError(
                f"[events] event '{event.name}': unknown region '{event.region}'"
                f"{did_you_mean(event.region, sorted(choices))}"
            )


def event_profile(event: EventSpec, axis: pd.PeriodIndex) -> np.ndarray:
    """The event's value per month of the axis (before regions are applied)."""
    offset = (axis.asi8 - parse_month(event.start).ordinal).astype(float)
    if event.kind == "indicator":
        end = parse_month(event.end or event.start).ordinal
        return ((offset >= 0) & (axis.asi8 <= end)).astype(float)
    return np.where(offset >= 0, 2.0 ** (-np.maximum(offset, 0) / event.half_life), 0.0)


def event_features(
    events: tuple[EventSpec, ...],
    axis: pd.PeriodIndex,
    regions: pd.Index,
    registry: Registry | None,
) -> dict[str, np.ndarray]:
    """One (months × regions) matrix per ``event_<name>_<kind>`` column."""
    columns: dict[str, np.ndarray] = {}
    lineage = {region: _ancestors(region, registry) | {region} for region in regions}
    for event in events:
        applies = np.array([event.region in lineage[region] for region in regions], dtype=float)
        matrix = event_profile(event, axis)[:, None] * applies[None, :]
        name = event_column(event)
        columns[name] = np.maximum(columns[name], matrix) if name in columns else matrix
    return columns
