"""``negbin_glm``: a negative-binomial GLM pooled across regions, one fit per horizon.

Strategy: **direct**. For each horizon ``h`` a separate GLM is fitted on pairs
(features of region r at month t, count of r at month t + h) with ``t + h ≤ origin``, so no
target after the origin is ever used, and forecasting h months ahead needs no simulated
future features (a recursive scheme would compound errors and need forecasts of every
regressor). Fits are made lazily in :meth:`NegBinGLM.predict` for the horizons asked.

Dispersion: NB2 (variance = μ + α·μ²), with one ``alpha`` per *level group* (the region's
mean count over the 12 months up to t, cut at 0.5, 3, 10, 30, 100, 300): a single pooled
alpha made busy regions' forecasts absurdly wide (alpha ≈ 7 on Mali admin1, median 4 for a
mean of 100). The alphas are estimated by **profile maximum likelihood**: starting from
α = 1, we alternate (i) the GLM mean fit for fixed α (statsmodels
``GLM(family=NegativeBinomial(alpha))`` by Newton-CG with a line search, started from the
intercept that matches the mean count; L-BFGS from a Poisson GLM fit if that fails — plain
IRLS oscillated without converging on pooled data) and (ii) the one-dimensional ML of α per
group given the fitted means (scipy bounded scalar search on the NB log-likelihood). Two
rounds come close to the joint ML that the discrete ``sm.NegativeBinomial`` model finds by
Newton steps, without that model's convergence failures on pooled, zero-heavy data. Exactly
collinear feature columns are dropped (pivoted QR). When the fit does not converge, the
round is redone with a light ridge penalty (``ridge``, default 1e-3 on standardised
features); only if that fails too does the model fall back.

Robustness choices (the model is judged on months nobody has seen):

* two parts: a region with no count ≥ 1 in the last 24 months is *dormant*; dormant rows
  are left out of the GLM (they carry no information on the size of violence, and an
  all-zero region makes the pooled likelihood quasi-separated) and
  dormant regions are forecast with ``poisson_mean`` draws (zeros after a quiet year);
* the log of the region's recent level (mean count of the last 12 months, + 0.1) is an
  **offset**: the features explain departures from the recent mean, so the model shrinks to
  the benchmark that is hardest to beat instead of to a pooled average (without it, quiet
  regions were forecast several times their recent level);
* every non-negative feature is log1p-transformed before standardisation (counts span 0 to
  thousands; a log-link model on raw counts explodes), constant columns are dropped and
  standardised values are clipped to ±6;
* the training window is the last ``train_months`` origins (default 120), so old regimes
  fade out; beyond ``max_rows`` usable rows (default 200,000: grid-scale panels only) a
  horizon is fitted on a fixed random sample of them (:func:`training_rows`);
* the predicted mean is capped at ``mean_cap`` × the region's largest monthly count seen
  (plus 10), a guard against extrapolation blow-ups;
* horizons 1-12 get one fit each, longer ones one fit every 6 months (18, 24, 30, 36;
  the months in between use the fit just below them);
* horizons without enough training rows reuse the fit of the longest horizon that had
  enough (stated in ``Draws.notes``); if no horizon can be fitted, or a fit fails or does not
  converge even with the ridge penalty, the model falls back to ``poisson_mean`` for every
  region, logged and noted.

Features come from :func:`features.build.build_features` for the task's panel and registry
(the ``[features]`` config unless a ``feature_config`` option is given).
"""

from __future__ import annotations

import logging
import math
import re
import warnings
from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd
from scipy import optimize, special
from threadpoolctl import threadpool_limits

from forecast.base import ForecastTask
from forecast.draws import Draws
from forecast.models._common import (
    check_request,
    fallback_draws,
    history_matrix,
    make_draws,
    negbin_draws,
)

log = logging.getLogger(__name__)

KEY_COLUMNS = ("region", "origin")


def build_task_features(
    task: ForecastTask, origins: list[pd.Period], feature_config: Any = None
) -> pd.DataFrame:
    """Features of every task region at ``origins`` via the features layer.

    Why a wrapper: the models read the features one way (same config, same regions) and a
    failure inside the features layer surfaces with the model's name on it.
    """
    from features.build import build_features

    return build_features(
        task.panel,
        task.registry,
        feature_config,
        target=task.series,
        origins=origins,
        regions=list(task.regions),
    )


def design_cube(
    features: pd.DataFrame, months: pd.PeriodIndex, regions: tuple[str, ...]
) -> tuple[np.ndarray, list[str]]:
    """Arrange a (region, origin) feature frame as a ``(month, region, feature)`` cube.

    Non-numeric columns are ignored; ``month_of_year`` becomes its sine and cosine (a
    linear month number is meaningless under a log link). Missing rows are NaN. Each column
    is scattered straight into the cube (at 10,000 regions a copy of the frame is 600 MB).
    """
    numeric = [
        c
        for c in features.columns
        if c not in KEY_COLUMNS
        and (pd.api.types.is_numeric_dtype(features[c]) or pd.api.types.is_bool_dtype(features[c]))
    ]
    columns = [c for c in numeric if c != "month_of_year"]
    if "month_of_year" in numeric:
        columns += ["month_sin", "month_cos"]
    region_pos = pd.Index(list(regions)).get_indexer(features["region"])
    month_pos = months.get_indexer(pd.PeriodIndex(features["origin"], freq="M"))
    inside = (region_pos >= 0) & (month_pos >= 0)
    where = (month_pos[inside], region_pos[inside])
    cube = np.full((len(months), len(regions), len(columns)), np.nan)
    for j, column in enumerate(columns):
        if column in ("month_sin", "month_cos"):
            angle = 2 * np.pi * (features["month_of_year"].to_numpy(dtype=float) - 1) / 12
            values = np.sin(angle) if column == "month_sin" else np.cos(angle)
        else:
            values = features[column].to_numpy(dtype=np.float64, na_value=np.nan)
        cube[where + (j,)] = values[inside]
    return cube, columns


def independent_columns(z: np.ndarray, tolerance: float = 1e-7) -> np.ndarray:
    """Boolean mask of a maximal set of linearly independent columns (pivoted QR).

    Why: the feature set holds exact and near-exact duplicates (a 3-month sum and mean, a
    region's own and its parent's series where they coincide); with a rank-deficient design
    IRLS oscillates and never converges.
    """
    from scipy import linalg

    keep = np.zeros(z.shape[1], dtype=bool)
    if z.shape[1] == 0:
        return keep
    design = np.column_stack([np.ones(len(z)), z])
    _, r, pivots = linalg.qr(design, mode="economic", pivoting=True)
    diagonal = np.abs(np.diag(r))
    rank = int(np.sum(diagonal > tolerance * diagonal[0]))
    chosen = pivots[:rank]
    keep[chosen[chosen > 0] - 1] = True
    return keep


class _Scaler:
    """log1p for non-negative columns, standardise, drop constant and collinear columns,
    clip at ±6 — learnt on the training rows by :meth:`fit`, applied to new rows by calling it.
    """

    def __init__(
        self, logged: np.ndarray, center: np.ndarray, scale: np.ndarray, keep: np.ndarray
    ) -> None:
        self.logged, self.center, self.scale, self.keep = logged, center, scale, keep

    @classmethod
    def fit(cls, train: np.ndarray) -> tuple[_Scaler, np.ndarray]:
        """The scaler of ``train`` and ``train`` transformed by it.

        Why both at once: the transformed training rows are needed to find collinear
        columns anyway, and transforming 200,000 rows twice more cost a fifth of a fit.
        """
        finite = np.where(np.isfinite(train), train, np.nan)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            logged = np.nanmin(finite, axis=0) >= 0
            moved = _log_columns(finite, logged)
            center = np.nanmean(moved, axis=0)
            scale = np.nanstd(moved, axis=0)
        keep = np.isfinite(scale) & (scale > 1e-9)
        scaler = cls(logged, center, scale, keep)
        z = scaler._standardise_logged(moved)
        keep[keep] = independent_columns(z[:, keep])
        return scaler, z[:, keep]

    def _standardise_logged(self, moved: np.ndarray) -> np.ndarray:
        safe_scale = np.where(np.isfinite(self.scale) & (self.scale > 1e-9), self.scale, 1.0)
        z = (moved - self.center) / safe_scale
        return np.clip(np.nan_to_num(z, nan=0.0), -6, 6)  # missing → the training mean

    def __call__(self, x: np.ndarray) -> np.ndarray:
        finite = np.where(np.isfinite(x), x, np.nan)
        return self._standardise_logged(_log_columns(finite, self.logged))[:, self.keep]


def _log_columns(x: np.ndarray, logged: np.ndarray) -> np.ndarray:
    """log1p of the ``logged`` columns (clipped at 0), the others as they are."""
    return np.where(logged, np.log1p(np.clip(x, 0, None)), x)


def nb_loglik(y: np.ndarray, mu: np.ndarray, alpha: float) -> float:
    """NB2 log-likelihood of counts ``y`` with means ``mu`` and dispersion ``alpha``."""
    size = 1.0 / alpha
    return float(
        np.sum(
            special.gammaln(y + size)
            - special.gammaln(size)
            - special.gammaln(y + 1)
            + size * np.log(size / (size + mu))
            + y * np.log(np.where(mu > 0, mu / (size + mu), 1.0))
        )
    )


def fit_alpha(y: np.ndarray, mu: np.ndarray) -> float:
    """ML estimate of the NB2 dispersion given fitted means, bounded in [1e-4, ALPHA_MAX].

    The bound matters for groups of rows that are all zero, where the likelihood keeps
    rising with alpha.
    """
    result = optimize.minimize_scalar(
        lambda log_a: -nb_loglik(y, mu, math.exp(log_a)),
        bounds=(math.log(1e-4), math.log(ALPHA_MAX)),
        method="bounded",
    )
    return float(math.exp(result.x))


FIT_HORIZONS = frozenset((*range(1, 13), 18, 24, 30, 36))
"""Horizons with their own GLM; a horizon in between uses the nearest fitted one below it
(beyond a year the coefficients change slowly, and this cuts a 36-month forecast from 36
fits to 16)."""

NEWTON_MAX_STEPS = 100
"""Newton-CG steps before the mean fit falls back to L-BFGS."""

ALPHA_MAX = 10.0
"""Upper bound of a dispersion estimate (an NB2 with alpha 10 is already almost all zeros)."""

DEFAULT_EXCLUDE = r"^{target}_lag\d+$|^{target}_roll\d+_sum$|_malicious_"
"""Feature columns left out by default (``{target}`` is the series): raw target lags and
rolling sums duplicate the log1p lags and rolling means once log1p-transformed, and the
malicious-casualty columns duplicate the all-cause ones; fewer collinear columns make IRLS
faster and steadier."""

OFFSET_EPS = 0.1
"""Added to the recent level before the log offset (a quiet region's level is 0)."""

LEVEL_EDGES = (0.5, 3.0, 10.0, 30.0, 100.0, 300.0)
"""Edges (mean monthly count over the last 12 months) of the dispersion groups."""


def level_groups(history: np.ndarray) -> np.ndarray:
    """Dispersion group ``(month, region)`` from the mean of the 12 months up to each month.

    Why: one pooled NB dispersion is far too wide for busy regions and too narrow for quiet
    ones (relative variability falls with the level), so alpha is estimated per level group.
    """
    return np.digitize(recent_level(history), LEVEL_EDGES)


DORMANT_MONTHS = 24
"""A region with no count ≥ 1 in this many months up to t is *dormant* at t."""


def dormant_mask(history: np.ndarray) -> np.ndarray:
    """``(month, region)`` True where the last :data:`DORMANT_MONTHS` months were all zero.

    Missing months count as zero here; months before a region's data are dormant.
    """
    active = pd.DataFrame(np.nan_to_num(history, nan=0.0) >= 1).astype(float)
    return active.rolling(DORMANT_MONTHS, min_periods=1).sum().to_numpy() == 0


def recent_level(history: np.ndarray) -> np.ndarray:
    """Mean count of the 12 months up to each month, ``(month, region)`` (0 before data)."""
    frame = pd.DataFrame(history)
    return frame.rolling(12, min_periods=1).mean().fillna(0.0).to_numpy()


def training_rows(usable: np.ndarray, max_rows: int, horizon: int) -> np.ndarray:
    """Indices of the rows a horizon's GLM is fitted on: every usable row, or a uniform
    random sample of ``max_rows`` of them (sorted), seeded by the horizon alone.

    Why: the pooled model has a few dozen coefficients; at 10,000 regions × 120 months a
    million rows pin them no better than 200,000 do, at five times the time and memory.
    The sample is the same on every run and executor (seeded by ``horizon``), so forecasts
    stay reproducible; Mali-sized panels (a few thousand rows) never reach the cap.
    """
    rows = np.flatnonzero(usable)
    if max_rows <= 0 or len(rows) <= max_rows:
        return rows
    chosen = np.random.default_rng([ROW_SAMPLE_SEED, horizon]).choice(
        len(rows), size=max_rows, replace=False
    )
    return rows[np.sort(chosen)]


ROW_SAMPLE_SEED = 20_260
"""Seed of :func:`training_rows` (a constant: the sample must not depend on the caller)."""


class GLMFitError(RuntimeError):
    """A horizon's GLM failed or did not converge."""


def intercept_start(design: np.ndarray, y: np.ndarray, offset: np.ndarray) -> np.ndarray:
    """Start values for Newton: the intercept that matches the mean count, slopes zero.

    Why not a Poisson fit first: Newton-CG converges from here, and the Poisson fit cost
    twice the NB fit itself (measured: 0.43 s vs 0.21 s for 87,000 rows × 30 features).
    """
    start = np.zeros(design.shape[1])
    start[0] = math.log(max(float(np.mean(y)), 1e-3) / float(np.mean(np.exp(offset))))
    return start


def _newton_cg(model: Any, start: np.ndarray) -> np.ndarray:
    """Newton-CG with a line search on the NB log-likelihood (statsmodels ``method="ncg"``).

    Why the line search: plain Newton (``method="newton"``) diverged to NaN from the
    intercept start on pooled data (the log link is not canonical for the NB, so the
    Hessian is not negative definite far from the optimum).

    Raises:
        GLMFitError: when it does not converge, goes non-finite or ends below its start.
    """
    result = model.fit(start_params=start, method="ncg", maxiter=NEWTON_MAX_STEPS)
    params = np.asarray(result.params)
    if not result.mle_retvals.get("converged", False) or not np.all(np.isfinite(params)):
        raise GLMFitError("Newton-CG did not converge")
    if not model.loglike(params) >= model.loglike(start):  # also False for NaN
        raise GLMFitError("Newton-CG ended below its start")
    return params


def _mean_fit(
    design: np.ndarray,
    y: np.ndarray,
    offset: np.ndarray,
    alpha: np.ndarray,
    start: np.ndarray | None,
    ridge: float,
) -> np.ndarray:
    """One NB GLM mean fit for fixed (per-row) alpha.

    Newton-CG first (5× faster than L-BFGS, which took ~130 steps on 87,000 pooled rows, and
    to a slightly higher likelihood); if it fails, L-BFGS from a Poisson GLM start
    (slow but steady: plain IRLS oscillated between two iterates on Mali admin1); with
    ``ridge > 0`` the ridge-penalised fit.
    """
    import statsmodels.api as sm
    from statsmodels.tools.sm_exceptions import ConvergenceWarning

    model = sm.GLM(y, design, family=sm.families.NegativeBinomial(alpha=alpha), offset=offset)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        warnings.simplefilter("error", ConvergenceWarning)
        if ridge > 0:
            penalty = np.full(design.shape[1], ridge)
            penalty[0] = 0.0  # never shrink the intercept
            return np.asarray(
                model.fit_regularized(alpha=penalty, L1_wt=0.0, start_params=start).params
            )
        try:
            return _newton_cg(
                model, start if start is not None else intercept_start(design, y, offset)
            )
        except (GLMFitError, ValueError, np.linalg.LinAlgError, FloatingPointError, Warning):
            log.debug("negbin_glm: Newton-CG failed; L-BFGS from a Poisson start")
        result = model.fit(
            start_params=poisson_start(design, y, offset), method="lbfgs", maxiter=500
        )
        if not result.mle_retvals.get("converged", False):
            raise GLMFitError("L-BFGS did not converge")
        return np.asarray(result.params)


def fit_group_alpha(y: np.ndarray, mu: np.ndarray, groups: np.ndarray, n_groups: int) -> np.ndarray:
    """ML dispersion per group (pooled estimate for groups with fewer than 20 rows)."""
    pooled = fit_alpha(y, mu)
    alphas = np.full(n_groups, pooled)
    for g in range(n_groups):
        inside = groups == g
        if inside.sum() >= 20:
            alphas[g] = fit_alpha(y[inside], mu[inside])
    return alphas


def poisson_start(design: np.ndarray, y: np.ndarray, offset: np.ndarray) -> np.ndarray | None:
    """Poisson GLM coefficients as IRLS start values (None if that fit fails).

    Why: NB IRLS started from statsmodels' default can oscillate between two iterates and
    never converge on pooled conflict data; the Poisson fit converges in a few steps and
    starts the NB fit close to its solution.
    """
    import statsmodels.api as sm

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            result = sm.GLM(y, design, family=sm.families.Poisson(), offset=offset).fit(maxiter=50)
        except (ValueError, np.linalg.LinAlgError, FloatingPointError):
            return None
    params = np.asarray(result.params)
    return params if result.converged and np.all(np.isfinite(params)) else None


def fit_negbin(
    x: np.ndarray,
    y: np.ndarray,
    offset: np.ndarray,
    ridge: float,
    groups: np.ndarray,
    n_groups: int,
    rounds: int = 2,
) -> tuple[np.ndarray, np.ndarray, bool]:
    """Profile-ML fit of an NB2 GLM.

    The unpenalised mean fit first (see :func:`_mean_fit`); if it fails to converge, the same
    round is redone with a ridge penalty ``ridge`` (light regularisation, only when needed).

    Args:
        x: standardised features ``(row, feature)``.
        y: counts ``(row,)``.
        offset: log of the recent level ``(row,)`` (coefficients model departures from it).
        ridge: penalty used only when the unpenalised fit fails.
        groups: dispersion group of every row (``0 … n_groups - 1``).
        n_groups: number of dispersion groups.
        rounds: alternations of mean fit and dispersion fit.

    Returns:
        ``(coefficients with the intercept first, alpha per group, whether ridge was needed)``.

    Raises:
        GLMFitError: neither IRLS nor the ridge fit converged, or coefficients are not finite.
    """
    import statsmodels.api as sm

    design = sm.add_constant(x, has_constant="add")
    alphas, params, regularised = np.ones(n_groups), None, False
    for _ in range(rounds):
        alpha = alphas[groups]
        try:
            fresh = _mean_fit(design, y, offset, alpha, params, 0.0 if not regularised else ridge)
        except (GLMFitError, ValueError, np.linalg.LinAlgError, FloatingPointError, Warning):
            if regularised or ridge <= 0:
                raise GLMFitError("the GLM did not converge, even with the ridge penalty") from None
            regularised = True
            try:
                fresh = _mean_fit(design, y, offset, alpha, params, ridge)
            except (ValueError, np.linalg.LinAlgError, FloatingPointError, Warning) as exc:
                raise GLMFitError(f"the ridge-penalised GLM failed ({exc})") from exc
        if not np.all(np.isfinite(fresh)):
            raise GLMFitError("non-finite coefficients")
        params = fresh
        mu = np.exp(np.clip(design @ params + offset, -30, 30))
        alphas = fit_group_alpha(y, mu, groups, n_groups)
    assert params is not None
    return params, alphas, regularised


class NegBinGLM:
    """Pooled negative-binomial GLM on the features, direct strategy (one fit per horizon).

    Args:
        train_months: how many recent origins form the training window.
        ridge: L2 penalty on standardised coefficients, used only when the plain fit does not
            converge (0 = never regularise; non-convergence then falls back).
        min_rows: fewest training rows a horizon needs to get its own fit.
        max_rows: most training rows a horizon's fit uses: beyond it, a fixed random sample
            (see :func:`training_rows`; 0 = every row).
        mean_cap: cap of the predicted mean, as a multiple of the region's largest count.
        exclude: regular expression of feature columns to leave out (``{target}`` is
            replaced by the series name; None keeps every column), see
            :data:`DEFAULT_EXCLUDE`.
        feature_config: a ``features.config.FeatureConfig`` (None = the ``[features]`` config).
    """

    name: ClassVar[str] = "negbin_glm"

    def __init__(
        self,
        train_months: int = 120,
        ridge: float = 1e-3,
        min_rows: int = 30,
        max_rows: int = 200_000,
        mean_cap: float = 3.0,
        exclude: str | None = DEFAULT_EXCLUDE,
        feature_config: Any = None,
    ) -> None:
        if train_months < 2:
            raise ValueError(f"negbin_glm train_months must be ≥ 2, got {train_months}")
        self.train_months = int(train_months)
        self.ridge = float(ridge)
        self.min_rows = int(min_rows)
        self.max_rows = int(max_rows)
        self.mean_cap = float(mean_cap)
        self.feature_config = feature_config
        self.exclude = exclude
        self.task: ForecastTask | None = None
        self.failure: str | None = None
        self.fits: dict[int, tuple[_Scaler, np.ndarray, np.ndarray] | None] = {}
        self.alphas: dict[int, np.ndarray] = {}
        self.regularised: list[int] = []

    def fit(self, task: ForecastTask) -> Self:
        """Build the feature cube and targets; the per-horizon GLMs are fitted on demand."""
        self.task, self.failure, self.fits, self.regularised = task, None, {}, []
        self.history = history_matrix(task)
        months = pd.period_range(end=task.origin, periods=self.history.shape[0], freq="M")
        keep = min(self.train_months + 1, len(months))
        self.months = months[-keep:]
        self.targets = self.history[-keep:]
        self.groups = level_groups(self.history)[-keep:]
        self.dormant = dormant_mask(self.history)[-keep:]
        self.offsets = np.log(recent_level(self.history)[-keep:] + OFFSET_EPS)
        try:
            features = build_task_features(task, list(self.months), self.feature_config)
            if self.exclude:
                pattern = re.compile(self.exclude.replace("{target}", re.escape(task.series)))
                features = features[[c for c in features.columns if not pattern.search(c)]]
            self.cube, self.columns = design_cube(features, self.months, task.regions)
        except Exception as exc:  # noqa: BLE001 - any feature failure → visible fallback
            self.failure = f"features could not be built ({type(exc).__name__}: {exc})"
            log.warning("negbin_glm: %s", self.failure)
        return self

    def _fit_horizon(self, h: int) -> tuple[_Scaler, np.ndarray, np.ndarray] | None:
        """The GLM for horizon ``h`` (None when too few rows); raises GLMFitError."""
        if h in self.fits:
            return self.fits[h]
        n_months = self.targets.shape[0]
        if n_months - h < 1:
            self.fits[h] = None
            return None
        x = self.cube[: n_months - h].reshape(-1, self.cube.shape[2])
        y = self.targets[h:].reshape(-1)
        usable = (
            np.isfinite(y) & np.isfinite(x).any(axis=1) & ~self.dormant[: n_months - h].reshape(-1)
        )
        if usable.sum() < self.min_rows:
            self.fits[h] = None
            return None
        rows = training_rows(usable, self.max_rows, h)
        groups = self.groups[: n_months - h].reshape(-1)[rows]
        offset = self.offsets[: n_months - h].reshape(-1)[rows]
        x, y = x[rows], y[rows]
        # Small dense problems: multi-threaded BLAS only adds contention (measured 23 s
        # vs 3.5 s for 12 horizons on 2 busy cores), and backtests parallelise by process.
        with threadpool_limits(limits=1):
            scaler, z = _Scaler.fit(x)
            params, alphas, regularised = fit_negbin(
                z, y, offset, self.ridge, groups, len(LEVEL_EDGES) + 1
            )
        if regularised:
            self.regularised.append(h)
        self.fits[h] = (scaler, params, alphas)
        self.alphas[h] = alphas
        log.debug(
            "negbin_glm h=%d: %d rows, %d features, alphas=%s",
            h,
            len(y),
            int(scaler.keep.sum()),
            alphas,
        )
        return self.fits[h]

    def predict(self, horizon: int, n_draws: int, rng: np.random.Generator) -> Draws:
        """NB2 draws with each horizon's fitted mean and dispersion, per region."""
        check_request(self.name, self.task is not None, horizon, n_draws)
        task = self.task
        assert task is not None
        if self.failure is None:
            try:
                return self._predict(task, horizon, n_draws, rng)
            except GLMFitError as exc:
                self.failure = f"GLM fit failed ({exc})"
        values = fallback_draws(self.name, task, self.failure, horizon, n_draws, rng)
        notes = dict.fromkeys(
            task.regions, f"negbin_glm: {self.failure}; fell back to poisson_mean"
        )
        return make_draws(self.name, task, values, notes)

    @staticmethod
    def _dormant_draws(
        task: ForecastTask, regions: list[str], horizon: int, n_draws: int, rng: np.random.Generator
    ) -> np.ndarray:
        """``poisson_mean`` draws for dormant regions (zeros when the last year was quiet)."""
        from forecast.models.baselines import PoissonMean

        sub = ForecastTask(
            panel=task.panel, origin=task.origin, series=task.series, regions=tuple(regions)
        )
        return PoissonMean().fit(sub).predict(horizon, n_draws, rng).values

    def _predict(
        self, task: ForecastTask, horizon: int, n_draws: int, rng: np.random.Generator
    ) -> Draws:
        fitted = {
            h: self._fit_horizon(h) if h in FIT_HORIZONS else None for h in range(1, horizon + 1)
        }
        available = [h for h, fit in fitted.items() if fit is not None]
        if not available:
            raise GLMFitError(
                f"no horizon has {self.min_rows} training rows (history of "
                f"{self.targets.shape[0]} months)"
            )
        notes: dict[str, str] = {}
        longest = max(available)
        borrowed = [h for h in range(1, horizon + 1) if fitted[h] is None and h in FIT_HORIZONS]
        x_now = self.cube[-1]
        seen = np.where(np.isnan(self.history), -np.inf, self.history).max(axis=0)
        cap = self.mean_cap * np.maximum(seen, 0.0) + 10.0
        means = np.empty((len(task.regions), horizon))
        alphas = np.empty((len(task.regions), horizon))
        for h in range(1, horizon + 1):
            source = max((k for k in available if k <= h), default=longest)
            scaler, params, group_alpha = fitted[source]
            eta = self.offsets[-1] + params[0] + scaler(x_now) @ params[1:]
            means[:, h - 1] = np.minimum(np.exp(np.clip(eta, -30, 30)), cap)
            alphas[:, h - 1] = group_alpha[self.groups[-1]]
        values = negbin_draws(means, alphas, n_draws, rng)
        if borrowed:
            text = (
                f"negbin_glm: too little history for horizons {borrowed[0]}-{borrowed[-1]}; "
                f"they reuse the horizon-{longest} fit"
            )
            log.info(text)
            notes = dict.fromkeys(task.regions, text)
        dormant = self.dormant[-1]
        if dormant.any():  # the part of the two-part model for quiet regions
            quiet = [task.regions[i] for i in np.flatnonzero(dormant)]
            values[dormant] = self._dormant_draws(task, quiet, horizon, n_draws, rng)
        empty = np.all(np.isnan(self.history), axis=0)
        if empty.any():
            values[empty] = 0.0
            for region in np.asarray(task.regions, dtype=object)[empty]:
                notes[str(region)] = "negbin_glm: no observed month up to the origin; zeros"
        return make_draws(self.name, task, values, notes)
