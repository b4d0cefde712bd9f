"""Gather what the weekly bulletin shows from what the weekly job published.

``reports.bulletin`` only draws a :class:`~reports.bulletin.BulletinContext`; this module
fills it from the published refit (:mod:`jobs.results`), the panel, the ingest log and the
alert store, so ``/bulletin``, ``riskcast report`` and the weekly job's
``<home>/bulletin.html`` show the same numbers as ``/forecasts`` and ``/risk``.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pandas as pd

from jobs import results
from riskcast.errors import InputError

logger = logging.getLogger(__name__)


def _risk_frame(latest: dict[str, Any]) -> pd.DataFrame:
    """The latest risk table with week-on-week ``change`` and ``previous_tier`` columns."""
    rows = []
    for region in latest["regions"]:
        row = dict(region["detail"])
        row.update(
            region=region["region"],
            tier=region["tier"],
            p_any_3=region["p_any_3"],
            change=region["change"],
            previous_tier=region["previous_tier"],
        )
        rows.append(row)
    return pd.DataFrame(rows)


def gather_bulletin_context(store: Any, *, series: str | None = None):  # noqa: ANN201
    """A ``BulletinContext`` for the latest published refit (of ``series``).

    Raises:
        InputError: before the first refit (nothing to show yet).
    """
    from alerts import assess_data_quality, list_alerts, load_alert_config
    from reports.bulletin import BulletinContext

    engine = store.engine
    latest = results.latest_risk(engine, series=series)
    if latest is None:
        raise InputError(
            "no refit published yet, so there is no bulletin: run the weekly job first "
            "(riskcast run, or POST /jobs/weekly/run)",
            field="refit",
        )
    refit = latest["refit"]
    forecast = results.load_forecasts(engine, refit_id=refit["refit_id"])
    panel = store.load_panel()
    alert_config = load_alert_config()
    registry = store.registry()
    try:
        flags = assess_data_quality(panel, alert_config.quality)
    except InputError:
        logger.warning("data-quality checks skipped for the bulletin", exc_info=True)
        flags = []
    return BulletinContext(
        forecast=forecast,
        history=panel[panel["series"] == refit["series"]],
        risk=_risk_frame(latest),
        model=refit["model"],
        run_id=refit["refit_id"],
        is_synthetic=store.is_synthetic(),
        series=refit["series"],
        freshness=store.ingests(),
        alerts=list_alerts(engine),
        quality_flags=flags,
        precision=backtest_precision(
            refit["model"],
            panel[panel["series"] == refit["series"]],
            list(alert_config.thresholds_grid),
        ),
        alert_threshold=alert_config.threshold,
        alert_measure=alert_config.measure,
        region_names={region.id: region.name for region in registry},
        drivers=_drivers(panel, registry, refit),
        model_notes=refit.get("notes") or {},
    )


def _drivers(panel: pd.DataFrame, registry: Any, refit: dict[str, Any]) -> dict:
    """The most unusual inputs per region at the refit's origin; empty if they cannot be built."""
    from features.drivers import top_drivers
    from riskcast.months import parse_month

    try:
        return top_drivers(panel, registry, parse_month(refit["origin"]), target=refit["series"])
    except Exception:  # drivers are context, not the bulletin's purpose
        logger.warning("no drivers for the bulletin", exc_info=True)
        return {}


def render_bulletin_html(store: Any) -> str:
    """The bulletin of the latest refit, as HTML."""
    from reports.bulletin import render_bulletin

    return render_bulletin(gather_bulletin_context(store))


def write_bulletin_file(store: Any, path: Path) -> Path:
    """Write the bulletin of the latest refit to ``path`` (atomically)."""
    from reports.bulletin import write_bulletin

    return write_bulletin(gather_bulletin_context(store), path)


def backtest_precision(model: str, panel: pd.DataFrame, thresholds: list[float]):  # noqa: ANN201
    """Precision/recall of the alert rule per threshold, from the newest backtest of ``model``.

    Reads the ``forecasts.csv`` artifact of the newest finished ``backtest-model`` run of
    ``model`` in any experiment (a spec names its own experiment). Returns None when there
    is none (the bulletin then says so); never fails the bulletin.
    """
    try:
        import mlflow

        from alerts import precision_recall_table
        from experiments import tracking

        tracking.tracking_uri()  # point MLflow at the store in force
        runs = mlflow.search_runs(
            search_all_experiments=True,
            filter_string=f"tags.kind = 'backtest-model' and tags.model = '{model}' "
            "and attributes.status = 'FINISHED'",
            output_format="pandas",
        )
        if runs.empty:
            return None
        newest = runs.sort_values("start_time").iloc[-1]["run_id"]
        import mlflow.artifacts

        path = mlflow.artifacts.download_artifacts(
            run_id=newest, artifact_path="forecasts.csv", tracking_uri=tracking.tracking_uri()
        )
        forecasts = pd.read_csv(path)
        return precision_recall_table(forecasts, panel, thresholds=thresholds)
    except Exception:  # the table is context, not the bulletin's purpose
        logger.warning("no backtest precision/recall for the bulletin", exc_info=True)
        return None
