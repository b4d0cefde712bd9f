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

from forecast.risk import EscalationRule
from jobs import results
from jobs.config import RiskcastConfig
from riskcast.errors import InputError

logger = logging.getLogger(__name__)


class NoRefitYetError(InputError):
    """Nothing published yet: ``/bulletin`` answers with a page saying what to run."""


def _risk_frame(latest: dict[str, Any]) -> pd.DataFrame:
    """The latest risk table with week-on-week ``change`` and ``previous_tier`` columns."""
    rows = []
    for region in latest["regions"]:
        row = dict(region["detail"])
        row.update(
            region=region["region"],
            origin=region["origin"],
            tier=region["tier"],
            p_any_3=region["p_any_3"],
            change=region["change"],
            previous_tier=region["previous_tier"],
        )
        rows.append(row)
    return pd.DataFrame(rows)


def rule_text(rule: EscalationRule) -> str:
    """The escalation rule of a series in words, e.g. ``at least max(25, 1.5 × 12-month mean)``."""
    return f"at least max({rule.floor:g}, {rule.multiplier:g} × {rule.window}-month mean) a month"


def _section(  # noqa: ANN202 - reports.bulletin.SeriesSection
    store: Any, latest: dict[str, Any], panel: pd.DataFrame, config: RiskcastConfig
):
    """One series' part of the bulletin from its latest published refit."""
    from reports.bulletin import SeriesSection

    refit = latest["refit"]
    risk = _risk_frame(latest)
    drivers = {}
    if "drivers" in risk.columns:
        drivers = {str(r): d for r, d in zip(risk["region"], risk["drivers"], strict=True) if d}
    scored = None
    if refit["series"] == config.headline_series:
        scored = backtest_precision(
            refit["model"],
            panel[panel["series"] == refit["series"]],
            list(config.alerts.thresholds_grid),
        )
    return SeriesSection(
        series=refit["series"],
        forecast=results.load_forecasts(store.engine, refit_id=refit["refit_id"]),
        risk=risk,
        model=refit["model"],
        run_id=refit["refit_id"],
        drivers=drivers,
        model_notes=refit.get("notes") or {},
        precision=scored,
        rule=rule_text(config.rules.for_series(refit["series"])),
    )


def gather_bulletin_context(store: Any, config: RiskcastConfig):  # noqa: ANN201
    """A ``BulletinContext`` for the latest published refit of every series in ``[scope]``.

    Raises:
        NoRefitYetError: before the first refit (nothing to show yet).
    """
    from alerts import assess_data_quality, list_alerts
    from alerts.quality import source_releases
    from jobs.scope import resolve_scope, scoped
    from reports.bulletin import BulletinContext
    from riskcast.months import format_month

    engine = store.engine
    panel = store.load_panel()
    registry = store.registry()
    scope = resolve_scope(panel, registry, config.scope)
    found = [results.latest_risk(engine, series=series) for series in scope.series]
    published = [latest for latest in found if latest is not None]
    if not published:
        raise NoRefitYetError(
            "no refit published yet, so there is no bulletin: run the weekly job first "
            "(riskcast run, or POST /jobs/weekly/run)",
            field="refit",
        )
    sections = [_section(store, latest, panel, config) for latest in published]
    alert_config = config.alerts
    try:
        flags = assess_data_quality(
            panel, alert_config.quality, series=scope.series, regions=scope.regions
        )
    except InputError:
        logger.warning("data-quality checks skipped for the bulletin", exc_info=True)
        flags = []
    releases = {s: (format_month(m), step) for s, (m, step) in source_releases(panel).items()}
    in_scope = set(scope.regions)
    return BulletinContext(
        **vars(sections[0]),
        history=scoped(panel[panel["series"].isin(scope.series)], scope.regions),
        is_synthetic=store.is_synthetic(),
        freshness=store.ingests(),
        alerts=[a for a in list_alerts(engine) if a.get("region") in in_scope],
        quality_flags=flags,
        alert_threshold=alert_config.threshold,
        alert_measure=alert_config.measure,
        region_names={region.id: region.name for region in registry},
        more_sections=sections[1:],
        scope_note=scope.how,
        neighbours={r.id: tuple(r.neighbours) for r in registry if r.id in in_scope},
        releases=releases,
    )


def render_bulletin_html(store: Any, config: RiskcastConfig) -> str:
    """The bulletin of the latest refit, as HTML."""
    from reports.bulletin import render_bulletin

    return render_bulletin(gather_bulletin_context(store, config))


def write_bulletin_file(store: Any, path: Path, config: RiskcastConfig) -> Path:
    """Write the bulletin of the latest refit to ``path`` (atomically)."""
    from reports.bulletin import write_bulletin

    return write_bulletin(gather_bulletin_context(store, config), path)


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
