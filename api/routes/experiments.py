"""``GET /experiments``: the MLflow leaderboard data scientists compare runs on."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException

from api.models import Leaderboard
from experiments.compare import leaderboard_json
from riskcast.errors import ConfigError, InputError, RiskcastError, StoreUnavailableError

router = APIRouter(tags=["experiments"])


@router.get("/experiments", summary="The MLflow leaderboard", response_model=Leaderboard)
def experiments(experiment: str | None = None, metric: str | None = None) -> dict[str, Any]:
    try:
        return leaderboard_json(experiment, metric)
    except ConfigError as exc:  # a metric that was never logged
        raise InputError(str(exc), field="metric") from exc
    except StoreUnavailableError:
        raise
    except RiskcastError as exc:  # no backtest yet / nothing comparable
        raise HTTPException(404, str(exc)) from exc
