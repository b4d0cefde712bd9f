"""Honest origins: each region × series is forecast from its own last month with data.

A store holds sources that end at different months (ACLED to 2021-12, a posted observation
for one region in 2022-01, MINUSMA to 2023-12). Forecasting every region from the newest
month of any of them would treat months a source never reported as known, and one posted
observation would move every region's forecast.

So regions are grouped by their own origin, and each origin is forecast once from the panel
cut at it, for *every* scoped region with data up to it (the same region set and random
stream whichever regions have moved on), keeping the rows of the regions whose origin it
is. A new observation for region A moves A to a later origin; the fit at every other
region's origin sees exactly the same panel and regions as before, so their forecasts and
risk are bit-identical — for pooled models too.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from features.config import FeatureConfig
from forecast.draws import Draws
from forecast.pipeline import ForecastResult, forecast_from_panel
from forecast.risk import EscalationRule, RiskTiers, risk_table
from riskcast.months import format_month

logger = logging.getLogger(__name__)


def region_origins(
    panel: pd.DataFrame, series: str, regions: Sequence[str]
) -> dict[str, pd.Period]:
    """Region → its newest month with a value of ``series`` (regions without any left out)."""
    rows = panel[
        (panel["series"] == series) & panel["region"].isin(list(regions)) & panel["value"].notna()
    ]
    newest = rows.groupby("region", sort=True)["month"].max()
    return {str(region): month for region, month in newest.items()}


@dataclass
class SeriesForecast:
    """One series forecast from per-region origins, shaped like a ``ForecastResult``.

    Attributes:
        series: the series.
        model: the model name.
        draws: the draws of the newest origin (what MLflow's params and fan charts read).
        frame: output-contract rows of every region (each row carries its own origin).
        risk: the risk table of every region (each row carries its own origin).
        thresholds: escalation threshold per region of ``frame``.
        notes: region → model note.
        origins: region → origin month.
        models: origin → the fitted model instance (for drivers).
        results: origin → the forecast made there.
        model_options: options the model was made with.
    """

    series: str
    model: str
    draws: Draws
    frame: pd.DataFrame
    risk: pd.DataFrame
    thresholds: dict[str, float]
    notes: dict[str, str]
    origins: dict[str, pd.Period]
    models: dict[pd.Period, Any] = field(default_factory=dict)
    results: dict[pd.Period, ForecastResult] = field(default_factory=dict)
    model_options: dict[str, Any] = field(default_factory=dict)

    @property
    def origin(self) -> pd.Period:
        """The newest origin (the refit's headline origin)."""
        return self.draws.origin


def _capturing_factory(seen: list[Any]) -> Callable[..., Any]:
    """``make_model`` that remembers the instance it made (its fit is needed for drivers)."""
    from forecast.models import make_model

    def factory(name: str, **options: Any) -> Any:
        instance = make_model(name, **options)
        seen.append(instance)
        return instance

    return factory


def forecast_series(
    panel: pd.DataFrame,
    registry: Any,
    *,
    series: str,
    regions: Sequence[str],
    model: str,
    rule: EscalationRule,
    tiers: RiskTiers,
    horizon: int,
    n_draws: int,
    seed: int,
    options: dict[str, Any] | None = None,
    features: FeatureConfig | None = None,
) -> SeriesForecast | None:
    """Forecast ``series`` for the scoped ``regions``, each from its own origin.

    Returns:
        The combined forecast, or None when no scoped region has data for the series.
    """
    origins = region_origins(panel, series, regions)
    if not origins:
        logger.info("no scoped region has %s data: not forecast", series)
        return None
    frames, risks, notes, thresholds = [], [], {}, {}
    results: dict[pd.Period, ForecastResult] = {}
    models: dict[pd.Period, Any] = {}
    for origin in sorted(set(origins.values())):
        mine = sorted(r for r, o in origins.items() if o == origin)
        # Every scoped region with data up to this origin: the same set whatever later
        # months other regions gained, so this fit and its random stream do not move.
        cut = panel[panel["month"] <= origin]
        known = set(cut.loc[(cut["series"] == series) & cut["value"].notna(), "region"])
        task_regions = sorted(set(regions) & {str(r) for r in known})
        seen: list[Any] = []
        result = forecast_from_panel(
            panel,
            registry,
            model=model,
            origin=origin,
            horizon=horizon,
            series=series,
            n_draws=n_draws,
            seed=seed,
            options=options,
            regions=task_regions,
            rule=rule,
            factory=_capturing_factory(seen),
            features=features,
        )
        results[origin], models[origin] = result, (seen[0] if seen else None)
        frames.append(result.frame[result.frame["region"].isin(mine)])
        table = risk_table(result.draws, result.thresholds, tiers)
        risks.append(table[table["region"].isin(mine)])
        notes.update({r: n for r, n in result.notes.items() if r in mine})
        thresholds.update(
            {r: float(t) for r, t in zip(result.draws.regions, result.thresholds, strict=True)}
        )
        logger.info("%s from %s: %d region(s)", series, format_month(origin), len(mine))
    newest = results[max(results)]
    risk = pd.concat(risks, ignore_index=True).sort_values(
        ["p_any_3", "region"], ascending=[False, True], ignore_index=True
    )
    return SeriesForecast(
        series=series,
        model=model,
        draws=newest.draws,
        frame=pd.concat(frames, ignore_index=True),
        risk=risk,
        thresholds={r: thresholds[r] for r in origins},
        notes=notes,
        origins=origins,
        models=models,
        results=results,
        model_options=dict(options or {}),
    )


def origin_summary(origins: dict[str, pd.Period]) -> dict[str, Any]:
    """``{"origin": most common, "differs": {region: origin}}`` for pages and the API."""
    if not origins:
        return {"origin": None, "differs": {}}
    months = pd.Series(list(origins.values()))
    common = months.mode().max()
    return {
        "origin": format_month(common),
        "differs": {r: format_month(o) for r, o in sorted(origins.items()) if o != common},
    }
