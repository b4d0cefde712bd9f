"""Rolling-origin backtests: refit at each origin on the data up to it, score against truth.

Each (model, origin) pair is one job, and jobs are independent — they run through any
:class:`forecast.executors.Executor` (serial, a process pool, Dask) with identical results,
because each job carries its own seed (``[seed, origin]``: every model sees the same random
stream at an origin, so differences between models are not noise from different seeds).

A job is small (model, origin, regions, seed, and the truth and thresholds it is scored
against); the panel and registry travel to each worker once per backtest as the executor's
shared object (:class:`BacktestData`), and :func:`run_job` cuts the panel at the job's
origin before the model is made, so the model is only ever handed months up to the origin
(:func:`forecast.pipeline.cut_panel`). Shipping a cut per job instead cost ~200 MB of
pickling per job at 10,000 regions × 300 months.

A job is scored where it ran and returns small score and forecast frames, never its draws,
which the caller consumes one by one (``executor.imap``): a worker holds the panel once plus
one job's cut and draws at a time, whatever the number of origins, and the caller holds no
cut at all. Truth, escalation thresholds and base rates are computed once per backtest.

The geometry (origins × horizons) comes from :mod:`forecast.geometry`; a backtest that
cannot score every step raises instead of shrinking. Scoring follows the VIEWS protocol
(CRPS on counts, ignorance on the VIEWS bins, interval score at 90%) plus CRPS on log1p
counts, MAE, coverage and the escalation scores — see :mod:`forecast.metrics`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from features.config import FeatureConfig
from forecast import metrics
from forecast.draws import Draws
from forecast.executors import SerialExecutor
from forecast.geometry import Geometry, panel_geometry
from forecast.output import forecast_frame
from forecast.pipeline import (
    ModelFactory,
    cut_panel,
    fit_and_draw,
)
from forecast.risk import EscalationRule, escalation_references
from riskcast.errors import InputError
from riskcast.months import format_month

if TYPE_CHECKING:
    from data.registry import Registry
    from forecast.executors import Executor

log = logging.getLogger(__name__)

REFERENCE_MODEL = "conflictology"
"""The benchmark skill is measured against (hardest to beat in the VIEWS challenge)."""

SCORE_METRICS: tuple[str, ...] = (*metrics.COUNT_METRICS, "brier", "log_loss", "brier_clim")
"""Per-row score columns of :attr:`BacktestResult.scores`."""


@dataclass(frozen=True)
class BacktestData:
    """What every job of a backtest reads: sent to each worker once, never per job.

    Attributes:
        panel: the whole long panel (each job cuts it at its own origin).
        registry: region registry for models that use neighbours; may be None.
        features: the feature set of feature-based models.
        rule: the escalation rule scored (and learnt by models that learn escalation).
    """

    panel: pd.DataFrame
    registry: Any
    features: FeatureConfig | None = None
    rule: EscalationRule | None = None


@dataclass(frozen=True)
class BacktestJob:
    """One fit and its scoring: a model at an origin (the panel comes from BacktestData).

    Picklable and small: its size does not depend on the length of the panel (tested).
    ``truth`` holds only the observations the job is scored against (``(region,
    horizon)``, the months after the origin); the model never sees it, and scoring happens
    where the draws are, which are then dropped. ``thresholds`` (``(region,)``) and
    ``base_rate`` (``(horizon,)``) are the escalation references at the origin, computed
    once per origin for every model.
    """

    model: str
    origin: pd.Period
    regions: tuple[str, ...]
    horizon: int
    series: str
    n_draws: int
    seed: int
    options: dict[str, Any] = field(default_factory=dict)
    factory: ModelFactory | None = None
    truth: np.ndarray | None = None
    thresholds: np.ndarray | None = None
    base_rate: np.ndarray | None = None


@dataclass(frozen=True)
class JobResult:
    """What a backtest job sends back: small frames, never the draws.

    Attributes:
        scores: the job's rows of :attr:`BacktestResult.scores`.
        forecasts: the job's output-contract rows.
        notes: ``(model, origin, region, note)`` per fallback note.
    """

    scores: pd.DataFrame
    forecasts: pd.DataFrame
    notes: list[tuple[str, str, str, str]]


def origin_seed(seed: int, origin: pd.Period) -> list[int]:
    """Seed entropy of one origin: the same for every model and every executor."""
    return [int(seed), origin.year * 12 + origin.month - 1]


def draw_job(job: BacktestJob, data: BacktestData) -> Draws:
    """Fit and sample one (model, origin) job on the panel cut at its origin.

    The cut is made here, before the model exists, so the model cannot see a month after
    the origin; it lives only as long as the job.
    """
    return fit_and_draw(
        cut_panel(data.panel, job.origin),
        data.registry,
        model=job.model,
        origin=job.origin,
        horizon=job.horizon,
        series=job.series,
        n_draws=job.n_draws,
        rng=np.random.default_rng(origin_seed(job.seed, job.origin)),
        regions=job.regions,
        options=job.options,
        factory=job.factory,
        features=data.features,
        rule=data.rule,
    )


def run_job(job: BacktestJob, data: BacktestData) -> JobResult:
    """Fit, sample and score one job — top level so process pools can pickle it.

    ``data`` is the executor's shared object (one copy per worker, see
    :mod:`forecast.executors`). Why score here: the draws (regions × horizon × draws
    float32, 458 MB at 10,000 regions) are the bulk of a backtest; scored in the worker,
    only small frames travel back and the parent never holds more than one job's draws.
    """
    if job.truth is None or job.thresholds is None or job.base_rate is None:
        raise ValueError("a backtest job needs its truth, thresholds and base rate to be scored")
    draws = draw_job(job, data)
    scores, frame = _score(draws, job.truth, job.thresholds, job.base_rate)
    notes = [
        (draws.model, format_month(draws.origin), region, note)
        for region, note in draws.notes.items()
    ]
    return JobResult(scores=scores, forecasts=frame, notes=notes)


@dataclass(frozen=True)
class BacktestResult:
    """Forecasts and scores of a backtest.

    Attributes:
        forecasts: output-contract rows of every model and origin.
        scores: one row per model × origin × horizon × region: keys (``model, origin,
            region, series, month, horizon``), ``obs``, ``threshold``, ``p_escalation``,
            ``escalated`` (0/1), ``base_rate`` and every metric of :data:`SCORE_METRICS`.
        geometry: the origins × horizons grid that was scored.
        notes: one row per fallback note (``model, origin, region, note``).
    """

    forecasts: pd.DataFrame
    scores: pd.DataFrame
    geometry: Geometry
    notes: pd.DataFrame

    @property
    def models(self) -> list[str]:
        """Model names in the order they were run."""
        return list(dict.fromkeys(self.scores["model"]))

    def summary(self, by_horizon: bool = False) -> pd.DataFrame:
        """Mean scores per model (default) or per model × horizon.

        Columns: ``model`` (and ``horizon``), ``n`` (scored region-months), the mean of every
        metric (``in_50``/``in_90`` are then the empirical coverages ``coverage_50`` and
        ``coverage_90``), ``brier_skill`` (against the climatological base rate from the
        training data of each origin), and when ``conflictology`` was run,
        ``crps_skill`` / ``crps_log_skill`` = 1 − CRPS / CRPS of conflictology over the
        same steps (positive = better than the benchmark).
        """
        keys = ["model", "horizon"] if by_horizon else ["model"]
        grouped = self.scores.groupby(keys, sort=False)
        table = grouped[list(SCORE_METRICS)].mean()
        table.insert(0, "n", grouped.size())
        table = table.rename(columns={"in_50": "coverage_50", "in_90": "coverage_90"})
        table["brier_skill"] = [
            metrics.brier_skill(b, c)
            for b, c in zip(table["brier"], table["brier_clim"], strict=True)
        ]
        if REFERENCE_MODEL in set(self.scores["model"]):
            reference = table.xs(REFERENCE_MODEL, level="model") if by_horizon else None
            for metric in ("crps", "crps_log"):
                if by_horizon:
                    ref = reference[metric].reindex(table.index.get_level_values("horizon"))
                    ref_values = ref.to_numpy()
                else:
                    ref_values = table.loc[REFERENCE_MODEL, metric]
                with np.errstate(divide="ignore", invalid="ignore"):
                    table[f"{metric}_skill"] = 1.0 - table[metric].to_numpy() / ref_values
        return table.reset_index()

    def relabelled(self, label: str) -> BacktestResult:
        """The same result with every model name replaced by ``label`` (one-model results).

        Why: nested selection backtests one model under several option sets and must tell
        the candidates apart in one table.
        """
        frames = [self.forecasts.copy(), self.scores.copy(), self.notes.copy()]
        for frame in frames:
            if "model" in frame.columns:
                frame["model"] = label
        return BacktestResult(frames[0], frames[1], self.geometry, frames[2])

    @staticmethod
    def concat(results: Sequence[BacktestResult]) -> BacktestResult:
        """Several backtests over the same origins as one (geometry of the first)."""
        if not results:
            raise ValueError("nothing to concatenate")
        return BacktestResult(
            forecasts=pd.concat([r.forecasts for r in results], ignore_index=True),
            scores=pd.concat([r.scores for r in results], ignore_index=True),
            geometry=results[0].geometry,
            notes=pd.concat([r.notes for r in results], ignore_index=True),
        )

    def reliability(self, model: str | None = None, n_bins: int = 10) -> pd.DataFrame:
        """Reliability table of the escalation probability (one model, or all pooled)."""
        rows = self.scores if model is None else self.scores[self.scores["model"] == model]
        return metrics.reliability_table(rows["p_escalation"], rows["escalated"], n_bins)


def crps_weights(summary: pd.DataFrame, metric: str = "crps") -> dict[str, float]:
    """Ensemble weights from a backtest: proportional to 1 / mean CRPS, summing to one.

    Args:
        summary: :meth:`BacktestResult.summary` (overall rows; per-horizon rows are averaged).
        metric: the score to invert (``crps`` on counts, or ``crps_log``).

    Raises:
        InputError: when the summary has no such metric or a model's score is not positive.
    """
    if metric not in summary.columns:
        raise InputError(f"the backtest summary has no '{metric}' column", field="metric")
    per_model = summary.groupby("model", sort=False)[metric].mean()
    bad = per_model[~(per_model > 0) | ~np.isfinite(per_model)]
    if len(bad):
        raise InputError(
            f"cannot weight by 1/{metric}: model(s) {', '.join(bad.index)} score {bad.tolist()}",
            field=metric,
        )
    inverse = 1.0 / per_model
    return {str(model): float(w) for model, w in (inverse / inverse.sum()).items()}


def _truth_table(panel: pd.DataFrame, series: str, months: list[pd.Period]) -> pd.DataFrame:
    """Observed values of every scored month, pivoted once: ``(region, month)``, NaN = none."""
    rows = panel[(panel["series"] == series) & panel["month"].isin(months)]
    wide = rows.pivot_table(index="region", columns="month", values="value", aggfunc="sum")
    return wide.reindex(columns=months)


def _truth(
    table: pd.DataFrame, series: str, regions: Sequence[str], months: list[pd.Period]
) -> np.ndarray:
    """Observed values ``(region, horizon)``; raises when any is missing (never drops)."""
    wide = table.reindex(index=list(regions), columns=months)
    if wide.isna().to_numpy().any():
        gaps = wide.isna().stack()
        first = gaps[gaps].index[:5]
        listed = ", ".join(f"{region} {format_month(month)}" for region, month in first)
        raise InputError(
            f"cannot score '{series}': no observation for {int(gaps.sum())} region-month(s) "
            f"forecast (e.g. {listed}); fill the panel or choose other origins",
            field="value",
        )
    return wide.to_numpy(dtype=np.float64)


def _score(
    draws: Draws, obs: np.ndarray, thresholds: np.ndarray, base: np.ndarray
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Score rows and output-contract rows of one job's draws against ``obs``."""
    months = draws.months()
    if obs.shape != draws.values.shape[:2]:
        raise RuntimeError(f"truth {obs.shape} does not match draws {draws.values.shape[:2]}")
    prob = draws.prob_at_least(thresholds).astype(np.float64)
    escalated = (obs >= thresholds[:, None]).astype(np.float64)
    scores = metrics.score_counts(obs, draws.values)
    scores.update(metrics.score_probabilities(prob, escalated, base[None, :]))
    n_regions, horizon = obs.shape
    frame = pd.DataFrame(
        {
            "model": draws.model,
            "origin": format_month(draws.origin),
            "region": np.repeat(np.asarray(draws.regions, dtype=object), horizon),
            "series": draws.series,
            "month": np.tile([format_month(m) for m in months], n_regions),
            "horizon": np.tile(np.arange(1, horizon + 1), n_regions),
            "obs": obs.ravel(),
            "threshold": np.repeat(thresholds, horizon),
            "p_escalation": prob.ravel(),
            "escalated": escalated.ravel(),
            "base_rate": np.tile(base, n_regions),
            **{name: np.asarray(values).ravel() for name, values in scores.items()},
        }
    )
    return frame, forecast_frame(draws, thresholds)


@dataclass(frozen=True)
class _OriginPlan:
    """What every job of one origin shares: the regions forecast and their truth."""

    origin: pd.Period
    regions: tuple[str, ...]
    truth: np.ndarray


def run_backtest(
    panel: pd.DataFrame,
    registry: Registry | None,
    *,
    models: list[str],
    origins: list[pd.Period],
    horizon: int,
    series: str = "fatalities",
    n_draws: int = 1000,
    seed: int = 0,
    executor: Executor | None = None,
    progress: bool = True,
    regions: Sequence[str] | None = None,
    options: dict[str, dict[str, Any]] | None = None,
    rule: EscalationRule | None = None,
    factory: ModelFactory | None = None,
    features: FeatureConfig | None = None,
) -> BacktestResult:
    """Refit every model at every origin on the data up to it and score every step.

    Args:
        panel: long panel; must hold observations for every forecast region-month.
        registry: region registry (for models that use neighbours); may be None.
        models: model names, in the order tables list them (no duplicates).
        origins: forecast origins (no duplicates).
        horizon: months ahead, 1..36; every origin + horizon must lie within the data.
        series: the series forecast and scored.
        n_draws: draws per region-month (VIEWS: 1,000).
        seed: base seed; each origin gets ``[seed, origin]``.
        executor: runs the jobs (``None`` → serially in this process).
        progress: show a tqdm bar (also hidden when stderr is not a terminal).
        regions: regions to forecast (default: every region with data at each origin;
            a region with no history at an origin is not forecast there and is logged).
        options: model name → constructor options.
        rule: escalation rule (default: ``[escalation]``'s defaults; entry points pass the
            configured one).
        factory: ``(name, **options) -> model`` (default ``forecast.models.make_model``).
        features: the feature set of feature-based models (default: ``[features]`` defaults).

    Raises:
        InputError: empty or duplicate models, a geometry that would drop an origin or a
            step, or a forecast region-month without an observation to score it.
    """
    if not models:
        raise InputError("no model given to backtest", field="models")
    duplicated = sorted({m for m in models if models.count(m) > 1})
    if duplicated:
        raise InputError(f"model(s) listed twice: {', '.join(duplicated)}", field="models")
    geometry = panel_geometry(panel, origins, horizon, series=series, scored=True)
    log.info("backtest %s: %s", ", ".join(models), geometry.describe())
    rule = rule or EscalationRule()
    if rule.series != series:
        rule = rule.model_copy(update={"series": series})
    options = options or {}

    # Checked for every origin before any fit (a gap in the truth fails in seconds), without
    # a panel cut per origin (~200 MB each at 10,000 regions): jobs cut where they run.
    first_month = panel.loc[panel["series"] == series].groupby("region")["month"].min()
    scored_months = sorted({o + h for o in geometry.origins for h in range(1, horizon + 1)})
    truth = _truth_table(panel, series, scored_months)
    plans: list[_OriginPlan] = []
    for origin in geometry.origins:
        # the regions forecast_regions(cut_panel(panel, origin), series) returns
        available = tuple(sorted(str(r) for r in first_month.index[first_month <= origin]))
        chosen = tuple(r for r in regions if r in available) if regions else available
        skipped = sorted(set(regions or available) - set(chosen))
        if regions and skipped:
            raise InputError(
                f"region(s) {', '.join(skipped)} have no '{series}' data up to origin "
                f"{format_month(origin)}; start the backtest later",
                field="regions",
            )
        if not chosen:
            raise InputError(
                f"no region has '{series}' data up to origin {format_month(origin)}",
                field="origins",
            )
        obs = _truth(truth, series, chosen, [origin + h for h in range(1, horizon + 1)])
        plans.append(_OriginPlan(origin, chosen, obs))
    del truth
    references = escalation_references(
        panel, {plan.origin: plan.regions for plan in plans}, horizon, rule
    )

    def jobs_at(plan: _OriginPlan) -> list[BacktestJob]:
        thresholds, base_rate = references[plan.origin]
        return [
            BacktestJob(
                model=model,
                origin=plan.origin,
                regions=plan.regions,
                horizon=horizon,
                series=series,
                n_draws=n_draws,
                seed=seed,
                options=dict(options.get(model, {})),
                factory=factory,
                truth=plan.truth,
                thresholds=thresholds,
                base_rate=base_rate,
            )
            for model in models
        ]

    # jobs in (origin, model) order, whichever executor runs them
    jobs = [job for plan in plans for job in jobs_at(plan)]
    shared = BacktestData(panel=panel, registry=registry, features=features, rule=rule)
    score_frames: list[pd.DataFrame] = []
    forecast_frames: list[pd.DataFrame] = []
    notes: list[tuple[str, str, str, str]] = []
    bar = tqdm(
        total=len(plans) * len(models),
        desc="backtest fits",
        unit="fit",
        disable=None if progress else True,
    )
    try:
        for result in (executor or SerialExecutor()).imap(run_job, jobs, shared=shared):
            score_frames.append(result.scores)
            forecast_frames.append(result.forecasts)
            notes.extend(result.notes)
            bar.update(1)
    finally:
        bar.close()

    scores = pd.concat(score_frames, ignore_index=True)
    del score_frames
    expected = sum(len(plan.regions) for plan in plans) * len(models) * horizon
    if len(scores) != expected:  # the geometry promised every step; hold it to that
        raise RuntimeError(f"backtest scored {len(scores)} region-months, expected {expected}")
    return BacktestResult(
        forecasts=pd.concat(forecast_frames, ignore_index=True),
        scores=scores,
        geometry=geometry,
        notes=pd.DataFrame(notes, columns=["model", "origin", "region", "note"]),
    )
