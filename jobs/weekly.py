"""The weekly job: ingest what is new, refit the champion, forecast, score risk, publish,
evaluate alerts, write the bulletin, log the MLflow run.

``riskcast run``, the scheduler and ``POST /jobs/weekly/run`` all call :func:`run_weekly`
(through :func:`jobs.runner.execute`), so the three paths cannot drift apart.

Order matters for "no half-written state": the MLflow run is logged *before* anything is
published, because the refit id of the published tables is the MLflow run id. If MLflow is
unreachable the job fails and records why, and the API keeps serving the previous refit
untouched. Once the refit is published, a failure in alerts or the bulletin fails the job
(visible in ``/jobs``) but leaves the published refit in place; re-running the ``alerts``
job re-evaluates it idempotently.

Every ``[scope]`` series is its own refit (own MLflow run, own atomic publish), done one
after the other: if one fails, the series before it stay published, the others keep their
previous refit, and the job fails naming the step (``mlflow aid_diversion``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from jobs import results
from jobs.bulletins import publish_bulletin
from jobs.config import RiskcastConfig
from jobs.inbox import ingest_inbox
from jobs.origins import SeriesForecast, forecast_series, origin_summary
from jobs.records import JobOutcome
from jobs.runner import error_text, execute
from jobs.scope import Scope, resolve_scope
from riskcast.config import get_settings
from riskcast.errors import InputError, RiskcastError

logger = logging.getLogger(__name__)


class JobStepError(RiskcastError):
    """A step of a job failed; carries the details gathered so far for the run record."""

    def __init__(self, step: str, cause: BaseException, details: dict[str, Any]) -> None:
        self.step = step
        self.details = {**details, "failed_step": step}
        super().__init__(f"{step} failed: {error_text(cause)}")


def bulletin_path() -> Path:
    """``<home>/bulletin.html``: the bulletin of the latest weekly run."""
    return get_settings().resolved_home() / "bulletin.html"


def last_month_with_data(panel: pd.DataFrame, series: str) -> pd.Period:
    """The forecast origin: the newest month holding data for ``series``.

    Raises:
        InputError: when the database holds no ``series`` at all.
    """
    rows = panel[panel["series"] == series]
    if rows.empty:
        known = sorted(panel["series"].unique()) if not panel.empty else []
        raise InputError(
            f"the database holds no '{series}' observations"
            + (f" (it holds {', '.join(known)})" if known else "")
            + "; load data first: `riskcast demo-data`, `riskcast ingest FILE`, "
            "POST /observations, or drop a file in <home>/inbox",
            field="series",
        )
    return rows["month"].max()


@contextmanager
def _step(name: str, details: dict[str, Any]) -> Iterator[None]:
    """Run one step; its failure names the step and keeps the details gathered so far."""
    logger.info("weekly job: %s", name)
    try:
        yield
    except JobStepError:
        raise
    except Exception as exc:
        raise JobStepError(name, exc, details) from exc


def evaluate_refit_alerts(
    store: Any,
    risk_frame: pd.DataFrame,
    refit_id: str,
    config: RiskcastConfig,
    *,
    flags: list[Any] | None = None,
) -> dict[str, Any]:
    """Run the alert rules on one refit's risk table (idempotent per refit id).

    ``flags`` are the data-quality flags of the scoped regions: a flagged region's alert
    is held, never resolved, while its data are in doubt.
    """
    from alerts import evaluate_alerts

    transitions = evaluate_alerts(
        store.engine, risk_frame, refit_id=refit_id, config=config.alerts, data_quality=flags
    )
    return {
        "transitions": [
            {
                "region": t.region,
                "series": t.series,
                "from": t.from_state,
                "to": t.to_state,
                "delivery": t.delivery_status,
            }
            for t in transitions
        ],
        "quality_flags": len(flags or []),
    }


def weekly_job(
    store: Any, *, trigger: str, run_id: str | None = None, config: RiskcastConfig
) -> dict[str, Any]:
    """The body of the weekly job (see the module docstring for the order and why).

    Every series of ``[scope]`` is forecast for the scoped regions, each region from its
    own last month with data (:mod:`jobs.origins`), scored with that series' escalation
    rule, logged as its own MLflow run and published as its own refit.
    """
    details: dict[str, Any] = {}
    params = config.forecast
    with _step("ingest", details):
        details["inbox"] = ingest_inbox(store).to_json()
    with _step("load data", details):
        panel = store.load_panel()
        registry = store.registry()
        last_month_with_data(panel, config.headline_series)  # no data at all: say what to load
        scope = resolve_scope(panel, registry, config.scope)
        if not scope.regions:
            raise InputError(f"the watch list is empty ({scope.how})", field="scope")
    with _step("champion", details):
        from experiments.champion import champion_model_version

        model, champion_run_id, version = champion_model_version(params.default_model)
    details.update(
        model=model,
        champion_run_id=champion_run_id,
        champion_version=version,
        horizon=params.horizon,
        n_draws=params.n_draws,
        scope={"regions": list(scope.regions), "how": scope.how},
        series={},
    )
    flags = _quality_flags(panel, scope, config)
    published = [
        _series_refit(
            store,
            panel,
            registry,
            scope,
            series=series,
            model=model,
            config=config,
            trigger=trigger,
            run_id=run_id,
            champion=(champion_run_id, version),
            flags=flags,
            details=details,
        )
        for series in scope.series
    ]
    if not any(published):
        raise InputError("no scoped region has data for any series in [scope]", field="scope")
    headline = details["series"].get(config.headline_series, {})
    details["origin"] = headline.get("origin")
    with _step("bulletin", details):
        path = publish_bulletin(
            store,
            config,
            path=bulletin_path(),
            refit_id=headline.get("mlflow_run_id"),
            job_run_id=run_id,
        )
        details["bulletin"] = str(path)
    return details


def _quality_flags(panel: pd.DataFrame, scope: Scope, config: RiskcastConfig) -> list[Any]:
    """Data-quality flags of the scoped regions and series."""
    from alerts import assess_data_quality

    return assess_data_quality(
        panel, config.alerts.quality, series=scope.series, regions=scope.regions
    )


def _series_refit(
    store: Any,
    panel: pd.DataFrame,
    registry: Any,
    scope: Scope,
    *,
    series: str,
    model: str,
    config: RiskcastConfig,
    trigger: str,
    run_id: str | None,
    champion: tuple[str | None, str | None],
    flags: list[Any],
    details: dict[str, Any],
) -> bool:
    """Forecast, log, publish and alert one series; False when no scoped region has data."""
    params = config.forecast
    mine: dict[str, Any] = {}
    details["series"][series] = mine
    with _step(f"forecast {series}", details):
        rule = config.rules.for_series(series)
        forecast = forecast_series(
            panel,
            registry,
            series=series,
            regions=scope.regions,
            model=model,
            rule=rule,
            tiers=config.risk,
            horizon=params.horizon,
            n_draws=params.n_draws,
            seed=params.seed,
            options=params.options_for(model),
            features=config.features,
        )
        if forecast is None:
            mine["skipped"] = "no scoped region has data"
            return False
        summary = origin_summary(forecast.origins)
        mine.update(summary, regions=len(forecast.origins))
        risk_frame = _with_drivers(forecast, panel)
    with _step(f"mlflow {series}", details):
        from experiments.runs import log_refit

        mlflow_run_id = log_refit(
            forecast,
            trigger=trigger,
            panel=panel,
            options=forecast.model_options,
            seed=params.seed,
            registry=registry,
            escalation_rule=rule,
            champion_run_id=champion[0],
            champion_version=champion[1],
        )
    mine["mlflow_run_id"] = mlflow_run_id
    details.setdefault("mlflow_run_id", mlflow_run_id)
    with _step(f"publish {series}", details):
        results.save_refit(
            store.engine,
            refit_id=mlflow_run_id,
            forecast_frame=forecast.frame,
            risk_frame=risk_frame,
            model=model,
            series=series,
            origin=summary["origin"],
            horizon=params.horizon,
            n_draws=params.n_draws,
            trigger=trigger,
            champion_run_id=champion[0],
            job_run_id=run_id,
            notes=dict(forecast.notes),
        )
    with _step(f"alerts {series}", details):
        mine["alerts"] = evaluate_refit_alerts(
            store, risk_frame, mlflow_run_id, config, flags=flags
        )
    return True


def _with_drivers(forecast: SeriesForecast, panel: pd.DataFrame) -> pd.DataFrame:
    """The risk table with each region's drivers (from the model that forecast it)."""
    from features.drivers import model_drivers
    from jobs.explain import explained

    drivers: dict[str, dict[str, Any]] = {}
    for origin, fitted in forecast.models.items():
        regions = {r: o for r, o in forecast.origins.items() if o == origin}
        found = model_drivers(explained(fitted), panel, series=forecast.series, origins=regions)
        drivers.update({r: d.to_json() for r, d in found.regions.items()})
    risk = forecast.risk.copy()
    risk["drivers"] = [drivers.get(str(region)) for region in risk["region"]]
    return risk


def alerts_job(
    store: Any, *, trigger: str, run_id: str | None = None, config: RiskcastConfig
) -> dict[str, Any]:
    """Re-evaluate alerts on the latest published refit of every scoped series: nothing
    changes state twice, and every delivery the outbox still owes is retried. Scheduled
    before the first refit, it has nothing to do and says so; triggered by hand, that is an
    error."""
    panel = store.load_panel()
    scope = resolve_scope(panel, store.registry(), config.scope)
    found = {s: results.latest_refit(store.engine, series=s) for s in scope.series}
    latest = {s: refit for s, refit in found.items() if refit is not None}
    if not latest:
        if trigger == "schedule":
            return {"skipped": "no refit published yet"}
        raise InputError("no refit published yet: run the weekly job first", field="refit")
    flags = _quality_flags(panel, scope, config)
    out: dict[str, Any] = {"series": {}}
    for series, refit in latest.items():
        rows = [row["detail"] for row in results.load_risk(store.engine, refit["refit_id"])]
        details = evaluate_refit_alerts(
            store, pd.DataFrame(rows), refit["refit_id"], config, flags=flags
        )
        out["series"][series] = {"refit_id": refit["refit_id"], **details}
    out["refit_id"] = next(iter(out["series"].values()))["refit_id"]
    return out


def run_weekly(
    trigger: str = "cli",
    *,
    fire_time: datetime | None = None,
    store: Any | None = None,
    config: RiskcastConfig | None = None,
) -> JobOutcome:
    """Run the weekly job once, recorded, exactly as the scheduler does.

    Args:
        trigger: ``cli``, ``schedule`` or ``api`` (recorded, and passed to MLflow).
        fire_time: the scheduled fire time for scheduler runs (claims the lease).
        store: an open store; default the service database.
        config: the domain config; default read (and validated) at the start of the run.

    Returns:
        The outcome (``succeeded``/``failed`` with the MLflow run id and details). For a
        scheduled fire another process already claimed, an outcome ``skipped``.
    """
    outcome = execute("weekly", trigger=trigger, fire_time=fire_time, store=store, config=config)
    if outcome is None:
        from jobs.db import utcnow

        return JobOutcome(
            run_id="",
            job_name="weekly",
            trigger=trigger,
            outcome="skipped",
            started_at=utcnow(),
            fire_time=fire_time,
        )
    return outcome
