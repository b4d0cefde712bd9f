"""Escalation risk: when does a region "escalate", how likely is it, and which tier is that.

Rule (section ``[escalation]``): region r escalates in month t+h when its series reaches
``max(floor, multiplier × mean of the window months up to and including the origin t)``.
The floor keeps a quiet region (mean 0.3 deaths a month) from "escalating" on two deaths.

Probabilities derive from the draws, so they agree with every quantile shown next to them:
``p_escalation[h] = share of draws ≥ threshold`` and ``p_any_3 = share of draws whose
path reaches the threshold in any of months 1..3``. The second needs *joint* draws: draw k
of month 1, 2 and 3 must be one simulated path. Models that simulate paths (recursive
ones) give that; benchmark models that sample each month independently (``conflictology``,
``poisson_mean``) make ``p_any_3`` the probability under independence across months, which
overstates it when months are positively correlated — read ``p_any_3`` of those models as an
upper-side estimate.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from pydantic import Field, model_validator

from forecast.draws import Draws
from riskcast.config import StrictSection
from riskcast.months import format_month

TIERS: tuple[str, ...] = ("low", "elevated", "high", "critical")


class EscalationRule(StrictSection):
    """The ``[escalation]`` section.

    Attributes:
        floor: the least count that can be an escalation (deaths a month).
        multiplier: how far above its recent mean a region must rise.
        window: months averaged, ending at (and including) the origin.
        series: the series the rule watches.
    """

    floor: float = Field(default=25.0, ge=0)
    multiplier: float = Field(default=1.5, gt=0)
    window: int = Field(default=12, ge=1, le=120)
    series: str = "fatalities"


class RiskTiers(StrictSection):
    """The ``[risk]`` section: cut points on the probability of escalation.

    ``low < elevated ≤ p < high ≤ p < critical``: with the defaults a region is *low* below
    0.2, *elevated* from 0.2, *high* from 0.4 and *critical* from 0.7. The tier is read from
    ``p_any_3`` (escalation in any of the next three months), the horizon analysts act on.

    Attributes:
        elevated: least probability of the ``elevated`` tier.
        high: least probability of the ``high`` tier.
        critical: least probability of the ``critical`` tier.
    """

    elevated: float = Field(default=0.2, gt=0, lt=1)
    high: float = Field(default=0.4, gt=0, lt=1)
    critical: float = Field(default=0.7, gt=0, lt=1)

    @model_validator(mode="after")
    def _ascending(self) -> RiskTiers:
        if not self.elevated < self.high < self.critical:
            raise ValueError(
                f"cut points must rise: elevated {self.elevated} < high {self.high} < "
                f"critical {self.critical}"
            )
        return self

    def tier(self, p: float) -> str:
        """The tier of one probability."""
        return str(self.tiers(np.asarray([p]))[0])

    def tiers(self, p: np.ndarray) -> np.ndarray:
        """The tier of every probability of an array (same shape, strings)."""
        cuts = np.asarray([self.elevated, self.high, self.critical])
        return np.asarray(TIERS, dtype=object)[np.searchsorted(cuts, np.asarray(p), "right")]


def tier(p: float, tiers: RiskTiers | None = None) -> str:
    """The tier of a probability under ``tiers`` (default cut points when None)."""
    return (tiers or RiskTiers()).tier(p)


def threshold_matrix(wide: pd.DataFrame, rule: EscalationRule) -> pd.DataFrame:
    """Threshold in force at every month of a wide series (index months, columns regions).

    Row t is ``max(floor, multiplier × mean of months t-window+1 … t)``. Months without an
    observation are left out of the mean (a region that starts late is judged on the months
    it has); a region with no observation in the window gets the floor.
    """
    mean = wide.rolling(rule.window, min_periods=1).mean().fillna(0.0)
    return np.maximum(rule.floor, rule.multiplier * mean)


def _wide(panel: pd.DataFrame, series: str, regions: Sequence[str], until: pd.Period):
    rows = panel[(panel["series"] == series) & (panel["month"] <= until)]
    wide = rows.pivot_table(index="month", columns="region", values="value", aggfunc="sum")
    start = min(wide.index.min(), until) if len(wide) else until
    return wide.reindex(index=pd.period_range(start, until, freq="M"), columns=list(regions))


def escalation_thresholds(
    panel_cut: pd.DataFrame,
    regions: Sequence[str],
    rule: EscalationRule | None = None,
    *,
    origin: pd.Period | None = None,
) -> np.ndarray:
    """Escalation threshold per region at the origin, ``(len(regions),)`` float64.

    Args:
        panel_cut: long panel; only months ≤ ``origin`` are read.
        regions: region ids, in the order of the result.
        rule: the escalation rule (defaults when None).
        origin: the forecast origin; default the last month of ``rule.series`` in the panel.
    """
    rule = rule or EscalationRule()
    if origin is None:
        origin = panel_cut.loc[panel_cut["series"] == rule.series, "month"].max()
    wide = _wide(panel_cut, rule.series, regions, origin)
    return threshold_matrix(wide, rule).iloc[-1].to_numpy(dtype=np.float64)


def climatological_base_rate(
    panel_cut: pd.DataFrame,
    regions: Sequence[str],
    horizon: int,
    rule: EscalationRule | None = None,
    *,
    origin: pd.Period,
) -> np.ndarray:
    """How often escalations happened in the training data, per horizon ``(horizon,)``.

    For every past month t' and horizon h with ``t' + h ≤ origin``, the event is
    "value at t'+h ≥ threshold in force at t'" — the same rule forecasts are judged by — and
    the rate pools all regions (a per-region rate from a few years is too noisy to be a
    fair reference). Only months ≤ origin are read, so the reference never sees the future.
    NaN when no pair exists (a single month of history).
    """
    rule = rule or EscalationRule()
    wide = _wide(panel_cut, rule.series, regions, origin)
    values = wide.to_numpy(dtype=np.float64)
    limits = threshold_matrix(wide, rule).to_numpy(dtype=np.float64)
    return _base_rates(values, limits, horizon)


def _base_rates(values: np.ndarray, limits: np.ndarray, horizon: int) -> np.ndarray:
    """Pooled share of ``value[t + h] ≥ limit[t]`` per horizon over ``(month, region)``."""
    rates = np.full(horizon, np.nan)
    for h in range(1, horizon + 1):
        if len(values) <= h:
            continue
        later, limit = values[h:], limits[:-h]
        seen = ~np.isnan(later)
        if seen.any():
            rates[h - 1] = float((later[seen] >= limit[seen]).mean())
    return rates


def escalation_references(
    panel: pd.DataFrame,
    regions_at: dict[pd.Period, Sequence[str]],
    horizon: int,
    rule: EscalationRule,
) -> dict[pd.Period, tuple[np.ndarray, np.ndarray]]:
    """Thresholds and base rates at many origins from one pivot of the panel.

    For every origin, ``(escalation_thresholds(cut, regions, rule, origin=origin),
    climatological_base_rate(cut, regions, horizon, rule, origin=origin))`` where ``cut``
    is the panel up to the origin — the same numbers (a rolling mean at a month reads only
    the months up to it), computed from one pivot instead of two per origin and model,
    which is what a backtest of ten thousand regions spent minutes on.

    Args:
        panel: long panel (months after the last origin are not read).
        regions_at: origin → region ids, in the order of the results.
        horizon: months ahead of the base rates.
        rule: the escalation rule.
    """
    if not regions_at:
        return {}
    every_region = list(dict.fromkeys(r for regions in regions_at.values() for r in regions))
    wide_all = _wide(panel, rule.series, every_region, max(regions_at))
    values_all = wide_all.to_numpy(dtype=np.float64)
    limits_all = threshold_matrix(wide_all, rule).to_numpy(dtype=np.float64)
    references = {}
    for origin, regions in regions_at.items():
        rows = wide_all.index <= origin  # ends at the origin: _wide spans every month
        columns = wide_all.columns.get_indexer(list(regions))
        values = values_all[rows][:, columns]
        limits = limits_all[rows][:, columns]
        references[origin] = (limits[-1].copy(), _base_rates(values, limits, horizon))
    return references


def prob_any(draws: Draws, thresholds: np.ndarray, months: int = 3) -> np.ndarray:
    """P(the path reaches the threshold in any of the first ``months`` months), per region.

    Computed per draw (path) then averaged, so it uses the joint draws; see the module note
    on models whose draws are independent across months. With a horizon shorter than
    ``months`` the available months are used.
    """
    span = min(months, draws.horizon)
    level = np.asarray(thresholds, dtype=np.float32)[:, None, None]
    return (draws.values[:, :span, :] >= level).any(axis=1).mean(axis=1)


def risk_table(
    draws: Draws, thresholds: np.ndarray, tiers: RiskTiers | None = None
) -> pd.DataFrame:
    """Escalation risk per region: the analyst's view of one forecast.

    Returns:
        One row per region with ``region, series, origin, model, threshold``, ``p_h1`` …
        ``p_h{H}`` (probability of escalation in month origin+h), ``p_any_3`` and ``tier``
        (read from ``p_any_3``), sorted by ``p_any_3`` descending.
    """
    tiers = tiers or RiskTiers()
    thresholds = np.asarray(thresholds, dtype=np.float64)
    p = draws.prob_at_least(thresholds)
    p_any_3 = prob_any(draws, thresholds, 3)
    frame = pd.DataFrame(
        {
            "region": list(draws.regions),
            "series": draws.series,
            "origin": format_month(draws.origin),
            "model": draws.model,
            "threshold": thresholds,
        }
    )
    for h in range(1, draws.horizon + 1):
        frame[f"p_h{h}"] = p[:, h - 1]
    frame["p_any_3"] = p_any_3
    frame["tier"] = tiers.tiers(p_any_3)
    return frame.sort_values(["p_any_3", "region"], ascending=[False, True], ignore_index=True)


def _systematic(pool: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """``k`` values spread evenly over the sorted ``pool`` (systematic resampling).

    Why not plain resampling with replacement: an even spread keeps the pool's shape (its
    quantiles) instead of adding resampling noise to it.
    """
    if k == 0:
        return np.empty(0, dtype=np.float32)
    ordered = np.sort(pool)
    positions = ((np.arange(k) + rng.random()) / k * len(ordered)).astype(np.int64)
    return ordered[np.minimum(positions, len(ordered) - 1)]


def _exceedance_slots(counts: list[int], union: int) -> list[np.ndarray]:
    """Draw indices of the exceedances of each month so that their union has ``union`` draws.

    The month with most exceedances takes indices ``0 … m-1``; each other month adds new
    indices after those covered until the union reaches ``union``, and puts the rest of its
    exceedances inside the covered ones (possible because it has no more than the first).
    """
    order = np.argsort(counts)[::-1]
    slots: list[np.ndarray] = [np.empty(0, np.int64)] * len(counts)
    covered = 0
    for position, month in enumerate(order):
        m = counts[month]
        if position == 0:
            slots[month] = np.arange(m)
            covered = m
            continue
        new = max(0, min(m, union - covered))
        slots[month] = np.concatenate([np.arange(covered, covered + new), np.arange(m - new)])
        covered += new
    return slots


def tilt_draws(
    values: np.ndarray,
    thresholds: np.ndarray,
    p_escalation: np.ndarray,
    rng: np.random.Generator,
    p_any: np.ndarray | None = None,
    months: int = 3,
) -> np.ndarray:
    """Reweight count draws so their exceedance shares equal given escalation probabilities.

    One story per forecast: a calibrated classifier says how likely escalation is; the
    draws are then resampled so that the share of draws at or above the threshold *is* that
    probability (an importance reweighting of the draws above and below the threshold,
    realised as an equally weighted resample so every downstream quantity — mean,
    quantiles, ``p_escalation``, ``p_any_3`` — is read from the same draws). Within each side
    of the threshold the draws keep their shape (systematic resampling of the sorted side).
    A side with no draw at all is filled plainly: above with ``ceil(threshold × (1 + e))``,
    ``e`` exponential with mean 0.25; below with ``floor(threshold × u)``, ``u`` uniform.

    With ``p_any`` the first ``months`` months are also arranged along the draw axis so
    that the share of paths crossing the threshold in any of them equals ``p_any``, clipped
    to what the monthly shares allow (between the largest and their sum); reordering draws
    within a month changes none of that month's statistics.

    Args:
        values: draws ``(region, horizon, draw)``, counts ≥ 0.
        thresholds: escalation threshold per region ``(region,)``.
        p_escalation: target P(value ≥ threshold) ``(region, horizon)``.
        rng: the random generator.
        p_any: target P(any of the first ``months`` months ≥ threshold) ``(region,)``.
        months: months covered by ``p_any``.

    Returns:
        float32 draws of the same shape.
    """
    n_regions, horizon, n_draws = values.shape
    out = np.empty_like(values, dtype=np.float32)
    targets = np.rint(np.clip(p_escalation, 0.0, 1.0) * n_draws).astype(np.int64)
    span = min(months, horizon)
    for r in range(n_regions):
        limit = np.float32(thresholds[r])
        sides = []
        for h in range(horizon):
            row = values[r, h]
            k = int(targets[r, h])
            above, below = row[row >= limit], row[row < limit]
            if k and not len(above):
                above = np.ceil(limit * (1.0 + rng.exponential(0.25, k))).astype(np.float32)
            if k < n_draws and not len(below):
                below = np.floor(limit * rng.random(n_draws - k)).astype(np.float32)
            sides.append(
                (rng.permutation(_systematic(above, k, rng)),
                 rng.permutation(_systematic(below, n_draws - k, rng)))
            )  # fmt: skip
        counts = [len(sides[h][0]) for h in range(span)]
        union = max(counts) if p_any is None else int(np.rint(p_any[r] * n_draws))
        union = int(np.clip(union, max(counts, default=0), min(n_draws, sum(counts))))
        slots = _exceedance_slots(counts, union) if p_any is not None else None
        for h, (high, low) in enumerate(sides):
            if slots is not None and h < span:
                mask = np.zeros(n_draws, dtype=bool)
                mask[slots[h]] = True
                out[r, h, mask] = high
                out[r, h, ~mask] = low
            else:
                out[r, h] = rng.permutation(np.concatenate([high, low]))
        out[r] = out[r][:, rng.permutation(n_draws)]  # one permutation keeps the paths
    return out
