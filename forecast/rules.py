"""The escalation rule of each series: ``[escalation]`` for fatalities, ``[series_rules]``
for the others.

A rule written for deaths (``≥ 25``) makes every aid-diversion probability ~0, so each series
has its own floor, chosen from its base rate in the shared data (README, "Series and
scope"). Every path that computes thresholds — ``riskcast forecast``, the weekly job, a
backtest — asks the entry point's :class:`EscalationRules` for the series it forecasts.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import Field

from forecast.risk import EscalationRule
from riskcast.config import StrictSection, validate_section
from riskcast.errors import ConfigError

log = logging.getLogger(__name__)


class SeriesRule(StrictSection):
    """One ``[series_rules.<series>]`` table: the escalation rule of a non-fatality series.

    A month escalates when the series reaches ``max(floor, multiplier × mean of the last
    window months)``, as ``[escalation]`` does for fatalities.
    """

    floor: float = Field(ge=0)
    multiplier: float = Field(default=1.5, gt=0)
    window: int = Field(default=12, ge=1, le=120)


SERIES_RULE_DEFAULTS: dict[str, SeriesRule] = {
    # The floor whose base rate on Mali (2012 on) is closest to the fatalities rule's 0.062
    # (bench/base_rates.py, README "Series and scope"): AWSD incidents 0.064, MINUSMA deaths
    # 0.064, MINUSMA deaths by malicious acts 0.064.
    "aid_diversion": SeriesRule(floor=1.0, multiplier=1.5, window=12),
    "peacekeeper_casualties": SeriesRule(floor=8.0, multiplier=1.5, window=12),
    "peacekeeper_casualties_malicious": SeriesRule(floor=6.0, multiplier=1.5, window=12),
}
"""Rules used when ``[series_rules]`` does not name a series."""


@dataclass(frozen=True)
class EscalationRules:
    """The escalation rule of every series: ``[escalation]`` for its own series (the
    headline, fatalities by default), ``[series_rules]`` for the others.

    Attributes:
        base: the ``[escalation]`` section.
        by_series: ``[series_rules]`` over :data:`SERIES_RULE_DEFAULTS`.
    """

    base: EscalationRule = field(default_factory=EscalationRule)
    by_series: Mapping[str, SeriesRule] = field(default_factory=lambda: dict(SERIES_RULE_DEFAULTS))

    def for_series(self, series: str) -> EscalationRule:
        """The rule of one series; a series with no rule anywhere gets ``[escalation]``'s,
        with a warning naming the table to add."""
        if series == self.base.series:
            return self.base
        rule = self.by_series.get(series)
        if rule is None:
            log.warning(
                "no escalation rule for series '%s': using [escalation]'s; add "
                "[series_rules.%s] with its own floor to riskcast.toml",
                series,
                series,
            )
            return self.base.model_copy(update={"series": series})
        return EscalationRule(
            floor=rule.floor, multiplier=rule.multiplier, window=rule.window, series=series
        )


def escalation_rules(
    escalation: Mapping[str, Any], series_rules: Mapping[str, Any]
) -> EscalationRules:
    """Validate the ``[escalation]`` and ``[series_rules]`` tables (an entry point's loader).

    Raises:
        ConfigError: an unknown key (with a "did you mean") or a bad value, naming the table.
    """
    base = validate_section(escalation, "escalation", EscalationRule)
    if not isinstance(series_rules, Mapping):
        raise ConfigError("[series_rules] must hold one table per series")
    by_series = dict(SERIES_RULE_DEFAULTS)
    for series, raw in series_rules.items():
        if not isinstance(raw, Mapping):
            raise ConfigError(
                f"[series_rules.{series}] must be a table (floor, multiplier, window)"
            )
        by_series[series] = validate_section(raw, f"series_rules.{series}", SeriesRule)
    return EscalationRules(base=base, by_series=by_series)
