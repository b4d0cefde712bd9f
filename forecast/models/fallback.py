"""The stand-in for a model whose fit broke: the ``poisson_mean`` benchmark, logged.

A module of its own so the shared helpers (:mod:`forecast.models._common`) need not import
a model: the baselines build on those helpers, and this builds on a baseline.
"""

from __future__ import annotations

import logging

import numpy as np

from forecast.base import ForecastTask
from forecast.models.baselines import PoissonMean

log = logging.getLogger("forecast.models")


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
