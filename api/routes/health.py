"""``GET /health``: the database, the MLflow store and the scheduler, each said plainly."""

from __future__ import annotations

import os
from typing import Any

import httpx
from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError

from api.deps import ServiceState, StateDep
from api.models import Health
from data.db import unavailable
from experiments.tracking import sqlite_path
from jobs.scheduler import schedule_overview, scheduler_state
from riskcast.errors import RiskcastError

router = APIRouter(tags=["service"])


@router.get(
    "/health",
    summary="Database, MLflow store and scheduler state",
    response_model=Health,
    responses={503: {"model": Health, "description": "the database is down"}},
)
def health(state: StateDep) -> JSONResponse:
    database: dict[str, Any] = {"url": _redact(state.settings.resolved_database_url())}
    try:
        with state.store().engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        database["ok"] = True
    except (DBAPIError, RiskcastError) as exc:
        error = unavailable(exc) if isinstance(exc, DBAPIError) else exc
        database.update(ok=False, error=str(error))
    mlflow_state = mlflow_health(state)
    scheduler = {
        "state": scheduler_state(state.scheduler),
        "error": state.scheduler_error,
        "jobs": (
            schedule_overview(state.scheduler, state.config.schedule) if database["ok"] else []
        ),
    }
    healthy = database["ok"] and mlflow_state["ok"]
    status = "ok" if healthy else ("down" if not database["ok"] else "degraded")
    body = {"status": status, "database": database, "mlflow": mlflow_state, "scheduler": scheduler}
    return JSONResponse(body, status_code=200 if database["ok"] else 503)


def mlflow_health(state: ServiceState) -> dict[str, Any]:
    """Is the MLflow store reachable? Cheap checks only (no retries, 2 s timeout)."""
    settings = state.settings
    uri = (
        settings.mlflow_tracking_uri
        or state.config.experiments.tracking_uri
        or settings.resolved_mlflow_uri()
    )
    if uri.startswith(("http://", "https://")):
        try:
            httpx.get(uri.rstrip("/") + "/health", timeout=2.0).raise_for_status()
        except httpx.HTTPError as exc:
            return {"ok": False, "uri": uri, "error": f"unreachable: {exc}"}
        return {"ok": True, "uri": uri}
    path = sqlite_path(uri)
    if path is None:
        return {"ok": True, "uri": uri, "detail": "not checked"}
    if path.exists():
        return {"ok": os.access(path, os.R_OK | os.W_OK), "uri": uri}
    writable = path.parent.exists() and os.access(path.parent, os.W_OK)
    detail = "not created yet (first run creates it)" if writable else "folder not writable"
    return {"ok": writable, "uri": uri, "detail": detail}


def _redact(url: str) -> str:
    """A database URL without its password."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:  # an unparsable URL is reported by the connection check
        return "<unparsable URL>"
