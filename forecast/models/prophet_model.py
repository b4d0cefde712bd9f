"""``prophet``: one Prophet model per region on log1p counts, with regressors and events.

Transform: Prophet's likelihood is Gaussian, so on raw counts its predictive draws go
negative (a long-standing complaint in its issue tracker) and clamping them at zero piles
mass on 0 and biases the mean. We fit on ``log1p(count)``, draw from Prophet's predictive
samples on that scale (``predictive_samples`` with ``uncertainty_samples = n_draws``),
back-transform with ``expm1`` and only then clip at 0 (``expm1`` of a value below 0 lies in
(-1, 0): the clip removes a rounding sliver, not a tail). The back-transformed value is the
rate of a Poisson draw, as in the state-space models, so the draws are counts.

Regressors (from :func:`features.build.build_features`): the region's own aid-diversion and
peacekeeper-casualty series, or its parent's when the region has none
(``aid_diversion_lag1`` / ``parent_aid_diversion_lag1``, …), on log1p scale, and every
known-event column (``event_coup_decay``, ``event_minusma_indicator``, …) as extra
regressors. Their future values are unknown, so they are **carried forward** at the
origin's value: persistence is the best simple forecast of those series, and an event that
is on (MINUSMA present) stays on; using lags ≥ horizon instead would throw away the
most recent information for every horizon beyond 1. Regressors that are constant or
missing in a region's window are left out for that region.

Speed and quiet: ``mcmc_samples=0`` (MAP fit), yearly seasonality only, few changepoints,
at most ``max_months`` of history; cmdstanpy and prophet log at WARNING.

Fallbacks (per region, logged, noted, ``poisson_mean`` draws): fewer than ``min_months``
observed months, a constant history, or a fit that raises.
"""

from __future__ import annotations

import logging
import warnings
from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd

from forecast.base import ForecastTask
from forecast.draws import Draws
from forecast.models._common import check_request, history_matrix, make_draws
from forecast.models.fallback import fallback_draws

log = logging.getLogger(__name__)

REGRESSOR_CHOICES: tuple[tuple[str, ...], ...] = (
    ("aid_diversion_lag1", "parent_aid_diversion_lag1"),
    ("peacekeeper_casualties_lag1", "parent_peacekeeper_casualties_lag1"),
)
"""For each regressor, the feature columns tried in order (own series first, then parent)."""


def quiet_stan() -> None:
    """Silence cmdstanpy's and prophet's INFO chatter (one line per fit otherwise)."""
    for name in ("cmdstanpy", "prophet", "prophet.plot"):
        logging.getLogger(name).setLevel(logging.WARNING)


class ProphetModel:
    """Per-region Prophet on log1p counts with lagged regressors and known events.

    Args:
        max_months: history cap per region (speed; Prophet's fit grows with length).
        min_months: fewest observed months a region needs for its own fit.
        n_changepoints: trend changepoints (few: a flexible trend extrapolates wildly).
        changepoint_prior_scale: Prophet's trend flexibility.
        regressors: use the cross-series and event regressors (False = univariate).
        feature_config: a ``features.config.FeatureConfig`` (None = the task's feature set).
    """

    name: ClassVar[str] = "prophet"

    def __init__(
        self,
        max_months: int = 120,
        min_months: int = 24,
        n_changepoints: int = 5,
        changepoint_prior_scale: float = 0.05,
        regressors: bool = True,
        feature_config: Any = None,
    ) -> None:
        self.max_months = int(max_months)
        self.min_months = int(min_months)
        self.n_changepoints = int(n_changepoints)
        self.changepoint_prior_scale = float(changepoint_prior_scale)
        self.use_regressors = bool(regressors)
        self.feature_config = feature_config
        self.task: ForecastTask | None = None
        self.fitted: dict[int, tuple[Any, list[str], pd.DataFrame]] = {}
        self.failures: dict[int, str] = {}
        self.general_note: str | None = None

    def _regressor_frame(self, task: ForecastTask, months: pd.PeriodIndex) -> pd.DataFrame | None:
        """Regressor columns for every (region, month), or None when none are available."""
        if not self.use_regressors:
            return None
        from forecast.models.design import build_task_features

        try:
            features = build_task_features(task, list(months), self.feature_config)
        except Exception as exc:  # noqa: BLE001 - features are optional for Prophet
            self.general_note = f"regressors unavailable ({type(exc).__name__}: {exc})"
            log.warning("prophet: %s; fitting without regressors", self.general_note)
            return None
        chosen: dict[str, pd.Series] = {}
        for options in REGRESSOR_CHOICES:
            for column in options:
                if column in features and features[column].notna().any():
                    chosen[f"x_{options[0]}"] = np.log1p(features[column].clip(lower=0))
                    break
        for column in features.columns:
            if column.startswith("event_"):
                chosen[column] = features[column].astype(float)
        if not chosen:
            return None
        frame = pd.DataFrame(chosen)
        frame["region"] = features["region"].to_numpy()
        frame["origin"] = features["origin"].astype("period[M]").to_numpy()
        return frame

    def fit(self, task: ForecastTask) -> Self:
        """Fit one Prophet per region with enough non-constant history."""
        from prophet import Prophet

        quiet_stan()
        self.task, self.fitted, self.failures, self.general_note = task, {}, {}, None
        history = history_matrix(task, max_months=self.max_months)
        months = pd.period_range(end=task.origin, periods=history.shape[0], freq="M")
        regressors = self._regressor_frame(task, months)
        for index, region in enumerate(task.regions):
            series = history[:, index]
            observed = np.flatnonzero(~np.isnan(series))
            if len(observed) < self.min_months:
                self.failures[index] = (
                    f"only {len(observed)} observed month(s) (< {self.min_months})"
                )
                continue
            if np.ptp(series[observed]) == 0:
                self.failures[index] = f"constant history ({series[observed[0]]:g} every month)"
                continue
            frame = pd.DataFrame(
                {"ds": months[observed].to_timestamp(), "y": np.log1p(series[observed])}
            )
            extra: list[str] = []
            last_values = pd.DataFrame(index=[0])
            if regressors is not None:
                own = regressors[regressors["region"] == region].set_index("origin")
                own = own.reindex(months[observed]).drop(columns=["region"])
                for column in own.columns:
                    values = own[column].ffill().fillna(0.0).to_numpy()
                    if np.ptp(values) > 0:
                        frame[column] = values
                        extra.append(column)
                        last_values[column] = values[-1]
            model = Prophet(
                growth="linear",
                n_changepoints=min(self.n_changepoints, max(len(frame) // 4, 0)),
                changepoint_prior_scale=self.changepoint_prior_scale,
                yearly_seasonality=True,
                weekly_seasonality=False,
                daily_seasonality=False,
                mcmc_samples=0,
            )
            for column in extra:
                model.add_regressor(column)
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    model.fit(frame)
            except Exception as exc:  # noqa: BLE001 - Stan/optimiser errors vary by version
                self.failures[index] = f"fit raised {type(exc).__name__}: {exc}"
                continue
            self.fitted[index] = (model, extra, last_values)
        return self

    def predict(self, horizon: int, n_draws: int, rng: np.random.Generator) -> Draws:
        """Predictive samples, expm1-back-transformed, clipped at 0, drawn as counts."""
        check_request(self.name, self.task is not None, horizon, n_draws)
        task = self.task
        assert task is not None
        values = np.zeros((len(task.regions), horizon, n_draws), dtype=np.float32)
        future_ds = pd.period_range(task.origin + 1, periods=horizon, freq="M").to_timestamp()
        failures = dict(self.failures)
        for index, (model, extra, last_values) in self.fitted.items():
            future = pd.DataFrame({"ds": future_ds})
            for column in extra:
                future[column] = float(last_values[column].iloc[0])
            model.uncertainty_samples = n_draws
            # Prophet samples with numpy's global generator: seed it from rng and restore it.
            state = np.random.get_state()
            np.random.seed(int(rng.integers(0, 2**32 - 1)))
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    samples = model.predictive_samples(future)["yhat"]
            except Exception as exc:  # noqa: BLE001
                failures[index] = f"sampling raised {type(exc).__name__}: {exc}"
                continue
            finally:
                np.random.set_state(state)
            z = np.asarray(samples, dtype=np.float64).reshape(horizon, n_draws)
            level = np.clip(np.expm1(np.clip(z, None, 20.0)), 0.0, None)
            values[index] = rng.poisson(level).astype(np.float32)
        notes: dict[str, str] = {}
        if self.general_note:
            notes = dict.fromkeys(task.regions, f"prophet: {self.general_note}")
        if failures:
            order = sorted(failures)
            regions = [task.regions[i] for i in order]
            values[order] = fallback_draws(
                self.name,
                task,
                f"{len(order)} region(s) not fitted",
                horizon,
                n_draws,
                rng,
                regions,
            )
            for i in order:
                notes[task.regions[i]] = f"prophet: {failures[i]}; fell back to poisson_mean"
        return make_draws(self.name, task, values, notes)
