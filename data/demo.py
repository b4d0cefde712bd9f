"""A SYNTHETIC Mali panel so everything runs with no download. It is not real data.

Every number is drawn from a seeded random process written here; no data file is read. The
process is built to have the shapes real conflict counts have, so models, features, alerts
and the bulletin meet realistic input:

* ``fatalities`` per admin1 region (ML01…ML11): negative-binomial counts (heavy tails) around
  a regional intensity that is the national level × a regional share; the share moves over
  time as the real conflict did (north 2012-2014, centre from 2015, Ménaka from 2017).
  Intensities carry an AR(1) log-shock, *contagion* (a region's shock and burst chance rise
  with its neighbours' — neighbours from :func:`data.regions.load_default_registry`),
  *bursts* (sudden multi-month spikes that decay) and *quiet spells* (a two-state regime
  that can switch a region almost off for months).
* ``aid_diversion`` per admin1: Poisson incidents whose rate rises with this and last
  month's local violence.
* ``peacekeeper_casualties`` and ``..._malicious`` for the country (MLI): bursty counts
  during MINUSMA (2013-07 … 2023-12) and zero outside it; about 56 % are malicious acts.

Calibration (rough, to the public yearly figures listed in ``../shared/data/README.md``
and public ACLED/UN summaries; only the yearly *expected* totals are pinned, realised totals
vary with the noise): national fatalities about 500-900 a year in 2012-2013, ~1,700 in
2018, ~2,800 in 2020; MINUSMA deaths ~30-40 a year. The source of every row is
``synthetic-demo`` so every output can say the data is synthetic.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from data.regions import load_default_registry
from data.store import SYNTHETIC_SOURCE

START, END = pd.Period("2012-01", "M"), pd.Period("2024-06", "M")
COUNTRY = "MLI"
REGIONS = tuple(f"ML{i:02d}" for i in range(1, 12))
MINUSMA = (pd.Period("2013-07", "M"), pd.Period("2023-12", "M"))
MALICIOUS_SHARE = 0.56  # 174 of 311 MINUSMA deaths were malicious acts

# Expected national fatalities per year (the anchors the demo is scaled to).
NATIONAL_FATALITIES = {
    2012: 600, 2013: 850, 2014: 420, 2015: 520, 2016: 480, 2017: 950, 2018: 1700,
    2019: 1900, 2020: 2800, 2021: 1900, 2022: 3200, 2023: 2700, 2024: 2400,
}  # fmt: skip
# Expected MINUSMA deaths per year (2013: Jul-Dec only; 2023: the withdrawal year).
PEACEKEEPER_DEATHS = {
    2013: 6, 2014: 39, 2015: 33, 2016: 39, 2017: 40, 2018: 30, 2019: 31, 2020: 22,
    2021: 37, 2022: 30, 2023: 13,
}  # fmt: skip
# Relative regional shares of violence (ML01 … ML11) at the middle of each era.
ERA_SHARES = {
    2013.0: (1, 2, 0.5, 2, 12, 22, 30, 25, 2, 3, 1.5),
    2016.0: (2, 3, 2, 8, 30, 15, 18, 12, 2, 6, 2),
    2019.0: (1, 2, 2, 12, 45, 8, 12, 4, 1, 12, 1),
    2023.0: (2, 4, 2, 14, 35, 10, 12, 3, 1, 16, 1),
}
DISPERSION = 0.8  # negative-binomial shape: small = heavy tails
BURST_CHANCE = 0.02  # per region-month, before contagion
BURST_CONTAGION = 0.06  # extra chance per neighbour in a burst
SPILLOVER = 0.25  # share of the neighbours' mean burst that spills over each month
QUIET_ENTER, QUIET_LEAVE = 0.03, 0.12  # monthly regime-switch probabilities


def _shares(months: pd.PeriodIndex) -> np.ndarray:
    """Regional shares (month × region), linear between era midpoints, rows summing to 1."""
    t = months.year + (months.month - 0.5) / 12
    anchors = np.array(list(ERA_SHARES))
    table = np.array(list(ERA_SHARES.values()), dtype=float)
    shares = np.column_stack([np.interp(t, anchors, table[:, r]) for r in range(len(REGIONS))])
    return shares / shares.sum(axis=1, keepdims=True)


def _neighbour_matrix() -> np.ndarray:
    """Row-normalised adjacency of Mali's admin1 regions from the default registry."""
    registry = load_default_registry()
    index = {rid: i for i, rid in enumerate(REGIONS)}
    adjacency = np.zeros((len(REGIONS), len(REGIONS)))
    for rid in REGIONS:
        for other in registry.neighbours(rid):
            if other in index:
                adjacency[index[rid], index[other]] = 1.0
    return adjacency


def _latent_intensity(rng: np.random.Generator, n_months: int) -> np.ndarray:
    """Multiplier (month × region) from AR(1) shocks, bursts and quiet spells with contagion."""
    adjacency = _neighbour_matrix()
    weights = adjacency / np.maximum(adjacency.sum(axis=1, keepdims=True), 1)
    n = len(REGIONS)
    shock, burst = np.zeros(n), np.zeros(n)
    quiet = np.zeros(n, dtype=bool)
    out = np.empty((n_months, n))
    for t in range(n_months):
        bursting = (burst > 0.5).astype(float)
        chance = BURST_CHANCE + BURST_CONTAGION * (adjacency @ bursting)
        starts = rng.random(n) < chance
        spill = SPILLOVER * (weights @ burst)
        burst = 0.65 * burst + spill + starts * rng.gamma(2.0, 1.5, n)
        shock = 0.55 * shock + 0.35 * (weights @ shock) + rng.normal(0.0, 0.4, n)
        switch = rng.random(n)
        quiet = np.where(quiet, switch > QUIET_LEAVE, switch < QUIET_ENTER)
        out[t] = np.exp(shock) * (1.0 + burst) * np.where(quiet, 0.05, 1.0)
    return out


def _draw_negbin(rng: np.random.Generator, mean: np.ndarray, shape: float) -> np.ndarray:
    mean = np.maximum(mean, 1e-9)
    return rng.negative_binomial(shape, shape / (shape + mean)).astype(float)


def _fatalities(rng: np.random.Generator, months: pd.PeriodIndex) -> np.ndarray:
    """Counts (month × region) whose expected yearly national totals hit the anchors."""
    intensity = _shares(months) * _latent_intensity(rng, len(months))
    years = np.asarray(months.year)
    for year, target in NATIONAL_FATALITIES.items():
        rows = years == year
        if rows.any():
            months_in_year = rows.sum()  # 2024 is half a year: scale the annual anchor
            intensity[rows] *= target * months_in_year / 12 / intensity[rows].sum()
    return _draw_negbin(rng, intensity, DISPERSION)


def _aid_diversion(rng: np.random.Generator, fatalities: np.ndarray) -> np.ndarray:
    """Incidents rising with this and last month's local violence."""
    previous = np.vstack([fatalities[:1], fatalities[:-1]])
    rate = 0.04 + 0.012 * fatalities + 0.006 * previous
    return rng.poisson(rate).astype(float)


def _peacekeepers(
    rng: np.random.Generator, months: pd.PeriodIndex, national: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """MINUSMA deaths (all causes, malicious) per month; zero outside the mission."""
    active = np.asarray((months >= MINUSMA[0]) & (months <= MINUSMA[1]))
    years = np.asarray(months.year)
    violence = national / max(national.mean(), 1e-9)
    mean = np.zeros(len(months))
    for year, target in PEACEKEEPER_DEATHS.items():
        rows = (years == year) & active
        if rows.any():
            weight = 0.7 + 0.3 * violence[rows]
            mean[rows] = target * weight / weight.sum()
    deaths = np.where(active, _draw_negbin(rng, mean, 1.0), 0.0)
    malicious = rng.binomial(deaths.astype(int), MALICIOUS_SHARE).astype(float)
    return deaths, malicious


def demo_panel(seed: int = 0) -> pd.DataFrame:
    """The SYNTHETIC Mali demo panel (source ``synthetic-demo``), identical for a seed.

    Returns:
        Panel frame: region, month (``period[M]``), series, value, source; 2012-01 …
        2024-06; fatalities and aid_diversion for ML01…ML11, peacekeeper_casualties and
        peacekeeper_casualties_malicious for MLI; every month present (zeros included).
    """
    rng = np.random.default_rng(seed)
    months = pd.period_range(START, END, freq="M")
    fatalities = _fatalities(rng, months)
    aid = _aid_diversion(rng, fatalities)
    deaths, malicious = _peacekeepers(rng, months, fatalities.sum(axis=1))
    parts = []
    for name, matrix in (("fatalities", fatalities), ("aid_diversion", aid)):
        for r, region in enumerate(REGIONS):
            parts.append(_long(region, months, name, matrix[:, r]))
    parts.append(_long(COUNTRY, months, "peacekeeper_casualties", deaths))
    parts.append(_long(COUNTRY, months, "peacekeeper_casualties_malicious", malicious))
    panel = pd.concat(parts, ignore_index=True)
    return panel.sort_values(["region", "series", "month"], ignore_index=True)


def _long(region: str, months: pd.PeriodIndex, series: str, values: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "region": region,
            "month": months,
            "series": series,
            "value": values.astype("float64"),
            "source": SYNTHETIC_SOURCE,
        }
    )
