"""Record every backtest and every production refit as MLflow runs.

* A backtest is a parent run (kind ``backtest``) with one nested run per model (kind
  ``backtest-model``) holding that model's params, metrics (overall and per horizon, e.g.
  ``crps_log`` and ``crps_log_h3``) and artifacts (forecast and score CSVs, fan charts of the
  top regions, a reliability plot, the feature list) and the model itself as a pyfunc model.
* A production refit is one run (kind ``refit``) with the forecast, fan charts, fallback notes
  and the pyfunc model.

Every run carries the tags that make runs comparable and traceable: ``data_fingerprint``
(sha256 of the panel rows used), ``origins_hash``, ``regions_hash``, ``code_version``,
``trigger`` (``cli``, ``schedule`` or ``api``) and ``synthetic`` (``true`` on demo data).
Metrics, params and tags go in batches (one ``log_batch`` per few hundred values) and
artifacts in one upload per run, so logging stays cheap next to the fits.
"""

from __future__ import annotations

import json
import logging
import tempfile
import time
from collections.abc import Iterable, Mapping
from itertools import zip_longest
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
from mlflow.entities import Metric, Param, RunTag

from experiments import tracking
from experiments.artifacts import (
    config_dump,
    feature_list,
    reliability_table_of,
    write_fan_charts,
    write_features,
)
from experiments.config import experiments_config
from experiments.fingerprint import (
    code_version,
    data_fingerprint,
    dict_hash,
    is_synthetic,
    set_hash,
)
from experiments.pyfunc_model import log_forecaster
from features.config import FeatureConfig, feature_set_hash
from forecast.risk import EscalationRule
from reports.plots import reliability_plot
from riskcast.errors import InputError
from riskcast.months import format_month

log = logging.getLogger(__name__)

TRIGGERS = ("cli", "schedule", "api")
MAX_PARAM_LENGTH = 6000  # MLflow 3 limit for a param value


# --------------------------------------------------------------------------- small helpers


def _month_text(value: Any) -> str:
    return format_month(value) if isinstance(value, pd.Period) else str(value)


def _param_text(value: Any) -> str:
    if isinstance(value, Mapping):
        text = json.dumps(value, sort_keys=True, default=str)
    elif isinstance(value, (list, tuple)):
        text = ",".join(_month_text(item) for item in value)
    else:
        text = _month_text(value)
    if len(text) > MAX_PARAM_LENGTH:
        text = text[: MAX_PARAM_LENGTH - 40] + f"… (sha {dict_hash({'v': text})})"
    return text


def _check_trigger(trigger: str) -> None:
    if trigger not in TRIGGERS:
        raise InputError(f"trigger must be one of {TRIGGERS}, got '{trigger}'", field="trigger")


def _chunks(items: list[Any], size: int) -> list[list[Any]]:
    return [items[start : start + size] for start in range(0, len(items), size)]


def _log_batch(
    run_id: str, metrics: Mapping[str, float], params: Mapping[str, Any], tags: Mapping[str, str]
) -> None:
    """Log everything in as few round trips as MLflow's batch limits allow.

    MLflow accepts at most 1000 metrics, 100 params and 100 tags per ``log_batch``; a backtest
    model run (about a dozen metrics × (1 + horizon)) fits in one or two calls. Non-finite
    metric values are skipped (MLflow would store NaN, which sorts unpredictably).
    """
    mlflow_client = tracking.client()
    now = int(time.time() * 1000)
    metric_list = [
        Metric(key, float(value), now, 0)
        for key, value in metrics.items()
        if value is not None and np.isfinite(value)
    ]
    param_list = [Param(key, _param_text(value)) for key, value in params.items()]
    tag_list = [RunTag(key, str(value)) for key, value in tags.items()]
    batches = zip_longest(
        _chunks(metric_list, 1000),
        _chunks(param_list, 100),
        _chunks(tag_list, 100),
        fillvalue=[],
    )
    for metric_chunk, param_chunk, tag_chunk in batches:
        mlflow_client.log_batch(run_id, metrics=metric_chunk, params=param_chunk, tags=tag_chunk)


def _feature_context(feature_config: FeatureConfig | None) -> tuple[FeatureConfig, str]:
    """The feature set used (default: the defaults) and its hash."""
    feature_config = feature_config or FeatureConfig()
    return feature_config, feature_set_hash(feature_config)


def _escalation_rule(rule: EscalationRule | None) -> EscalationRule:
    return rule or EscalationRule()


def common_tags(panel: pd.DataFrame, *, trigger: str, kind: str) -> dict[str, str]:
    """Tags every riskcast run carries (fingerprint, code version, trigger, synthetic)."""
    return {
        "kind": kind,
        "data_fingerprint": data_fingerprint(panel),
        "code_version": code_version(),
        "trigger": trigger,
        "synthetic": str(is_synthetic(panel)).lower(),
    }


# --------------------------------------------------------------------------- backtests


METRIC_ALIASES = {"ae_median": "mae", "interval_90": "interval_score_90"}
"""Extra names for backtest metrics, as the issue and the VIEWS papers call them: ``mae`` is
the absolute error of the median (the point forecast that minimises it)."""
_NOT_METRICS = frozenset({"model", "horizon", "n"})


def _row_metrics(row: pd.Series, suffix: str = "") -> dict[str, float]:
    out: dict[str, float] = {}
    for column, value in row.items():
        if column in _NOT_METRICS or not isinstance(value, (int, float, np.number)):
            continue
        out[f"{column}{suffix}"] = float(value)
        if column in METRIC_ALIASES:
            out[f"{METRIC_ALIASES[column]}{suffix}"] = float(value)
    return out


def model_metrics(summary: pd.DataFrame, by_horizon: pd.DataFrame, model: str) -> dict[str, float]:
    """Overall and per-horizon metrics of one model from the backtest's summaries.

    Args:
        summary: ``BacktestResult.summary()`` (one row per model; means over every scored
            origin × horizon × region, ``coverage_*``, ``brier_skill``, ``crps_log_skill`` …).
        by_horizon: ``BacktestResult.summary(by_horizon=True)``.
        model: the model whose row to take.

    Returns:
        ``{metric: value}`` with per-horizon values as ``<metric>_h<h>`` (e.g.
        ``crps_log_h3``), the scored count as ``n_scored``, and :data:`METRIC_ALIASES`.
    """
    metrics: dict[str, float] = {}
    overall = summary[summary["model"].astype(str) == model]
    if len(overall):
        row = overall.iloc[0]
        metrics |= _row_metrics(row)
        if "n" in row:
            metrics["n_scored"] = float(row["n"])
    for _, row in by_horizon[by_horizon["model"].astype(str) == model].iterrows():
        metrics |= _row_metrics(row, f"_h{int(row['horizon'])}")
    return metrics


def loggable_options(options: Mapping[str, Any]) -> dict[str, Any]:
    """Model options as params: a feature-set object becomes ``feature_set:<hash>``."""
    out: dict[str, Any] = {}
    for key, value in options.items():
        if hasattr(value, "model_dump"):
            _, digest = _feature_context(value)
            out[key] = f"feature_set:{digest}" if digest else value.model_dump(mode="json")
        else:
            out[key] = value
    return out


def log_backtest(
    result: Any,
    *,
    panel: pd.DataFrame,
    experiment: str | None = None,
    trigger: str = "cli",
    registry: Any = None,
    feature_config: Any = None,
    escalation_rule: Any = None,
    model_options: Mapping[str, Mapping[str, Any]] | None = None,
    n_draws: int | None = None,
    seed: int | None = None,
    run_name: str | None = None,
    extra_tags: Mapping[str, str] | None = None,
    log_models: bool = True,
) -> str:
    """Log a backtest as a parent run with one nested run per model.

    Args:
        result: a ``forecast.backtest.BacktestResult`` (``.forecasts``, ``.scores``,
            ``.summary()``, ``.geometry``).
        panel: the panel the backtest ran on (fingerprinted up to the last scored month).
        experiment: MLflow experiment; default ``[experiments] backtest_experiment``.
        trigger: who started it: ``cli``, ``schedule`` or ``api``.
        registry: the region registry (feature list, pyfunc model).
        feature_config: the feature set used (the caller's loaded ``[features]``).
        escalation_rule: the rule scored (the caller's loaded ``[escalation]``).
        model_options: options per model name, as given to ``make_model``.
        n_draws: draws per forecast (read from ``result`` when it carries them).
        seed: base seed (read from ``result`` when it carries it).
        run_name: parent run name; default describes series, origins and models.
        extra_tags: more tags for the parent and nested runs (e.g. the spec name).
        log_models: log each model as a pyfunc model (needed to promote it).

    Returns:
        The parent run id.
    """
    _check_trigger(trigger)
    config = experiments_config()
    experiment_id = tracking.ensure_experiment(experiment or config.backtest_experiment)
    scores: pd.DataFrame = result.scores
    forecasts: pd.DataFrame = result.forecasts
    if scores.empty:
        raise InputError("the backtest has no scores to log", field="scores")
    models = list(dict.fromkeys(scores["model"].astype(str)))
    origins = sorted({_month_text(o) for o in scores["origin"]})
    horizon = int(scores["horizon"].max())
    series = str(scores["series"].iloc[0]) if "series" in scores else "fatalities"
    regions = sorted(set(scores["region"].astype(str)))
    last_month = pd.Period(origins[-1], freq="M") + horizon
    used = panel[panel["month"] <= last_month]
    n_draws = n_draws if n_draws is not None else getattr(result, "n_draws", None)
    seed = seed if seed is not None else getattr(result, "seed", None)
    feature_config, feature_hash = _feature_context(feature_config)
    rule = _escalation_rule(escalation_rule)
    model_options = {k: dict(v) for k, v in (model_options or {}).items()}

    tags = common_tags(used, trigger=trigger, kind="backtest")
    tags |= {
        "origins_hash": set_hash(origins),
        "regions_hash": set_hash(regions),
        "series": series,
        **(extra_tags or {}),
    }
    shared_params = {
        "series": series,
        "origins": origins,
        "n_origins": len(origins),
        "horizon": horizon,
        "n_draws": n_draws,
        "seed": seed,
        "feature_set_hash": feature_hash,
        "escalation_rule": config_dump(rule),
        "n_regions": len(regions),
    }
    shared_params = {k: v for k, v in shared_params.items() if v is not None}
    features = feature_list(
        used, registry, feature_config, series=series, origin=pd.Period(origins[-1], freq="M")
    )
    summary, by_horizon = result.summary(), result.summary(by_horizon=True)
    name = run_name or f"backtest {series} {origins[0]}..{origins[-1]} ({len(origins)} origins)"

    with mlflow.start_run(experiment_id=experiment_id, run_name=name) as parent:
        parent_id = parent.info.run_id
        _log_batch(parent_id, {}, {**shared_params, "models": models}, tags)
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            geometry = config_dump(getattr(result, "geometry", None))
            (folder / "geometry.json").write_text(json.dumps(geometry, default=str, indent=1))
            write_features(folder, feature_config, feature_hash, features)
            summary.to_csv(folder / "summary.csv", index=False)
            by_horizon.to_csv(folder / "summary_by_horizon.csv", index=False)
            tracking.client().log_artifacts(parent_id, str(folder))
        for model in models:
            _log_model_run(
                model=model,
                scores=scores[scores["model"].astype(str) == model],
                forecasts=forecasts[forecasts["model"].astype(str) == model],
                panel=used,
                series=series,
                shared_params=shared_params,
                options=model_options.get(model, {}),
                tags={**tags, "kind": "backtest-model", "model": model},
                metrics=model_metrics(summary, by_horizon, model),
                feature_payload=(feature_config, feature_hash, features),
                rule=rule,
                registry=registry,
                top_regions=config.top_regions,
                log_models=log_models,
                experiment_id=experiment_id,
            )
    log.info("logged backtest of %s as MLflow run %s", ", ".join(models), parent_id)
    return parent_id


def _log_model_run(
    *,
    model: str,
    scores: pd.DataFrame,
    forecasts: pd.DataFrame,
    panel: pd.DataFrame,
    series: str,
    shared_params: dict[str, Any],
    options: dict[str, Any],
    tags: dict[str, str],
    metrics: dict[str, float],
    feature_payload: tuple[Any, str | None, list[str]],
    rule: EscalationRule,
    registry: Any,
    top_regions: int,
    log_models: bool,
    experiment_id: str,
) -> str:
    with mlflow.start_run(experiment_id=experiment_id, run_name=model, nested=True) as child:
        run_id = child.info.run_id
        shown = loggable_options(options)
        params = {
            **shared_params,
            "model": model,
            "options": shown,
            "options_hash": dict_hash(shown),
        }
        params |= {f"option.{k}": v for k, v in shown.items()}
        _log_batch(run_id, metrics, params, tags)
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            forecasts.to_csv(folder / "forecasts.csv", index=False)
            scores.to_csv(folder / "scores.csv", index=False)
            write_features(folder, *feature_payload)
            if len(forecasts):
                last = forecasts[
                    forecasts["origin"].map(_month_text)
                    == max(forecasts["origin"].map(_month_text))
                ]
                write_fan_charts(
                    folder / "fan_charts",
                    last,
                    panel,
                    series=series,
                    n_regions=top_regions,
                    label=model,
                    with_truth=True,
                )
            table = reliability_table_of(scores)
            if table is not None:
                table.to_csv(folder / "reliability.csv", index=False)
                reliability_plot(
                    table,
                    folder / "reliability.png",
                    title=f"{model}: reliability of P(escalation)",
                )
            tracking.client().log_artifacts(run_id, str(folder))
        if log_models:
            config = {
                "horizon": shared_params.get("horizon", 12),
                "series": series,
                "n_draws": shared_params.get("n_draws") or 1000,
                "seed": shared_params.get("seed") or 0,
            }
            uri = log_forecaster(
                model, options, config, registry=registry, rule=rule, features=feature_payload[0]
            )
            tracking.client().set_tag(run_id, "model_uri", uri)
    return run_id


# --------------------------------------------------------------------------- refits


def refit_metrics(result: Any) -> dict[str, float]:
    """Summary numbers of a production forecast (no truth yet, so no scores)."""
    frame: pd.DataFrame = result.frame
    metrics = {
        "n_regions": float(frame["region"].nunique()),
        "n_fallback_notes": float(len(getattr(result, "notes", {}) or {})),
    }
    if "p_escalation" in frame and len(frame):
        metrics["p_escalation_max"] = float(frame["p_escalation"].max())
        metrics["p_escalation_mean"] = float(frame["p_escalation"].mean())
        first = frame[frame["horizon"] == frame["horizon"].min()]
        metrics["p_escalation_max_h1"] = float(first["p_escalation"].max())
    if len(frame):
        metrics["mean_total_h1"] = float(
            frame.loc[frame["horizon"] == frame["horizon"].min(), "mean"].sum()
        )
    return metrics


def log_refit(
    result: Any,
    *,
    trigger: str,
    panel: pd.DataFrame,
    experiment: str | None = None,
    options: Mapping[str, Any] | None = None,
    seed: int | None = None,
    registry: Any = None,
    feature_config: Any = None,
    escalation_rule: Any = None,
    champion_run_id: str | None = None,
    champion_version: str | None = None,
    log_model: bool = True,
) -> str:
    """Log one production forecast (a ``forecast.pipeline.ForecastResult``) as a run.

    Args:
        result: the forecast (``.draws``, ``.frame``, ``.thresholds``, ``.notes``).
        trigger: ``cli``, ``schedule`` or ``api``.
        panel: the panel forecast from (fingerprinted up to the origin — the rows used).
        experiment: MLflow experiment; default ``[experiments] refit_experiment``.
        options: the model options used.
        seed: the seed used (a param, so the forecast can be reproduced).
        registry: the region registry (stored with the pyfunc model).
        feature_config: the feature set (the caller's loaded ``[features]``).
        escalation_rule: the rule (the caller's loaded one).
        champion_run_id: the champion run the model name came from, if any (tagged so an
            analyst can trace a bulletin to the backtest that chose its model).
        champion_version: the registered model version behind the ``champion`` alias when
            the refit ran (tag ``champion_version``).
        log_model: also log the model as a pyfunc model.

    Returns:
        The run id.
    """
    _check_trigger(trigger)
    config = experiments_config()
    experiment_id = tracking.ensure_experiment(experiment or config.refit_experiment)
    draws = result.draws
    frame: pd.DataFrame = result.frame
    origin = draws.origin
    used = panel[panel["month"] <= origin]
    feature_config, feature_hash = _feature_context(feature_config)
    rule = _escalation_rule(escalation_rule)
    options = dict(options if options is not None else getattr(result, "model_options", {}))
    shown = loggable_options(options)
    regions = sorted(set(frame["region"].astype(str)))
    tags = common_tags(used, trigger=trigger, kind="refit")
    tags |= {"model": draws.model, "series": draws.series, "regions_hash": set_hash(regions)}
    if champion_run_id:
        tags["champion_run_id"] = champion_run_id
    if champion_version:
        tags["champion_version"] = champion_version
    params = {
        "model": draws.model,
        "series": draws.series,
        "origin": format_month(origin),
        "horizon": draws.horizon,
        "n_draws": draws.n_draws,
        "seed": seed,
        "options": shown,
        "options_hash": dict_hash(shown),
        "feature_set_hash": feature_hash,
        "escalation_rule": config_dump(rule),
        "n_regions": len(regions),
    }
    params |= {f"option.{k}": v for k, v in shown.items()}
    params = {k: v for k, v in params.items() if v is not None}
    name = f"refit {draws.model} {format_month(origin)}"
    with mlflow.start_run(experiment_id=experiment_id, run_name=name) as run:
        run_id = run.info.run_id
        _log_batch(run_id, refit_metrics(result), params, tags)
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            frame.to_csv(folder / "forecast.csv", index=False)
            notes = getattr(result, "notes", {}) or {}
            (folder / "notes.json").write_text(json.dumps(notes, indent=1, default=str))
            features = feature_list(
                used, registry, feature_config, series=draws.series, origin=origin
            )
            write_features(folder, feature_config, feature_hash, features)
            write_fan_charts(
                folder / "fan_charts",
                frame,
                used,
                series=draws.series,
                n_regions=config.top_regions,
                label=draws.model,
            )
            tracking.client().log_artifacts(run_id, str(folder))
        if log_model:
            model_config = {
                "horizon": draws.horizon,
                "series": draws.series,
                "n_draws": draws.n_draws,
                "seed": seed or 0,
            }
            uri = log_forecaster(
                draws.model,
                options,
                model_config,
                registry=registry,
                rule=rule,
                features=feature_config,
            )
            tracking.client().set_tag(run_id, "model_uri", uri)
    log.info("logged refit of %s from %s as MLflow run %s", draws.model, origin, run_id)
    return run_id


def runs_of(
    experiment: str, *, kinds: Iterable[str] | None = None, max_results: int = 5000
) -> pd.DataFrame:
    """Runs of an experiment as a frame (``mlflow.search_runs``), optionally by kind."""
    mlflow_client = tracking.client()
    found = mlflow_client.get_experiment_by_name(experiment)
    if found is None:
        return pd.DataFrame()
    frame = mlflow.search_runs(
        experiment_ids=[found.experiment_id], max_results=max_results, output_format="pandas"
    )
    if kinds is not None:
        if "tags.kind" not in frame:
            return frame.iloc[:0]  # no run of this experiment was logged by riskcast
        frame = frame[frame["tags.kind"].isin(list(kinds))]
    return frame
