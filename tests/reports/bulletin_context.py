"""A realistic bulletin context for the tests, made with the project's real parts.

Draws come from a seeded negative-binomial around each region's recent level (a stand-in
for a fitted model, so the tests stay fast); thresholds, the forecast frame and the risk
table come from ``forecast/``; alerts from a real evaluation on a SQLite file; quality flags
and precision/recall from ``alerts/``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import create_engine

from alerts.evaluate import evaluate_alerts
from alerts.precision import precision_recall_table
from alerts.quality import assess_data_quality
from alerts.rules import AlertConfig
from alerts.state import list_alerts
from data.regions import load_default_registry
from forecast.draws import Draws
from forecast.output import forecast_frame
from forecast.risk import escalation_thresholds, risk_table
from reports.bulletin import BulletinContext
from tests.panels import synthetic_panel


def mali_registry():
    """The default registry cut to Mali's admin1 regions (ML01 … ML11) and the country."""
    from data.registry import Registry

    full = load_default_registry()
    return Registry([r for r in full if r.id == "MLI" or r.id.startswith("ML")])


def simple_draws(panel: pd.DataFrame, origin: pd.Period, regions, horizon=12, n_draws=200):
    """Seeded negative-binomial draws around each region's last-6-month mean."""
    rng = np.random.default_rng(origin.ordinal)
    cut = panel[(panel["series"] == "fatalities") & (panel["month"] <= origin)]
    wide = cut.pivot_table(index="month", columns="region", values="value", aggfunc="sum")
    level = wide.tail(6).mean().reindex(regions).fillna(0.0).to_numpy() + 0.5
    mu = level[:, None, None] * np.ones((1, horizon, n_draws))
    values = rng.negative_binomial(1.5, 1.5 / (1.5 + mu)).astype(np.float32)
    return Draws("negbin_demo", "fatalities", origin, tuple(regions), values)


def make_context(tmp_path: Path) -> BulletinContext:
    """A full bulletin context over Mali's eleven regions."""
    registry = mali_registry()
    panel = synthetic_panel(registry, start="2016-01", end="2021-12", seed=3)
    # ML09 stops reporting four months early: a "silent" flag the bulletin must show.
    panel = panel[~((panel["region"] == "ML09") & (panel["month"] > pd.Period("2021-08", "M")))]
    regions = sorted(panel.loc[panel["series"] == "fatalities", "region"].unique())
    origin = pd.Period("2021-12", freq="M")
    cut = panel[panel["month"] <= origin]
    thresholds = escalation_thresholds(cut, regions, origin=origin)
    draws = simple_draws(panel, origin, regions)
    forecast = forecast_frame(draws, thresholds)
    risk = risk_table(draws, thresholds)
    previous = risk.assign(
        p_any_3=(risk["p_any_3"] - 0.08 * np.sign(np.arange(len(risk)) - 4)).clip(0, 1)
    )
    previous.loc[0, "tier"] = "elevated"

    engine = create_engine(f"sqlite:///{tmp_path / 'bulletin-alerts.db'}")
    config = AlertConfig(threshold=0.4, resolve_below=0.25)
    flags = assess_data_quality(panel, config.quality)
    evaluate_alerts(engine, previous, refit_id="prev", config=config, notifiers=[])
    evaluate_alerts(engine, risk, refit_id="now", config=config, notifiers=[], data_quality=flags)
    alerts = list_alerts(engine)
    engine.dispose()

    backtest = pd.concat(
        forecast_frame(
            simple_draws(panel, o, regions, horizon=3),
            escalation_thresholds(panel[panel["month"] <= o], regions, origin=o),
        )
        for o in pd.period_range("2019-01", "2021-06", freq="M")[::3]
    )
    precision = precision_recall_table(backtest, panel, thresholds=config.thresholds_grid)
    ingests = pd.DataFrame(
        {
            "id": [1, 2],
            "file": ["/data/inbox/demo_2021.csv", "/data/inbox/demo_2021b.csv"],
            "kind": ["csv", "csv"],
            "rows_added": [1800, 24],
            "rows_changed": [0, 3],
            "at": [
                datetime(2026, 11, 16, 6, 0, tzinfo=UTC),
                datetime(2026, 11, 23, 6, 0, tzinfo=UTC),
            ],
        }
    )
    return BulletinContext(
        forecast=forecast,
        history=panel,
        risk=risk,
        previous_risk=previous,
        model="negbin_demo",
        run_id="0f3c9a51d2e84b6aa1c7e2b9d4f60a17",
        is_synthetic=True,
        generated_at=datetime(2026, 11, 23, 6, 5, tzinfo=UTC),
        drivers={
            regions[2]: [("fatalities_roll3_sum", 41.0), ("nbr_fatalities_roll3_mean", 12.3)],
            regions[1]: [("fatalities_lag1", 9.0)],
        },
        freshness=ingests,
        alerts=alerts,
        quality_flags=flags,
        precision=precision,
        alert_threshold=config.threshold,
        region_names={r.id: r.name for r in registry},
        model_notes={regions[2]: "sarimax did not converge; fell back to poisson_mean"},
    )
