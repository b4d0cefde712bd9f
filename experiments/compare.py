"""Leaderboards: models side by side on the same origins, regions and data, with skill.

A ranking is only honest when every model was scored on the same (origin, horizon, region)
cells of the same data. Each backtest model run carries ``origins_hash``, ``regions_hash``,
``data_fingerprint``, ``horizon`` and ``series``; runs that differ in any of them are never
ranked together — :func:`leaderboard` raises and says how to pick one comparable set
(``parent_run_id`` or ``latest=True``).

Skill is relative to the ``conflictology`` benchmark (the hardest simple baseline in the
VIEWS challenges): ``skill = 1 − score / score_conflictology`` for scores where lower is
better, so 0.1 means 10% better than the benchmark and negative means worse.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import pandas as pd

from experiments import tracking
from experiments.config import experiments_config
from experiments.runs import runs_of
from riskcast.config import did_you_mean
from riskcast.errors import ConfigError, RiskcastError

log = logging.getLogger(__name__)

BENCHMARK = "conflictology"
COMPARABLE_ON = {
    "tags.origins_hash": "origins",
    "tags.regions_hash": "regions",
    "tags.data_fingerprint": "data fingerprint",
    "params.horizon": "horizon",
    "tags.series": "series",
}
HIGHER_IS_BETTER = frozenset({"brier_skill", "skill"})
HEADLINE_METRICS = (
    "crps",
    "crps_log",
    "ignorance",
    "interval_score_90",
    "mae",
    "coverage_50",
    "coverage_90",
    "brier",
    "brier_skill",
)
HORIZONS_SHOWN = (1, 3, 6, 12)


def _nominal_coverage(metric: str) -> float | None:
    """0.9 for ``coverage_90`` / ``in_90``: coverage is best when closest to nominal."""
    for prefix in ("coverage_", "in_"):
        if metric.startswith(prefix) and metric[len(prefix) :].isdigit():
            return int(metric[len(prefix) :]) / 100
    return None


def sort_key(metric: str, values: pd.Series) -> pd.Series:
    """Values to sort ascending so the best model comes first, whatever the metric."""
    nominal = _nominal_coverage(metric)
    if nominal is not None:
        return (values - nominal).abs()
    return -values if metric in HIGHER_IS_BETTER else values


def _model_runs(experiment: str | None, parent_run_id: str | None) -> pd.DataFrame:
    name = experiment or experiments_config().backtest_experiment
    runs = runs_of(name, kinds=["backtest-model"])
    if runs.empty:
        raise RiskcastError(
            f"experiment '{name}' has no backtest model runs to compare; "
            "run `riskcast backtest …` or `riskcast experiments run SPEC` first"
        )
    runs = runs[runs["status"] == "FINISHED"]
    if parent_run_id is not None:
        runs = runs[runs.get("tags.mlflow.parentRunId") == parent_run_id]
        if runs.empty:
            raise RiskcastError(f"no finished model runs under parent run {parent_run_id}")
    for column in COMPARABLE_ON:
        if column not in runs:
            runs[column] = None
    return runs


def _check_metric(runs: pd.DataFrame, metric: str) -> None:
    available = sorted(c.removeprefix("metrics.") for c in runs.columns if c.startswith("metrics."))
    if f"metrics.{metric}" not in runs or runs[f"metrics.{metric}"].isna().all():
        raise ConfigError(
            f"metric '{metric}' was not logged{did_you_mean(metric, available)}; "
            f"logged metrics: {', '.join(m for m in available if '_h' not in m)}"
        )


def _describe_group(group: pd.DataFrame) -> str:
    first = group.iloc[0]
    origins = str(first.get("params.origins", "?"))
    origin_text = origins if len(origins) < 40 else f"{origins[:17]}…{origins[-17:]}"
    parents = sorted(set(group.get("tags.mlflow.parentRunId", pd.Series(dtype=str)).dropna()))
    return (
        f"[{len(group)} run(s) of parent {', '.join(p[:8] for p in parents) or '?'}: "
        f"origins {origin_text}, data {str(first['tags.data_fingerprint'])[:12]}, "
        f"horizon {first['params.horizon']}, series {first['tags.series']}]"
    )


def comparable_groups(runs: pd.DataFrame) -> list[pd.DataFrame]:
    """Runs split into groups that share origins, regions, data, horizon and series
    (newest group first)."""
    keys = list(COMPARABLE_ON)
    filled = runs.assign(**{k: runs[k].fillna("?").astype(str) for k in keys})
    groups = [group for _, group in filled.groupby(keys, sort=False)]
    return sorted(groups, key=lambda g: g["start_time"].max(), reverse=True)


def select_comparable(runs: pd.DataFrame, *, latest: bool = False) -> pd.DataFrame:
    """The single comparable set of runs, or an error naming the sets that differ.

    Raises:
        RiskcastError: when runs were scored on different origins, regions, data fingerprints,
            horizons or series and ``latest`` is False.
    """
    groups = comparable_groups(runs)
    if len(groups) == 1 or latest:
        return groups[0]
    differing = [
        label
        for column, label in COMPARABLE_ON.items()
        if runs[column].fillna("?").astype(str).nunique() > 1
    ]
    raise RiskcastError(
        f"refusing to rank runs scored on different {', '.join(differing)}: "
        + " vs ".join(_describe_group(g) for g in groups)
        + ". Compare one backtest with --parent RUN_ID, or the newest comparable set with "
        "--latest."
    )


def leaderboard(
    experiment: str | None = None,
    metric: str | None = None,
    *,
    parent_run_id: str | None = None,
    latest: bool = False,
) -> pd.DataFrame:
    """Rank the model runs of a backtest experiment on one metric.

    Args:
        experiment: MLflow experiment; default ``[experiments] backtest_experiment``.
        metric: ranking metric; default ``[experiments] primary_metric`` (``crps_log``).
        parent_run_id: only the model runs of this backtest.
        latest: rank the newest comparable set instead of refusing when sets differ.

    Returns:
        One row per model variant (latest run per model × options × feature set), best first:
        ``rank, model, feature_set_hash, options, <metric>, skill, <metric>_h1 …,`` headline
        metrics, ``run_id``, ``parent_run_id``. ``attrs`` holds ``metric``, ``benchmark`` and
        ``comparable_on`` (the shared origins, data fingerprint, horizon, series),
        ``comparable_sets`` (how many sets the experiment holds) and ``parent_run_ids``
        (the backtests ranked).

    Raises:
        RiskcastError: no runs, or runs that are not comparable (see :func:`select_comparable`).
        ConfigError: a metric that was never logged (with a did-you-mean).
    """
    metric = metric or experiments_config().primary_metric
    runs = _model_runs(experiment, parent_run_id)
    _check_metric(runs, metric)
    n_sets = len(comparable_groups(runs))
    runs = select_comparable(runs, latest=latest)
    for column in ("params.options_hash", "params.feature_set_hash", "params.options"):
        if column not in runs:
            runs[column] = ""
    runs = runs.sort_values("start_time", ascending=False).drop_duplicates(
        ["params.model", "params.options_hash", "params.feature_set_hash"]
    )
    value = runs[f"metrics.{metric}"].astype(float)
    table = pd.DataFrame(
        {
            "model": runs["params.model"].to_numpy(),
            "feature_set_hash": runs["params.feature_set_hash"].fillna("").str[:8].to_numpy(),
            "options": runs["params.options"].fillna("{}").to_numpy(),
            metric: value.to_numpy(),
        }
    )
    benchmark = runs[runs["params.model"] == BENCHMARK]
    reference = float(benchmark[f"metrics.{metric}"].iloc[0]) if len(benchmark) else math.nan
    can_skill = metric not in HIGHER_IS_BETTER and _nominal_coverage(metric) is None
    table["skill"] = 1.0 - table[metric] / reference if can_skill and reference > 0 else math.nan
    for h in HORIZONS_SHOWN:
        column = f"metrics.{metric}_h{h}"
        if column in runs:
            table[f"{metric}_h{h}"] = runs[column].astype(float).to_numpy()
    for name in HEADLINE_METRICS:
        if name != metric and f"metrics.{name}" in runs:
            table[name] = runs[f"metrics.{name}"].astype(float).to_numpy()
    table["run_id"] = runs["run_id"].to_numpy()
    table["parent_run_id"] = runs.get("tags.mlflow.parentRunId", pd.Series(None)).to_numpy()
    table = table.iloc[sort_key(metric, table[metric]).argsort(kind="mergesort")]
    table.insert(0, "rank", range(1, len(table) + 1))
    first = runs.iloc[0]
    table.attrs = {
        "experiment": experiment or experiments_config().backtest_experiment,
        "metric": metric,
        "benchmark": BENCHMARK if len(benchmark) else None,
        "benchmark_value": None if math.isnan(reference) else reference,
        "comparable_sets": n_sets,
        "parent_run_ids": sorted(set(table["parent_run_id"].dropna().astype(str))),
        "comparable_on": {
            "origins": str(first.get("params.origins", "")),
            "n_origins": str(first.get("params.n_origins", "")),
            "n_regions": str(first.get("params.n_regions", "")),
            "data_fingerprint": str(first["tags.data_fingerprint"]),
            "horizon": str(first["params.horizon"]),
            "series": str(first["tags.series"]),
            "synthetic": str(first.get("tags.synthetic", "")),
        },
    }
    if not len(benchmark):
        log.warning("no %s run in this comparison: skill is not available", BENCHMARK)
    return table.reset_index(drop=True)


def _jsonable(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "item"):
        return _jsonable(value.item())
    return value


def leaderboard_json(
    experiment: str | None = None,
    metric: str | None = None,
    *,
    parent_run_id: str | None = None,
    latest: bool = True,
) -> dict[str, Any]:
    """:func:`leaderboard` as a JSON-ready dict for the HTTP API.

    The service defaults to ``latest=True`` (the newest comparable backtest) so a new data
    fingerprint does not turn the endpoint into an error; the refusal still applies within
    what it ranks.

    Returns:
        ``{"experiment", "metric", "benchmark", "benchmark_value", "comparable_on", "rows":
        [{column: value}, …]}`` with NaN as null.
    """
    table = leaderboard(experiment, metric, parent_run_id=parent_run_id, latest=latest)
    rows = [{k: _jsonable(v) for k, v in row.items()} for row in table.to_dict("records")]
    return {**table.attrs, "rows": rows}


def list_runs(experiment: str | None = None, *, limit: int = 50) -> pd.DataFrame:
    """Backtest (parent) and refit runs, newest first, for ``riskcast experiments list``.

    Args:
        experiment: one experiment; default every experiment of the store (spec experiments
            included; runs riskcast did not log have no ``kind`` tag and are left out).
        limit: at most this many rows.
    """
    if experiment:
        names = [experiment]
    else:
        names = [e.name for e in tracking.client().search_experiments(max_results=1000)]
    frames = []
    for name in names:
        runs = runs_of(name, kinds=["backtest", "refit"])
        if len(runs):
            frames.append(runs.assign(experiment=name))
    if not frames:
        return pd.DataFrame(
            columns=[
                "experiment",
                "run_id",
                "name",
                "kind",
                "status",
                "started",
                "trigger",
                "models",
                "origins",
                "data_fingerprint",
                "synthetic",
            ]
        )
    runs = pd.concat(frames, ignore_index=True).sort_values("start_time", ascending=False)

    def column(name: str) -> pd.Series:
        return runs[name] if name in runs else pd.Series("", index=runs.index)

    models = column("params.models").where(column("params.models").notna(), column("params.model"))
    origins = column("params.origins").where(
        column("params.origins").notna(), column("params.origin")
    )
    table = pd.DataFrame(
        {
            "experiment": runs["experiment"],
            "run_id": runs["run_id"],
            "name": column("tags.mlflow.runName"),
            "kind": column("tags.kind"),
            "status": runs["status"],
            "started": runs["start_time"].dt.strftime("%Y-%m-%d %H:%M"),
            "trigger": column("tags.trigger"),
            "models": models,
            "origins": origins,
            "data_fingerprint": column("tags.data_fingerprint").fillna("").str[:12],
            "synthetic": column("tags.synthetic"),
        }
    )
    return table.head(limit).reset_index(drop=True)
