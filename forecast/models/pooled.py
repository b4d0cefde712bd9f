"""``pooled_gbm``: pooled LightGBM counts mixed with conflictology, tilted to a calibrated
escalation classifier.

What it learns, across *every* region of the task's panel (all panels ingested: countries
and admin1 regions together, each with its country's other-source total, its neighbours and
the other series, :mod:`features.pooled`), one row per (month t, region, horizon h):

* a regressor of ``log1p(y[t+h])`` (L2 boosting) whose out-of-sample residuals, binned by
  predicted level and horizon, turn each prediction into draws;
* a classifier of ``y[t+h] ≥ threshold[t]`` (the escalation rule), and one of escalation in
  any of months t+1…t+3, each Platt-calibrated on a later hold-out.

Honesty: the fit uses only the panel up to the *refit anchor* (the last month ≤ origin whose
index is a multiple of ``refit_months``: the last December by default, so a backtest fits
once a year and reuses the fit for that year's origins); calibration and residuals come from
the last ``holdout_months`` before the anchor, predicted by a first fit on the rows whose
targets end before them; the final fit then uses every row. The forecast's inputs are read
at the origin. Nothing reads a month after the origin (the task refuses such a panel).

One story: the count draws are a draw-level mixture (share ``mix`` pooled, the rest from
``base``: conflictology by default), then tilted (:func:`forecast.risk.tilt_draws`) so that
their exceedance shares equal the calibrated probabilities, per month and for any of the
first three months.
Means, quantiles, ``p_escalation`` and ``p_any_3`` are all read from those draws.

Fits are cached per (panel up to the anchor, anchor, options) in the process, so backtests
over many origins of one year and candidates that differ only in ``mix``/``tilt`` fit once.
"""

from __future__ import annotations

import functools
import hashlib
import logging
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd

from features.pooled import PooledInputs, pooled_inputs
from forecast.base import ForecastTask
from forecast.draws import Draws
from forecast.models._common import check_request, make_draws
from forecast.risk import threshold_matrix, tilt_draws

log = logging.getLogger(__name__)

QUIET_KEEP = 0.1
"""Share of training rows kept where the region had no death in the last 12 months (each
kept row then weighs 1 / QUIET_KEEP): most rows are quiet and nearly all alike."""

_CACHE: OrderedDict[tuple, _Fitted] = OrderedDict()
_CACHE_SIZE = 16
"""Anchors kept: a 2011-2020 backtest has ten, and candidates cycle through them."""


def logit(p: np.ndarray) -> np.ndarray:
    """log(p / (1 − p)), clipped away from 0 and 1."""
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def platt(scores: np.ndarray, labels: np.ndarray, weights: np.ndarray) -> tuple[float, float]:
    """Platt scaling: (a, b) of P = σ(a·logit(p) + b), weighted maximum likelihood (Newton).

    A unit ridge toward the identity (a = 1, b = 0) keeps the fit finite and close to the
    raw scores when the hold-out is small or separable (one class only, a quiet panel).
    """
    from scipy.special import expit

    z = logit(scores)
    design = np.column_stack([z, np.ones_like(z)])
    prior = np.array([1.0, 0.0])
    beta = prior.copy()
    for _ in range(100):
        p = expit(design @ beta)
        gradient = design.T @ (weights * (labels - p)) - (beta - prior)
        hessian = (design * (weights * p * (1 - p))[:, None]).T @ design + np.eye(2)
        step = np.linalg.solve(hessian, gradient)
        beta = beta + step
        if np.abs(step).max() < 1e-8:
            break
    return float(beta[0]), float(beta[1])


def apply_platt(scores: np.ndarray, ab: tuple[float, float]) -> np.ndarray:
    """Calibrated probabilities."""
    from scipy.special import expit

    return expit(ab[0] * logit(scores) + ab[1])


@dataclass(frozen=True)
class _Rows:
    """Training rows as grid indices (month t, region r, horizon h) and their weights."""

    t: np.ndarray
    r: np.ndarray
    h: np.ndarray
    weight: np.ndarray


@dataclass
class _Fitted:
    """One anchor's fitted boosters, calibrations and residual pools."""

    columns: list[str]
    regressor: Any
    classifier: Any
    any3: Any
    platt_h: tuple[float, float]
    platt_any3: tuple[float, float]
    bin_edges: np.ndarray
    residuals: list[np.ndarray]
    max_h: int


def design(inputs: PooledInputs, rows: _Rows) -> np.ndarray:
    """Feature matrix of rows: the grid's features at (t, r) plus horizon and season."""
    columns = [f[rows.t, rows.r] for f in inputs.features.values()]
    target_month = (inputs.months[0].month - 1 + rows.t + rows.h) % 12
    angle = 2 * np.pi * target_month / 12
    columns += [rows.h.astype(float), np.sin(angle), np.cos(angle)]
    columns.append(inputs.is_country[rows.r].astype(float))
    return np.column_stack(columns).astype(np.float32)


def design_columns(inputs: PooledInputs) -> list[str]:
    """Names of :func:`design`'s columns, in order."""
    return [*inputs.features, "horizon", "season_sin", "season_cos", "is_country"]


class PooledGBM:
    """Pooled gradient-boosted counts + calibrated escalation classifier (see module doc).

    Args:
        mix: share of draws from the pooled model (the rest from conflictology), 0..1.
        tilt: tilt the draws to the escalation probabilities (one story); False keeps the
            mixture's own exceedance shares.
        trust: weight of the classifier in the tilt target, 0..1: the draws are tilted to
            ``trust × p_classifier + (1 − trust) × p_draws`` (per month, and for any of the
            first three months).
        calibration: ``platt`` (fitted on the hold-out before the anchor) or ``none``.
        refit_months: fit at anchors every this many months (12: each December).
        horizons: horizons trained (a longer forecast reuses the last one's fit).
        holdout_months: months before the anchor held out for calibration and residuals.
        n_estimators, learning_rate, num_leaves, min_child_samples: LightGBM settings.
        max_rows: training rows kept at most (a seeded sample beyond).
        base: the model the pooled draws are mixed with (``conflictology``, or e.g.
            ``ensemble``, the default's own mixture); made with its default options.
    """

    name: ClassVar[str] = "pooled_gbm"

    def __init__(
        self,
        mix: float = 0.5,
        tilt: bool = True,
        trust: float = 1.0,
        calibration: str = "platt",
        refit_months: int = 12,
        horizons: int = 12,
        holdout_months: int = 24,
        n_estimators: int = 150,
        learning_rate: float = 0.05,
        num_leaves: int = 15,
        min_child_samples: int = 100,
        max_rows: int = 100_000,
        base: str = "conflictology",
    ) -> None:
        if not 0.0 <= float(mix) <= 1.0:
            raise ValueError(f"pooled_gbm mix must be within 0..1, got {mix}")
        if refit_months < 1 or horizons < 1 or holdout_months < 3:
            raise ValueError("pooled_gbm needs refit_months ≥ 1, horizons ≥ 1, holdout ≥ 3")
        if not 0.0 <= float(trust) <= 1.0:
            raise ValueError(f"pooled_gbm trust must be within 0..1, got {trust}")
        if calibration not in ("platt", "none"):
            raise ValueError(
                f"pooled_gbm calibration must be 'platt' or 'none', got {calibration!r}"
            )
        self.mix = float(mix)
        self.tilt = bool(tilt)
        self.trust = float(trust)
        self.calibration = calibration
        self.refit_months = int(refit_months)
        self.fit_options = {
            "horizons": int(horizons),
            "holdout_months": int(holdout_months),
            "n_estimators": int(n_estimators),
            "learning_rate": float(learning_rate),
            "num_leaves": int(num_leaves),
            "min_child_samples": int(min_child_samples),
            "max_rows": int(max_rows),
        }
        if base == self.name:
            raise ValueError("pooled_gbm cannot be its own base")
        from forecast.models import make_model

        self.benchmark = make_model(base)
        self.task: ForecastTask | None = None
        self.fitted: _Fitted | None = None
        self.inputs: PooledInputs | None = None

    # ------------------------------------------------------------------ fitting
    def anchor(self, origin: pd.Period) -> pd.Period:
        """The refit anchor of an origin: the last month ≤ origin on the refit grid."""
        index = origin.year * 12 + origin.month - 1
        return origin - ((index + 1) % self.refit_months)

    def fit(self, task: ForecastTask) -> Self:
        """Fit (or reuse the fit of) the anchor, then read the inputs at the origin."""
        self.task = task
        self.benchmark.fit(task)
        rule = task.rule  # the series' own rule, as the entry point configured it
        self._limits = functools.partial(threshold_matrix, rule=rule)  # picklable
        anchor = self.anchor(task.origin)
        at_anchor = task.panel[task.panel["month"] <= anchor]
        key = (
            _fingerprint(at_anchor),
            str(anchor),
            task.series,
            tuple(sorted(self.fit_options.items())),
            rule.model_dump_json(),
            _registry_key(task.registry),
        )
        if key in _CACHE:
            _CACHE.move_to_end(key)
            self.fitted = _CACHE[key]
        else:
            inputs = pooled_inputs(at_anchor, task.series, anchor, self._limits, task.registry)
            self.fitted = _fit(inputs, self.fit_options, seed=anchor.year)
            _CACHE[key] = self.fitted
            while len(_CACHE) > _CACHE_SIZE:
                _CACHE.popitem(last=False)
        self.inputs = pooled_inputs(
            task.panel, task.series, task.origin, self._limits, task.registry
        )
        return self

    # --------------------------------------------------------------- predicting
    def predict(self, horizon: int, n_draws: int, rng: np.random.Generator) -> Draws:
        """Mixture draws tilted to the calibrated escalation probabilities."""
        check_request(self.name, self.task is not None, horizon, n_draws)
        task, fitted, inputs = self.task, self.fitted, self.inputs
        assert task is not None and fitted is not None and inputs is not None
        positions = inputs.regions.get_indexer(list(task.regions))
        if (positions < 0).any():
            raise RuntimeError("pooled_gbm: a task region has no row in the pooled grid")
        n_regions = len(positions)
        t_last = len(inputs.months) - 1
        h = np.tile(np.arange(1, horizon + 1), n_regions)
        rows = _Rows(
            t=np.full(len(h), t_last),
            r=np.repeat(positions, horizon),
            h=np.minimum(h, fitted.max_h),
            weight=np.ones(len(h)),
        )
        x = design(inputs, rows)
        mean_log = fitted.regressor.predict(x).reshape(n_regions, horizon)
        n_pooled = int(rng.binomial(n_draws, self.mix))
        pooled = self._pooled_draws(mean_log, n_pooled, rng, fitted)
        bench = self.benchmark.predict(horizon, n_draws - n_pooled, rng)
        values = np.concatenate([pooled, bench.values], axis=2)
        values = values[:, :, rng.permutation(n_draws)]
        if self.tilt:
            thresholds = inputs.thresholds[t_last, positions]
            p_h, p_any = self._escalation(fitted, x, rows.h == 1)
            level = thresholds.astype(np.float32)[:, None, None]
            own_h = (values >= level).mean(axis=2)
            own_any = (values[:, :3] >= level).any(axis=1).mean(axis=1)
            p_h = self.trust * p_h.reshape(n_regions, horizon) + (1 - self.trust) * own_h
            p_any = self.trust * p_any + (1 - self.trust) * own_any
            values = tilt_draws(values, thresholds, p_h, rng, p_any=p_any)
        return make_draws(self.name, task, values, dict(bench.notes))

    def _escalation(
        self, fitted: _Fitted, x: np.ndarray, first: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """The classifier's P(escalation at t+h) per row and P(any of 3) per region."""
        p_h = fitted.classifier.predict(x)
        p_any = fitted.any3.predict(x[first])
        if self.calibration == "platt":
            return apply_platt(p_h, fitted.platt_h), apply_platt(p_any, fitted.platt_any3)
        return p_h, p_any

    @staticmethod
    def _pooled_draws(
        mean_log: np.ndarray, n: int, rng: np.random.Generator, fitted: _Fitted
    ) -> np.ndarray:
        """Counts ``expm1(mean + residual)`` with residuals from the matching hold-out bin."""
        n_regions, horizon = mean_log.shape
        out = np.empty((n_regions, horizon, n), dtype=np.float32)
        bins = _bin_of(mean_log, np.arange(1, horizon + 1)[None, :], fitted)
        for r in range(n_regions):
            for h in range(horizon):
                pool = fitted.residuals[bins[r, h]]
                noise = pool[rng.integers(0, len(pool), n)]
                out[r, h] = np.rint(np.expm1(np.maximum(mean_log[r, h] + noise, 0.0)))
        return out


def _bin_of(mean_log: np.ndarray, h: np.ndarray, fitted: _Fitted) -> np.ndarray:
    """Residual bin: predicted-level decile × horizon third."""
    level = np.searchsorted(fitted.bin_edges, mean_log, side="right")
    third = np.minimum((np.minimum(h, fitted.max_h) - 1) * 3 // fitted.max_h, 2)
    return level * 3 + third


def _registry_key(registry: Any) -> int | None:
    """What of the registry the inputs read (levels, countries, borders), hashed."""
    if registry is None:
        return None
    return hash(tuple((r.id, r.level, r.iso3, r.parent, r.neighbours) for r in registry))


def _fingerprint(panel: pd.DataFrame) -> str:
    """A hash of the rows (what the fit depends on), for the fit cache."""
    columns = [c for c in ("region", "month", "series", "value") if c in panel.columns]
    hashed = pd.util.hash_pandas_object(panel[columns].astype(str), index=False)
    return hashlib.sha256(hashed.to_numpy().tobytes()).hexdigest()


def training_rows(
    inputs: PooledInputs,
    max_h: int,
    seed: int,
    max_rows: int,
    train_months: int = 0,
    subnational_weight: float = 1.0,
) -> _Rows:
    """Every (t, r, h) whose target month lies in the grid, quiet rows thinned, capped.

    ``train_months`` > 0 keeps only rows whose month lies in the last that many months of
    the grid (recent regimes); ``subnational_weight`` multiplies the weight of
    sub-national rows, which are few next to the countries.
    """
    n_months, n_regions = inputs.values.shape
    rng = np.random.default_rng(seed)
    first = max(0, n_months - train_months) if train_months else 0
    region_weight = np.where(inputs.is_country, 1.0, float(subnational_weight))
    parts = []
    for h in range(1, max_h + 1):
        t, r = np.meshgrid(np.arange(first, n_months - h), np.arange(n_regions), indexing="ij")
        t, r = t.ravel(), r.ravel()
        known = ~np.isnan(inputs.values[t + h, r]) & ~np.isnan(inputs.features["y_lag1"][t, r])
        t, r = t[known], r[known]
        quiet = ~(inputs.features["y_max12"][t, r] > 0)
        keep = ~quiet | (rng.random(len(t)) < QUIET_KEEP)
        weight = (np.where(quiet, 1 / QUIET_KEEP, 1.0) * region_weight[r])[keep]
        parts.append((t[keep], r[keep], np.full(int(keep.sum()), h), weight))
    t, r, h, w = (np.concatenate(p) for p in zip(*parts, strict=True))
    if len(t) > max_rows:
        chosen = np.sort(rng.choice(len(t), max_rows, replace=False))
        t, r, h, w = t[chosen], r[chosen], h[chosen], w[chosen] * len(t) / max_rows
    return _Rows(t=t, r=r, h=h, weight=w)


def _labels(inputs: PooledInputs, rows: _Rows) -> tuple[np.ndarray, np.ndarray]:
    """log1p(target) and the escalation label of each row."""
    target = inputs.values[rows.t + rows.h, rows.r]
    return np.log1p(target), (target >= inputs.thresholds[rows.t, rows.r]).astype(float)


def _any3(inputs: PooledInputs, rows: _Rows) -> tuple[_Rows, np.ndarray]:
    """The horizon-1 rows with three observed months ahead, and their any-of-3 label."""
    n_months = len(inputs.months)
    keep = (rows.h == 1) & (rows.t + 3 < n_months)
    t, r = rows.t[keep], rows.r[keep]
    ahead = np.stack([inputs.values[t + k, r] for k in (1, 2, 3)])
    observed = ~np.isnan(ahead).any(axis=0)
    limit = inputs.thresholds[t, r]
    label = (np.nan_to_num(ahead) >= limit[None, :]).any(axis=0).astype(float)
    chosen = _Rows(t=t[observed], r=r[observed], h=rows.h[keep][observed],
                   weight=rows.weight[keep][observed])  # fmt: skip
    return chosen, label[observed]


def _booster(x, y, weight, objective: str, options: dict[str, Any], seed: int):
    import lightgbm as lgb

    params = {
        "objective": objective,
        "learning_rate": options["learning_rate"],
        "num_leaves": options["num_leaves"],
        "min_data_in_leaf": options["min_child_samples"],
        "feature_fraction": 0.8,
        "bagging_fraction": 0.8,
        "bagging_freq": 1,
        "lambda_l2": 1.0,
        "num_threads": 1,
        "seed": seed,
        "deterministic": True,
        "verbose": -1,
    }
    data = lgb.Dataset(x, y, weight=weight, free_raw_data=True)
    return lgb.train(params, data, num_boost_round=options["n_estimators"])


def _subset(rows: _Rows, mask: np.ndarray) -> _Rows:
    return _Rows(t=rows.t[mask], r=rows.r[mask], h=rows.h[mask], weight=rows.weight[mask])


def _fit(inputs: PooledInputs, options: dict[str, Any], seed: int) -> _Fitted:
    """Stage 1 on rows ending before the hold-out (calibration, residuals), stage 2 on all."""
    max_h = options["horizons"]
    rows = training_rows(
        inputs, max_h, seed, options["max_rows"], options.get("train_months", 0),
        options.get("subnational_weight", 1.0),
    )  # fmt: skip
    last = len(inputs.months) - 1
    start_hold = last - options["holdout_months"] + 1
    early = _subset(rows, rows.t + rows.h < start_hold)
    held = _subset(rows, rows.t >= start_hold)
    if len(early.t) < 500 or len(held.t) < 100:
        raise ValueError(
            f"pooled_gbm: too little history to fit ({len(early.t)} early rows, "
            f"{len(held.t)} hold-out rows)"
        )
    fitted_parts = {}
    for stage, chosen in (("early", early), ("all", rows)):
        x = design(inputs, chosen)
        y_log, y_esc = _labels(inputs, chosen)
        any_rows, any_label = _any3(inputs, chosen)
        fitted_parts[stage] = (
            _booster(x, y_log, chosen.weight, "regression", options, seed),
            _booster(x, y_esc, chosen.weight, "binary", options, seed),
            _booster(design(inputs, any_rows), any_label, any_rows.weight, "binary", options, seed),
        )
    regressor, classifier, any3 = fitted_parts["early"]
    x_held = design(inputs, held)
    y_log, y_esc = _labels(inputs, held)
    platt_h = platt(classifier.predict(x_held), y_esc, held.weight)
    any_rows, any_label = _any3(inputs, held)
    platt_any3 = platt(any3.predict(design(inputs, any_rows)), any_label, any_rows.weight)
    predicted = regressor.predict(x_held)
    edges = np.quantile(predicted, np.linspace(0.1, 0.9, 9))
    probe = _Fitted([], None, None, None, platt_h, platt_any3, edges, [], max_h)
    bins = _bin_of(predicted, held.h, probe)
    residual = y_log - predicted
    pools = [residual[bins == b] for b in range(30)]
    pools = [pool if len(pool) >= 20 else residual for pool in pools]
    final = fitted_parts["all"]
    log.info(
        "pooled_gbm fitted at %s: %d rows, %d hold-out rows, escalation rate %.3f",
        inputs.months[-1], len(rows.t), len(held.t), float(y_esc.mean()),
    )  # fmt: skip
    return _Fitted(
        columns=design_columns(inputs),
        regressor=final[0],
        classifier=final[1],
        any3=final[2],
        platt_h=platt_h,
        platt_any3=platt_any3,
        bin_edges=edges,
        residuals=pools,
        max_h=max_h,
    )
