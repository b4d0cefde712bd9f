"""Published results: each refit, its forecasts (the output contract) and its risk table.

The API and the bulletin read these tables instead of recomputing, so what an analyst sees
is exactly what the weekly job produced and logged to MLflow. A refit is written in one
transaction (refit row + every forecast row + every risk row), so a reader never sees half
a refit. ``refit_id`` is the MLflow run id of the refit, so every published number traces
back to its run.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import (
    Engine,
    insert,
    select,
)
from sqlalchemy.exc import OperationalError

from data.migrate import ensure_schema
from data.tables import forecasts, refits, risk
from forecast.output import FORECAST_COLUMNS
from jobs.db import from_db_time, to_db_time, unavailable, utcnow


def _plain(value: Any) -> Any:
    """numpy/pandas scalars → JSON-ready Python (NaN → None, Period → YYYY-MM)."""
    if isinstance(value, pd.Period):
        return value.strftime("%Y-%m")
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def save_refit(
    engine: Engine,
    *,
    refit_id: str,
    forecast_frame: pd.DataFrame,
    risk_frame: pd.DataFrame,
    model: str,
    series: str,
    origin: str,
    horizon: int,
    n_draws: int,
    trigger: str,
    champion_run_id: str | None = None,
    job_run_id: str | None = None,
    notes: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Publish one refit atomically; returns its refit row.

    Args:
        engine: the service database.
        refit_id: the MLflow run id of the refit.
        forecast_frame: the output-contract frame (forecast/output.py).
        risk_frame: the risk table (one row per region; ``region``, ``tier``, ``p_any_3`` …).
        model, series, origin, horizon, n_draws, trigger: what was fitted, how.
        champion_run_id: the registered champion's run, or None when the config default ran.
        job_run_id: the job run that produced it.
        notes: per-region fallback notes of the model.

    Raises:
        StoreUnavailableError: database down or locked; nothing was written.
    """
    ensure_schema(engine)
    missing = [column for column in FORECAST_COLUMNS if column not in forecast_frame.columns]
    if missing:
        raise ValueError(f"forecast frame lacks output-contract columns {missing}")
    refit_row = {
        "refit_id": refit_id,
        "job_run_id": job_run_id,
        "series": series,
        "origin": origin,
        "model": model,
        "champion_run_id": champion_run_id,
        "horizon": int(horizon),
        "n_draws": int(n_draws),
        "trigger": trigger,
        "created_at": to_db_time(utcnow()),
        "notes": json.dumps(notes or {}),
    }
    forecast_rows = [
        {column: _plain(row[column]) for column in FORECAST_COLUMNS} | {"refit_id": refit_id}
        for row in forecast_frame.to_dict(orient="records")
    ]
    risk_rows = []
    for row in risk_frame.reset_index(drop="region" in risk_frame.columns).to_dict("records"):
        plain = {str(key): _plain(value) for key, value in row.items()}
        risk_rows.append(
            {
                "refit_id": refit_id,
                "region": str(plain["region"]),
                "series": str(plain.get("series") or series),
                "origin": str(plain.get("origin") or origin),  # its own origin
                "tier": plain.get("tier"),
                "p_any_3": plain.get("p_any_3"),
                "detail": json.dumps(plain, default=str),
            }
        )
    try:
        with engine.begin() as connection:
            connection.execute(insert(refits).values(**refit_row))
            if forecast_rows:
                connection.execute(insert(forecasts), forecast_rows)
            if risk_rows:
                connection.execute(insert(risk), risk_rows)
    except OperationalError as exc:
        raise unavailable(exc) from exc
    return _refit_json(refit_row)


def _refit_json(row: Any) -> dict[str, Any]:
    out = dict(row)
    out["created_at"] = from_db_time(out["created_at"]).isoformat()  # type: ignore[union-attr]
    out["notes"] = json.loads(out["notes"]) if out.get("notes") else {}
    return out


def list_refits(
    engine: Engine, *, series: str | None = None, origin: str | None = None, limit: int = 20
) -> list[dict[str, Any]]:
    """Refits, newest first (optionally of one series / origin)."""
    ensure_schema(engine)
    query = select(refits).order_by(refits.c.created_at.desc()).limit(limit)
    if series:
        query = query.where(refits.c.series == series)
    if origin:
        query = query.where(refits.c.origin == origin)
    with engine.connect() as connection:
        return [_refit_json(row) for row in connection.execute(query).mappings()]


def latest_refit(
    engine: Engine, *, series: str | None = None, origin: str | None = None
) -> dict[str, Any] | None:
    """The newest refit (of a series / origin), or None before the first weekly job."""
    found = list_refits(engine, series=series, origin=origin, limit=1)
    return found[0] if found else None


def load_forecasts(
    engine: Engine,
    *,
    refit_id: str,
    regions: list[str] | None = None,
) -> pd.DataFrame:
    """The output-contract rows of one refit (optionally some regions), sorted."""
    ensure_schema(engine)
    query = select(*(forecasts.c[column] for column in FORECAST_COLUMNS)).where(
        forecasts.c.refit_id == refit_id
    )
    if regions:
        query = query.where(forecasts.c.region.in_(regions))
    with engine.connect() as connection:
        rows = connection.execute(query).mappings().all()
    frame = pd.DataFrame([dict(row) for row in rows], columns=list(FORECAST_COLUMNS))
    return frame.sort_values(["region", "series", "horizon"], ignore_index=True)


def load_risk(engine: Engine, refit_id: str) -> list[dict[str, Any]]:
    """Risk rows of one refit (each with its full risk-table ``detail``)."""
    ensure_schema(engine)
    with engine.connect() as connection:
        rows = connection.execute(select(risk).where(risk.c.refit_id == refit_id)).mappings()
        return [dict(row) | {"detail": json.loads(row["detail"])} for row in rows]


def latest_risk(engine: Engine, *, series: str | None = None) -> dict[str, Any] | None:
    """Latest risk per region with the change since the previous refit of the same series.

    Returns:
        ``{"refit": …, "previous_refit": … | None, "series", "origin" (most regions'),
        "origin_differs" (region → its own origin where it differs), "regions": [...]}``,
        regions ranked by ``p_any_3``
        (highest first); each region has ``tier``, ``p_any_3``, ``previous_tier``,
        ``previous_p_any_3``, ``change`` (probability points, None without a previous
        refit) and ``detail`` (the risk-table row). None before the first refit.
    """
    latest = latest_refit(engine, series=series)
    if latest is None:
        return None
    history = list_refits(engine, series=latest["series"], limit=2)
    previous = history[1] if len(history) > 1 else None
    before = (
        {row["region"]: row for row in load_risk(engine, previous["refit_id"])} if previous else {}
    )
    regions = []
    for row in load_risk(engine, latest["refit_id"]):
        old = before.get(row["region"])
        change = None
        if old is not None and row["p_any_3"] is not None and old["p_any_3"] is not None:
            change = round(row["p_any_3"] - old["p_any_3"], 6)
        regions.append(
            {
                "region": row["region"],
                "series": row["series"],
                "origin": row["origin"],
                "tier": row["tier"],
                "p_any_3": row["p_any_3"],
                "previous_tier": old["tier"] if old else None,
                "previous_p_any_3": old["p_any_3"] if old else None,
                "change": change,
                "detail": row["detail"],
            }
        )
    regions.sort(key=lambda item: -(item["p_any_3"] or 0.0))
    differs = {r["region"]: r["origin"] for r in regions if r["origin"] != latest["origin"]}
    return {
        "refit": latest,
        "previous_refit": previous,
        "series": latest["series"],
        "origin": latest["origin"],
        "origin_differs": dict(sorted(differs.items())),
        "regions": regions,
    }
