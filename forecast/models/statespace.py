"""``sarimax`` and ``ets``: per-region statsmodels state-space models on log1p counts.

Why log1p: conflict counts are heavy-tailed and multiplicative (a month of 200 deaths is
followed by 100-400 more often than by 190-210); on log1p scale a Gaussian state-space model
is a reasonable approximation and cannot extrapolate a negative level into a blow-up.

Draws: each region's fitted model is simulated from the end of its sample
(``simulate(anchor="end", repetitions=n_draws)``), which carries the uncertainty of the state
*and* of the future shocks; a simulated path ``z`` is back-transformed with ``expm1`` and
clipped at 0 (after the transform), and that value is used as the rate of a Poisson draw.
The Poisson step turns continuous levels into counts, so a level of 0.3 becomes a 0 most of
the time and a 1 sometimes, exactly as quiet regions behave; it adds little spread where
levels are large.

Fallbacks (per region, logged and written to ``Draws.notes``; the region gets
``poisson_mean`` draws): fewer than ``min_months`` observed months, a constant history
(all zeros: there is nothing to fit and the state-space likelihood is degenerate), a fit
that raises, does not converge, or simulates non-finite values.
"""

from __future__ import annotations

import logging
import warnings
from typing import Any, ClassVar, Self

import numpy as np
from threadpoolctl import threadpool_limits

from forecast.base import ForecastTask
from forecast.draws import Draws
from forecast.models._common import (
    check_request,
    history_matrix,
    make_draws,
)
from forecast.models.fallback import fallback_draws

log = logging.getLogger(__name__)


class FitFailed(RuntimeError):
    """One region's state-space fit failed; the message says why."""


class _PerRegionStateSpace:
    """Fit one statsmodels model per region on log1p counts; simulate on predict.

    Args:
        max_months: only the last ``max_months`` months are used (speed; old regimes fade).
        min_months: fewest observed months a region needs for its own fit.
    """

    name: ClassVar[str] = "_statespace"

    def __init__(self, max_months: int = 120, min_months: int = 24) -> None:
        if min_months < 3:
            raise ValueError(f"{self.name}: min_months must be ≥ 3, got {min_months}")
        self.max_months = int(max_months)
        self.min_months = int(min_months)
        self.task: ForecastTask | None = None
        self.results: dict[int, Any] = {}
        self.failures: dict[int, str] = {}

    def _fit_one(self, z: np.ndarray) -> Any:
        """Fit the model to one region's log1p series ``z`` (no leading NaN)."""
        raise NotImplementedError

    def _simulate(self, result: Any, horizon: int, n_draws: int, seed: int) -> np.ndarray:
        """``(horizon, n_draws)`` simulated log1p values from the end of the sample."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sim = result.simulate(
                nsimulations=horizon,
                anchor="end",
                repetitions=n_draws,
                rng=np.random.default_rng(seed),
            )
        return np.asarray(sim, dtype=np.float64).reshape(horizon, n_draws)

    def fit(self, task: ForecastTask) -> Self:
        """Fit every region with enough non-constant history; note the others."""
        self.task, self.results, self.failures = task, {}, {}
        history = history_matrix(task, max_months=self.max_months)
        with threadpool_limits(limits=1):  # tiny per-region problems: no BLAS threads
            self._fit_all(history)
        return self

    def _fit_all(self, history: np.ndarray) -> None:
        for index in range(history.shape[1]):
            series = history[:, index]
            observed = np.flatnonzero(~np.isnan(series))
            if len(observed) < self.min_months:
                self.failures[index] = (
                    f"only {len(observed)} observed month(s) (< {self.min_months})"
                )
                continue
            series = series[observed[0] :]
            finite = series[~np.isnan(series)]
            if np.ptp(finite) == 0:
                self.failures[index] = f"constant history ({finite[0]:g} every month)"
                continue
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    self.results[index] = self._fit_one(np.log1p(series))
            except FitFailed as exc:
                self.failures[index] = str(exc)
            except (ValueError, np.linalg.LinAlgError, FloatingPointError) as exc:
                self.failures[index] = f"fit raised {type(exc).__name__}: {exc}"

    def predict(self, horizon: int, n_draws: int, rng: np.random.Generator) -> Draws:
        """Simulated, back-transformed, Poisson-drawn counts; fallbacks per region."""
        check_request(self.name, self.task is not None, horizon, n_draws)
        task = self.task
        assert task is not None
        values = np.zeros((len(task.regions), horizon, n_draws), dtype=np.float32)
        failures = dict(self.failures)
        seeds = rng.integers(0, 2**32 - 1, size=len(task.regions))
        for index, result in self.results.items():
            try:
                z = self._simulate(result, horizon, n_draws, int(seeds[index]))
            except (ValueError, np.linalg.LinAlgError) as exc:
                failures[index] = f"simulation raised {type(exc).__name__}: {exc}"
                continue
            if not np.all(np.isfinite(z)):
                failures[index] = "simulation produced non-finite values"
                continue
            level = np.clip(np.expm1(np.minimum(z, 20.0)), 0.0, None)
            values[index] = rng.poisson(level).astype(np.float32)
        notes: dict[str, str] = {}
        if failures:
            order = sorted(failures)
            regions = [task.regions[i] for i in order]
            reason = f"{len(order)} region(s) not fitted"
            values[order] = fallback_draws(self.name, task, reason, horizon, n_draws, rng, regions)
            for i in order:
                notes[task.regions[i]] = f"{self.name}: {failures[i]}; fell back to poisson_mean"
        return make_draws(self.name, task, values, notes)


class Sarimax(_PerRegionStateSpace):
    """SARIMAX(p, d, q) with a constant on log1p counts, per region.

    The default AR(1) + constant is mean-reverting: forecasts drift from the last month
    back toward the region's long-run level, and the predictive spread grows to the
    unconditional variance — the behaviour conflict series show and a safe default for
    36-month horizons (an integrated model's spread would grow without bound).

    Args:
        order: the (p, d, q) order.
        max_months, min_months: see the base class.
    """

    name: ClassVar[str] = "sarimax"

    def __init__(
        self, order: tuple[int, int, int] = (1, 0, 0), max_months: int = 120, min_months: int = 24
    ) -> None:
        super().__init__(max_months=max_months, min_months=min_months)
        self.order = tuple(int(x) for x in order)

    def _fit_one(self, z: np.ndarray) -> Any:
        from statsmodels.tsa.statespace.sarimax import SARIMAX

        trend = "c" if self.order[1] == 0 else "n"
        model = SARIMAX(z, order=self.order, trend=trend)
        result = model.fit(disp=False, maxiter=100)
        if not result.mle_retvals.get("converged", True):
            raise FitFailed("SARIMAX maximum likelihood did not converge")
        return result


class Ets(_PerRegionStateSpace):
    """ETS(A, N, N) — simple exponential smoothing with additive errors — on log1p counts.

    The level adapts to regime changes faster than an AR(1) mean (a region that turned
    violent stays violent in the forecast), and the predictive spread grows with the
    horizon. Gaps inside the history are filled by linear interpolation on log1p scale
    (ETS cannot skip missing months).

    Args:
        damped_trend: add a damped additive trend (``ETS(A, Ad, N)``); off by default because
            trends in conflict counts rarely persist.
        max_months, min_months: see the base class.
    """

    name: ClassVar[str] = "ets"

    def __init__(
        self, damped_trend: bool = False, max_months: int = 120, min_months: int = 24
    ) -> None:
        super().__init__(max_months=max_months, min_months=min_months)
        self.damped_trend = bool(damped_trend)

    def _fit_one(self, z: np.ndarray) -> Any:
        from statsmodels.tsa.exponential_smoothing.ets import ETSModel

        if np.isnan(z).any():
            known = np.flatnonzero(~np.isnan(z))
            z = np.interp(np.arange(len(z)), known, z[known])
        trend = "add" if self.damped_trend else None
        model = ETSModel(z, error="add", trend=trend, damped_trend=self.damped_trend)
        result = model.fit(disp=False, maxiter=200)
        if not result.mle_retvals.get("converged", True):
            raise FitFailed("ETS maximum likelihood did not converge")
        return result
