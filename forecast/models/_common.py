"""Shared pieces of the model zoo: the history matrix, count samplers, checks and fallbacks.

Every model turns a :class:`~forecast.base.ForecastTask` into a dense ``(month, region)``
history matrix once, and draws counts with the same two samplers (Poisson and the
negative binomial as a gamma-Poisson mixture), so that dispersion means the same thing in
every model. Fallbacks go through :func:`forecast.models.fallback.fallback_draws`, which
logs and writes the reason into ``Draws.notes`` — a fallback is never silent.
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


SAMPLE_BLOCK_ELEMENTS = 2_000_000
"""Draws sampled at once (≈ 16 MB per float64/int64 temporary). Samplers fill a
preallocated float32 ``(region, horizon, draw)`` array block by block of regions, so the
10,000-region refit never holds the whole cube in float64 or int64."""


def region_blocks(n_regions: int, per_region: int) -> list[slice]:
    """Consecutive slices of the region axis of about :data:`SAMPLE_BLOCK_ELEMENTS` values.

    Numpy's generators fill an array in C order, so drawing the blocks one after the other
    consumes the random stream exactly as one draw of the whole array would.
    """
    step = max(1, SAMPLE_BLOCK_ELEMENTS // max(1, per_region))
    return [slice(start, start + step) for start in range(0, n_regions, step)]


def poisson_draws(mean: np.ndarray, n_draws: int, rng: np.random.Generator) -> np.ndarray:
    """Poisson counts around ``mean`` (any shape), with a trailing draw axis (float32).

    The same values, and the same random stream, as ``rng.poisson`` of the whole
    broadcast array, drawn in blocks of the first axis.
    """
    mean = np.maximum(np.asarray(mean, dtype=np.float64), 0.0)
    out = np.empty((*mean.shape, n_draws), dtype=np.float32)
    if mean.ndim == 0:
        out[...] = rng.poisson(np.broadcast_to(mean, (n_draws,)))
        return out
    for block in region_blocks(mean.shape[0], out[0].size):
        part = mean[block]
        out[block] = rng.poisson(np.broadcast_to(part[..., None], (*part.shape, n_draws)))
    return out


def negbin_draws(
    mean: np.ndarray, alpha: np.ndarray, n_draws: int, rng: np.random.Generator
) -> np.ndarray:
    """Negative-binomial (NB2: variance = mean + alpha·mean²) counts, trailing draw axis.

    Drawn as a gamma-Poisson mixture, which is exactly NB2 and stays vectorised when
    ``alpha`` differs by region; ``alpha == 0`` gives plain Poisson draws.

    The random stream is the one of drawing every gamma variate of the whole array first,
    then every Poisson count (as this function always has, so seeded forecasts do not
    change), but in bounded memory: a first pass draws the gammas block by block and keeps
    only the generator state at the start of each block; the second pass replays each
    block's gammas from its state and draws its Poisson counts from the stream position
    after all gammas. The gammas are drawn twice; no full-size float64 array is held.

    Args:
        mean: expected counts, any shape (broadcast with ``alpha``).
        alpha: dispersion ≥ 0, broadcastable to ``mean``.
        n_draws: number of draws (the new last axis).
        rng: the random generator (the only source of randomness: reproducible); it ends
            in the same state as after one whole-array draw.

    Returns:
        float32 counts of shape ``mean.shape + (n_draws,)``.
    """
    mean = np.maximum(np.asarray(mean, dtype=np.float64), 0.0)
    alpha = np.maximum(np.broadcast_to(np.asarray(alpha, dtype=np.float64), mean.shape), 0.0)
    out = np.empty((*mean.shape, n_draws), dtype=np.float32)
    if mean.ndim == 0:
        mean, alpha, out_view = mean[None], alpha[None], out[None]
    else:
        out_view = out
    blocks = region_blocks(mean.shape[0], out_view[0].size)

    def gamma_shape(block: slice) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        a = np.broadcast_to(alpha[block][..., None], (*alpha[block].shape, n_draws))
        dispersed = a > 0
        safe_a = np.where(dispersed, a, 1.0)
        return dispersed, safe_a, 1.0 / safe_a

    starts = []
    for block in blocks:  # pass 1: advance the stream past every gamma, note block starts
        starts.append(rng.bit_generator.state)
        rng.gamma(gamma_shape(block)[2], 1.0)
    replay = np.random.Generator(type(rng.bit_generator)())
    for block, state in zip(blocks, starts, strict=True):
        replay.bit_generator.state = state
        dispersed, safe_a, shape = gamma_shape(block)
        mu = np.broadcast_to(mean[block][..., None], dispersed.shape)
        gamma = replay.gamma(shape, 1.0) * safe_a * mu
        lam = np.where(dispersed, gamma, mu)
        out_view[block] = rng.poisson(lam)
    return out


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
