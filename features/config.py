"""The feature set, declared in config so experiments can vary it without code.

``[features]`` (:class:`FeatureConfig`) says which builders run and with which parameters;
``[events]`` (:class:`EventsConfig`) lists known events (coups, mission mandates) on top of
the built-in Mali ones. The entry point's config loader puts both into one object, and
:func:`feature_set_hash` digests it, so an experiment that logs the hash logs exactly which
features a model saw.

Missing months (``gaps``): a month with no row is **unknown**, not zero, by default
(``"nan"``). Filling zeros would invent calm exactly where reporting breaks down — in conflict
zones — and bias forecasts down. Use ``"zero"`` for sources that only list events (no row =
nothing happened), ``"ffill"`` for stock-like series; per series with ``gaps_by_series``.
Before a region-series' first row nothing is filled under any policy; after its last row,
``zero`` and ``ffill`` go on filling up to the origin, so use them only for sources that are
complete up to the origin.
"""

from __future__ import annotations

import builtins
import hashlib
import json
import re
from typing import Literal

from pydantic import Field, PositiveInt, field_validator, model_validator

from features.quantities import WINDOW_STATS, parse_quantity
from riskcast.config import StrictSection, validate_section
from riskcast.months import parse_month

GapPolicy = Literal["nan", "zero", "ffill"]
EventKind = Literal["indicator", "decay"]

#: Bump when a builder's meaning changes, so old and new feature sets never share a hash.
FEATURE_SCHEME_VERSION = 1

#: Series riskcast knows by name. A configured one that a panel lacks gives NaN columns (a
#: country without a peacekeeping mission); any other name a panel lacks is a ConfigError.
KNOWN_SERIES = (
    "fatalities",
    "aid_diversion",
    "peacekeeper_casualties",
    "peacekeeper_casualties_malicious",
)

_SNAKE = re.compile(r"^[a-z][a-z0-9_]*$")


def _sorted_unique(values: builtins.list[int]) -> builtins.list[int]:
    return sorted(set(values))


def _unique_names(values: builtins.list[str]) -> builtins.list[str]:
    for value in values:
        if not _SNAKE.match(value):
            raise ValueError(f"'{value}' is not a lowercase snake_case name")
    return list(dict.fromkeys(values))


def _check_quantities(values: builtins.list[str]) -> builtins.list[str]:
    for value in values:
        parse_quantity(value)
    return list(dict.fromkeys(values))


class EventSpec(StrictSection):
    """One known event, e.g. ``{name="coup", region="MLI", start="2021-05"}``.

    Attributes:
        name: snake_case; events sharing a name and kind share one column.
        region: region id; the event applies to it and every region under it (MLI → ML05).
        start: first month ``YYYY-MM``.
        end: last month (inclusive) for indicators; default ``start``.
        kind: ``indicator`` (1 while the event runs) or ``decay`` (1 at ``start``, halving
            every ``half_life`` months after, whatever ``end`` says).
        half_life: months, for ``decay``.
    """

    name: str
    region: str
    start: str
    end: str | None = None
    kind: EventKind = "indicator"
    half_life: PositiveInt = 6

    @field_validator("name")
    @classmethod
    def _snake_name(cls, value: str) -> str:
        return _unique_names([value])[0]

    @field_validator("start", "end")
    @classmethod
    def _month(cls, value: str | None) -> str | None:
        if value is not None:
            parse_month(value)
        return value

    @model_validator(mode="after")
    def _ordered(self) -> EventSpec:
        if self.end is not None and parse_month(self.end) < parse_month(self.start):
            raise ValueError(f"event '{self.name}': end {self.end} is before start {self.start}")
        return self


BUILTIN_EVENTS: tuple[EventSpec, ...] = (
    EventSpec(name="coup", region="MLI", start="2012-03", kind="decay", half_life=6),
    EventSpec(name="coup", region="MLI", start="2020-08", kind="decay", half_life=6),
    EventSpec(name="coup", region="MLI", start="2021-05", kind="decay", half_life=6),
    EventSpec(name="minusma", region="MLI", start="2013-07", end="2023-12", kind="indicator"),
)


class EventsConfig(StrictSection):
    """The ``[events]`` section.

    Attributes:
        builtin: include the built-in events (Mali coups 2012-03, 2020-08, 2021-05 as
            ``event_coup_decay``; MINUSMA 2013-07…2023-12 as ``event_minusma_indicator``).
        list: user events, written ``[[events.list]]`` in TOML.
    """

    builtin: bool = True
    list: tuple[EventSpec, ...] = ()

    def all_events(self) -> tuple[EventSpec, ...]:
        """Built-in events (if on) followed by the user's."""
        return (BUILTIN_EVENTS if self.builtin else ()) + tuple(self.list)


class FeatureConfig(StrictSection):
    """The ``[features]`` section: which features to build (naming: see features.build).

    Attributes:
        gaps: what a month with no row means: ``nan`` (unknown; default), ``zero``, ``ffill``.
        gaps_by_series: per-series override, e.g. ``{peacekeeper_casualties = "zero"}``.
        lags: lags of the target (``lag1`` = the origin month's value).
        log1p_lags: also give each lag on the log1p scale.
        windows: rolling window lengths (months, origin included).
        window_stats: statistics per window: sum, mean, max, std.
        growth: growth between each window and the next longer one (``growth3_6`` …).
        since_thresholds: ``k`` values for months since the last month with ≥ k.
        decay_half_lives: half-lives (months) of decayed past violence.
        spatial: build neighbour features.
        spatial_series: series whose quantities are aggregated over neighbours.
        spatial_aggregate: ``mean`` or ``sum`` over neighbours with a known value.
        spatial_quantities: quantities per neighbour (grammar: features.quantities).
        cross_series: other series used as regressors of the target (same region).
        cross_quantities: quantities of each cross series.
        parent_series: series a region inherits from its parent (``parent_<series>_…``).
        parent_quantities: quantities of the parent's series.
        children_series: series summed over a region's children (``children_<series>_…``).
        children_quantities: quantities of the children's sum.
        known_events: build ``event_<name>_<kind>`` columns from ``events``.
        month_of_year: add ``month_of_year`` (1-12) of the origin.
        events: the ``[events]`` section (the entry point's config loader puts it here).
    """

    gaps: GapPolicy = "nan"
    gaps_by_series: dict[str, GapPolicy] = Field(default_factory=dict)
    lags: builtins.list[PositiveInt] = [1, 2, 3, 6, 12]
    log1p_lags: bool = True
    windows: builtins.list[PositiveInt] = [3, 6, 12, 24]
    window_stats: builtins.list[Literal["sum", "mean", "max", "std"]] = list(WINDOW_STATS)
    growth: bool = True
    since_thresholds: builtins.list[int] = [1, 25]
    decay_half_lives: builtins.list[PositiveInt] = [3, 12]
    spatial: bool = True
    spatial_series: builtins.list[str] = ["fatalities"]
    spatial_aggregate: Literal["mean", "sum"] = "mean"
    spatial_quantities: builtins.list[str] = ["lag1", "roll3_sum", "roll12_sum", "decay_hl12"]
    cross_series: builtins.list[str] = [
        "aid_diversion",
        "peacekeeper_casualties",
        "peacekeeper_casualties_malicious",
    ]
    cross_quantities: builtins.list[str] = ["lag1", "lag2", "lag3", "roll12_sum"]
    parent_series: builtins.list[str] = [
        "fatalities",
        "peacekeeper_casualties",
        "peacekeeper_casualties_malicious",
    ]
    parent_quantities: builtins.list[str] = ["lag1", "roll3_sum", "roll12_sum"]
    children_series: builtins.list[str] = ["fatalities"]
    children_quantities: builtins.list[str] = ["lag1", "roll3_sum", "roll12_sum"]
    known_events: bool = True
    month_of_year: bool = True
    events: EventsConfig = EventsConfig()

    _ints = field_validator("lags", "windows", "decay_half_lives")(_sorted_unique)
    _names = field_validator("spatial_series", "cross_series", "parent_series", "children_series")(
        _unique_names
    )
    _quantities = field_validator(
        "spatial_quantities", "cross_quantities", "parent_quantities", "children_quantities"
    )(_check_quantities)

    @field_validator("since_thresholds")
    @classmethod
    def _non_negative(cls, values: builtins.list[int]) -> builtins.list[int]:
        if any(value < 0 for value in values):
            raise ValueError("thresholds must be ≥ 0")
        return _sorted_unique(values)

    @field_validator("window_stats")
    @classmethod
    def _stats_in_order(cls, values: builtins.list[str]) -> builtins.list[str]:
        return [stat for stat in WINDOW_STATS if stat in values]

    def gap_policy(self, series: str) -> GapPolicy:
        """The gap policy for one series (the override, else the default)."""
        return self.gaps_by_series.get(series, self.gaps)

    def target_quantities(self) -> builtins.list[str]:
        """Quantity names of the target's own history, in column order."""
        names = [f"lag{k}" for k in self.lags]
        if self.log1p_lags:
            names += [f"log1p_lag{k}" for k in self.lags]
        names += [f"roll{w}_{stat}" for w in self.windows for stat in self.window_stats]
        if self.growth:
            names += [
                f"growth{a}_{b}" for a, b in zip(self.windows, self.windows[1:], strict=False)
            ]
        names += [f"since_ge{k}" for k in self.since_thresholds]
        names += [f"decay_hl{h}" for h in self.decay_half_lives]
        return names

    def series_used(self, target: str) -> builtins.list[str]:
        """Every series name the feature set reads, target first."""
        names = [target, *self.cross_series, *self.parent_series, *self.children_series]
        names += list(self.gaps_by_series)
        if self.spatial:
            names += self.spatial_series
        return list(dict.fromkeys(names))


def with_overrides(config: FeatureConfig, **overrides: object) -> FeatureConfig:
    """``config`` with some keys replaced (an experiment spec's), validated like the file.

    Raises:
        ConfigError: naming ``[features]`` and the key (with a "did you mean").
    """
    table = config.model_dump(exclude={"events"})
    return validate_section(table, "features", FeatureConfig, events=config.events, **overrides)


def feature_set_hash(config: FeatureConfig) -> str:
    """A stable 16-hex-digit digest of the feature set (config content + scheme version).

    Lists are normalised by the model (sorted, de-duplicated), so two configs that build the
    same columns hash alike; the digest does not depend on dict order or Python version.
    """
    content = {"scheme": FEATURE_SCHEME_VERSION, "config": config.model_dump(mode="json")}
    text = json.dumps(content, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
