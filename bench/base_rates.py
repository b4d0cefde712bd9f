"""Base rate of each series' escalation rule on the ingested panel: how to pick a default.

The escalation rule of a series is ``max(floor, multiplier × mean of the last window
months)``. Its base rate is how often a month reached the threshold in force the month
before (pooled over the regions that have the series, the same pairs
``forecast.risk.climatological_base_rate`` counts at horizon 1). A useful rule makes
escalations rare but not unheard of, so each series' default floor is the one whose base
rate is closest to the fatalities rule's on the same regions.

Usage (after ingesting the real files into a home):
    RISKCAST_HOME=DIR python -m bench.base_rates --regions ML --since 2012-01
"""

from __future__ import annotations

import argparse

import pandas as pd

from data.store import open_store
from forecast.risk import EscalationRule, climatological_base_rate

FLOORS = (1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 10.0, 25.0)


def base_rate(panel: pd.DataFrame, series: str, rule: EscalationRule, since: pd.Period) -> float:
    """Pooled share of months at or above the previous month's threshold, from ``since``."""
    rows = panel[(panel["series"] == series) & (panel["month"] >= since - rule.window)]
    regions = sorted(rows["region"].unique())
    if not regions:
        return float("nan")
    origin = rows["month"].max()
    rates = climatological_base_rate(rows, regions, 1, rule, origin=origin)
    return float(rates[0])


def main() -> None:
    """Print one line per series × floor."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--regions", default="ML", help="region id prefix (ML = Mali)")
    parser.add_argument("--since", default="2012-01", help="first month judged")
    parser.add_argument(
        "--series",
        default="fatalities,aid_diversion,peacekeeper_casualties,peacekeeper_casualties_malicious",
    )
    args = parser.parse_args()
    panel = open_store().load_panel()
    panel = panel[panel["region"].str.startswith(args.regions)]
    since = pd.Period(args.since, freq="M")
    print("| series | regions | months | floor | base rate (1.5 × 12-month mean) |")
    print("|---|---|---|---|---|")
    for series in args.series.split(","):
        rows = panel[(panel["series"] == series) & (panel["month"] >= since)]
        span = f"{rows['month'].min()}…{rows['month'].max()}" if len(rows) else "-"
        for floor in FLOORS:
            rule = EscalationRule(floor=floor, multiplier=1.5, window=12, series=series)
            rate = base_rate(panel, series, rule, since)
            print(f"| {series} | {rows['region'].nunique()} | {span} | {floor:g} | {rate:.3f} |")


if __name__ == "__main__":
    main()
