"""Shared pieces of the model zoo: the history matrix, count samplers, checks and fallbacks.

Every model turns a :class:`~forecast.base.ForecastTask` into a dense ``(month, region)``
history matrix once, and draws counts with the same two samplers (Poisson and the
negative binomial as a gamma-Poisson mixture), so that dispersion means the same thing in
every model. Fallbacks go through :func:`fallback_draws`, which logs and writes the reason
into ``Draws.notes`` — a fallback is never silent.
"""

from __future__ import annotations

import logging

import numpy as np

from forecast.base import ForecastTask
from forecast.draws import Draws

log = logging.getLogger("forecast.models")

MAX_HORIZON = 36
"""The longest horizon any model accepts (months)."""


def check_request(model: str, fitted: bool, horizon: int, n_draws: int) -> None:
    """Raise a clear ValueError for a predict call that cannot be honoured.

    Why: a horizon of 0 or a predict before fit would otherwise fail deep inside numpy or
    statsmodels with an unhelpful message.
    """
    if not fitted:
        raise RuntimeError(f"{model}: call fit(task) before predict()")
    if not 1 <= int(horizon) <= MAX_HORIZON:
        raise ValueError(f"{model}: horizon must be between 1 and {MAX_HORIZON}, got {horizon}")
    if int(n_draws) < 1:
        raise ValueError(f"{model}: n_draws must be at least 1, got {n_draws}")


def history_matrix(task: ForecastTask, max_months: int | None = None) -> np.ndarray:
    """The task's target series as a float64 array ``(month, region)`` ending at the origin.

    Months before a region's first observation, and gaps, are NaN: a missing month is not
    a zero (the data layer decides what a zero is). Regions with no observation at all are
    a full NaN column.

    Args:
        task: the forecast task (panel cut at the origin).
        max_months: keep only the last ``max_months`` months (None = all).
    """
    wide = task.target_matrix()
    if len(wide) == 0:
        return np.full((1, len(task.regions)), np.nan)
    values = wide.to_numpy(dtype=np.float64, na_value=np.nan)
    if max_months is not None:
        values = values[-max_months:]
    return values


def recent_window(history: np.ndarray, window: int) -> np.ndarray:
    """The last ``window`` months of ``history`` (fewer when the history is shorter)."""
    return history[-window:]


def poisson_draws(mean: np.ndarray, n_draws: int, rng: np.random.Generator) -> np.ndarray:
    """Poisson counts around ``mean`` (any shape), with a trailing draw axis."""
    lam = np.broadcast_to(np.maximum(mean, 0.0)[..., None], (*np.shape(mean), n_draws))
    return rng.poisson(lam).astype(np.float32)


def negbin_draws(
    mean: np.ndarray, alpha: np.ndarray, n_draws: int, rng: np.random.Generator
) -> np.ndarray:
    """Negative-binomial (NB2: variance = mean + alpha·mean²) counts, trailing draw axis.

    Drawn as a gamma-Poisson mixture, which is exactly NB2 and stays vectorised when
    ``alpha`` differs by region; ``alpha == 0`` gives plain Poisson draws.

    Args:
        mean: expected counts, any shape (broadcast with ``alpha``).
        alpha: dispersion ≥ 0, broadcastable to ``mean``.
        n_draws: number of draws (the new last axis).
        rng: the random generator (the only source of randomness: reproducible).
    """
    mean = np.maximum(np.asarray(mean, dtype=np.float64), 0.0)
    alpha = np.maximum(np.broadcast_to(np.asarray(alpha, dtype=np.float64), mean.shape), 0.0)
    shape = (*mean.shape, n_draws)
    mu = np.broadcast_to(mean[..., None], shape)
    a = np.broadcast_to(alpha[..., None], shape)
    dispersed = a > 0
    safe_a = np.where(dispersed, a, 1.0)
    gamma = rng.gamma(1.0 / safe_a, 1.0) * safe_a * mu
    lam = np.where(dispersed, gamma, mu)
    return rng.poisson(lam).astype(np.float32)


def moment_dispersion(window: np.ndarray, floor: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Mean and NB2 dispersion per region by the method of moments, ignoring NaN.

    ``alpha = (var - mean) / mean²`` clipped at ``floor`` (0 = Poisson when the region is
    underdispersed). Regions with no data get mean 0, alpha ``floor``.

    Args:
        window: ``(month, region)`` recent history with NaN for missing months.
        floor: the smallest dispersion returned (a floor > 0 widens every forecast).

    Returns:
        ``(mean, alpha)``, each ``(region,)``.
    """
    counts = np.sum(~np.isnan(window), axis=0)
    safe = np.where(np.isnan(window), 0.0, window)
    n = np.maximum(counts, 1)
    mean = safe.sum(axis=0) / n
    sq = np.where(np.isnan(window), 0.0, (safe - mean) ** 2).sum(axis=0)
    var = sq / np.maximum(counts - 1, 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        alpha = np.where(mean > 0, (var - mean) / mean**2, 0.0)
    alpha = np.where(counts >= 2, alpha, 0.0)
    return mean, np.maximum(alpha, floor)


def make_draws(
    model: str, task: ForecastTask, values: np.ndarray, notes: dict[str, str] | None = None
) -> Draws:
    """Wrap a ``(region, horizon, draw)`` array as :class:`Draws` of ``task``."""
    return Draws(
        model=model,
        series=task.series,
        origin=task.origin,
        regions=tuple(task.regions),
        values=np.asarray(values, dtype=np.float32),
        notes=dict(notes or {}),
    )


def note_empty_regions(history: np.ndarray, regions: tuple[str, ...], model: str) -> dict[str, str]:
    """Notes for regions without a single observed month (forecast as zeros)."""
    empty = np.all(np.isnan(history), axis=0)
    notes = {}
    for region in np.asarray(regions, dtype=object)[empty]:
        notes[str(region)] = f"{model}: no observed month up to the origin; forecast zeros"
    if notes:
        log.warning("%s: %d region(s) without history forecast as zeros", model, len(notes))
    return notes


def fallback_draws(
    model: str,
    task: ForecastTask,
    reason: str,
    horizon: int,
    n_draws: int,
    rng: np.random.Generator,
    regions: list[str] | None = None,
) -> np.ndarray:
    """Draws of the ``poisson_mean`` benchmark for some regions, after logging why.

    Why poisson_mean: it needs nothing but the recent history, cannot fail to converge and
    is well calibrated, so it is the safe stand-in for any model whose fit broke.

    Args:
        model: the model that fell back (for the log line).
        task: the task being forecast.
        reason: what went wrong, for the log.
        horizon, n_draws, rng: as for ``predict``.
        regions: the regions that need the fallback (None = all task regions).

    Returns:
        ``(len(regions), horizon, n_draws)`` float32 counts.
    """
    from forecast.models.baselines import PoissonMean

    chosen = list(task.regions) if regions is None else list(regions)
    log.warning("%s fell back to poisson_mean for %d region(s): %s", model, len(chosen), reason)
    if not chosen:
        return np.zeros((0, horizon, n_draws), dtype=np.float32)
    sub = ForecastTask(
        panel=task.panel,
        origin=task.origin,
        series=task.series,
        regions=tuple(chosen),
        registry=task.registry,
        options={},
    )
    return PoissonMean().fit(sub).predict(horizon, n_draws, rng).values
