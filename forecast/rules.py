"""The escalation rule of each series: ``[escalation]`` for fatalities, ``[series_rules]``
for the others.

A rule written for deaths (``≥ 25``) makes every aid-diversion probability ~0, so each series
has its own floor, chosen from its base rate in the shared data (README, "Series and
scope"). Every path that computes thresholds — ``riskcast forecast``, the weekly job — asks
:func:`escalation_rule_for` for the series it forecasts.
"""

from __future__ import annotations

import logging

from pydantic import Field

from forecast.risk import EscalationRule
from riskcast.config import StrictSection, config_section, load_config, refuse_unknown_keys
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


def escalation_rule_for(series: str) -> EscalationRule:
    """The escalation rule of one series (``[escalation]`` for its own series).

    Raises:
        ConfigError: a ``[series_rules]`` table with an unknown key or a bad value. A series
            with no rule anywhere gets ``[escalation]``'s, with a warning naming the table
            to add.
    """
    base = config_section("escalation", EscalationRule)
    if series == base.series:
        return base
    tables = load_config().get("series_rules", {})
    if not isinstance(tables, dict):
        raise ConfigError("[series_rules] must hold one table per series")
    raw = tables.get(series)
    if raw is None:
        if series not in SERIES_RULE_DEFAULTS:
            log.warning(
                "no escalation rule for series '%s': using [escalation]'s; add "
                "[series_rules.%s] with its own floor to riskcast.toml",
                series,
                series,
            )
            return base.model_copy(update={"series": series})
        rule = SERIES_RULE_DEFAULTS[series]
    else:
        refuse_unknown_keys(raw, SeriesRule, f"[series_rules.{series}]")
        try:
            rule = SeriesRule.model_validate(raw)
        except ValueError as exc:
            raise ConfigError(f"[series_rules.{series}] {exc}") from exc
    return EscalationRule(
        floor=rule.floor, multiplier=rule.multiplier, window=rule.window, series=series
    )
