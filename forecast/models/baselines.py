"""The benchmarks every forecast must beat, vectorised over all regions at once.

These are the reference models of the VIEWS prediction challenge: ``zero``, ``no_change``,
``conflictology`` (draws from the region's own last 12 months, the one the challenge found
hardest to beat) and ``poisson_mean`` (a count distribution around the recent mean). Each
works on the whole ``(month, region)`` history matrix with numpy — no Python loop per
region — so ten thousand grid cells cost about what ten regions cost.
"""

from __future__ import annotations

from typing import ClassVar, Self

import numpy as np

from forecast.base import ForecastTask
from forecast.draws import Draws
from forecast.models._common import (
    check_request,
    history_matrix,
    make_draws,
    moment_dispersion,
    negbin_draws,
    note_empty_regions,
    poisson_draws,
    recent_window,
    region_blocks,
)


class _Benchmark:
    """Common fit: keep the task and its recent history matrix."""

    name: ClassVar[str] = "_benchmark"
    keep_months: ClassVar[int] = 36

    def __init__(self) -> None:
        self.task: ForecastTask | None = None
        self.history: np.ndarray = np.empty((0, 0))

    def fit(self, task: ForecastTask) -> Self:
        """Store the last months of the target (nothing is estimated beyond moments)."""
        self.task = task
        self.history = history_matrix(task, max_months=self.keep_months)
        return self

    def _task(self, horizon: int, n_draws: int) -> ForecastTask:
        check_request(self.name, self.task is not None, horizon, n_draws)
        assert self.task is not None
        return self.task


class Zero(_Benchmark):
    """Always zero: the floor any useful model must clear (most region-months are zero)."""

    name: ClassVar[str] = "zero"

    def predict(self, horizon: int, n_draws: int, rng: np.random.Generator) -> Draws:
        """All-zero draws ``(region, horizon, draw)``."""
        task = self._task(horizon, n_draws)
        values = np.zeros((len(task.regions), horizon, n_draws), dtype=np.float32)
        return make_draws(self.name, task, values)


def last_observed(history: np.ndarray) -> np.ndarray:
    """The last non-missing value of every column (0 where a column is all NaN)."""
    valid = ~np.isnan(history)
    last_index = history.shape[0] - 1 - np.argmax(valid[::-1], axis=0)
    values = history[last_index, np.arange(history.shape[1])]
    return np.where(valid.any(axis=0), values, 0.0)


class NoChange(_Benchmark):
    """Persistence: Poisson draws around the last observed month, for every horizon."""

    name: ClassVar[str] = "no_change"

    def predict(self, horizon: int, n_draws: int, rng: np.random.Generator) -> Draws:
        """Poisson(last value) draws, identical in law for every horizon."""
        task = self._task(horizon, n_draws)
        last = last_observed(self.history)
        mean = np.broadcast_to(last[:, None], (len(task.regions), horizon))
        values = poisson_draws(mean, n_draws, rng)
        return make_draws(
            self.name, task, values, note_empty_regions(self.history, task.regions, self.name)
        )


class Conflictology(_Benchmark):
    """Draws resampled from the region's own last ``window`` observed months.

    The VIEWS prediction challenge's hardest benchmark: it is calibrated by construction
    for regions whose recent past resembles their near future, which is most of them.
    Months missing inside the window are skipped; a region with a single observed month
    repeats it; a region with none gets zeros (noted).

    Args:
        window: months of history resampled (12 = the VIEWS definition).
    """

    name: ClassVar[str] = "conflictology"

    def __init__(self, window: int = 12) -> None:
        super().__init__()
        if window < 1:
            raise ValueError(f"conflictology window must be ≥ 1, got {window}")
        self.window = int(window)

    def predict(self, horizon: int, n_draws: int, rng: np.random.Generator) -> Draws:
        """Resample the last ``window`` observed values, independently per draw and horizon."""
        task = self._task(horizon, n_draws)
        recent = recent_window(self.history, self.window)
        ordered = np.sort(recent, axis=0)  # NaN sort last: valid values first
        counts = np.sum(~np.isnan(recent), axis=0)
        values = np.empty((len(task.regions), horizon, n_draws), dtype=np.float32)
        for block in region_blocks(len(task.regions), horizon * n_draws):
            # blocks in order draw the same stream as one (region, horizon, draw) call
            n_block = len(range(*block.indices(len(task.regions))))
            picks = rng.random((n_block, horizon, n_draws))
            index = np.floor(picks * np.maximum(counts[block], 1)[:, None, None]).astype(np.int64)
            region_index = np.arange(len(task.regions))[block][:, None, None]
            chosen = ordered[index, region_index]
            values[block] = np.where(counts[block][:, None, None] > 0, chosen, 0.0)
        return make_draws(
            self.name, task, values, note_empty_regions(recent, task.regions, self.name)
        )


class PoissonMean(_Benchmark):
    """Negative binomial around the recent mean, dispersion by the method of moments.

    For each region: ``mean`` and ``var`` of the last ``window`` observed months; NB2
    dispersion ``alpha = (var - mean) / mean²``, or plain Poisson when the region is
    underdispersed (``alpha ≤ 0``). This is the field's ``poisson_mean`` benchmark made
    honest about overdispersion: conflict counts are bursty and a pure Poisson is far too
    confident.

    Args:
        window: months of history used for the moments.
        alpha_floor: smallest dispersion (0 keeps the Poisson case for quiet regions).
    """

    name: ClassVar[str] = "poisson_mean"

    def __init__(self, window: int = 12, alpha_floor: float = 0.0) -> None:
        super().__init__()
        if window < 1:
            raise ValueError(f"poisson_mean window must be ≥ 1, got {window}")
        self.window = int(window)
        self.alpha_floor = float(alpha_floor)

    def predict(self, horizon: int, n_draws: int, rng: np.random.Generator) -> Draws:
        """NB2 draws around the recent mean, the same law for every horizon."""
        task = self._task(horizon, n_draws)
        recent = recent_window(self.history, self.window)
        mean, alpha = moment_dispersion(recent, floor=self.alpha_floor)
        shape = (len(task.regions), horizon)
        values = negbin_draws(
            np.broadcast_to(mean[:, None], shape),
            np.broadcast_to(alpha[:, None], shape),
            n_draws,
            rng,
        )
        return make_draws(
            self.name, task, values, note_empty_regions(recent, task.regions, self.name)
        )
