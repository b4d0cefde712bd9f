"""``GET /alerts`` and ``GET /alerts/transitions``: where each alert stands, and its history."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from alerts import list_alerts, list_deliveries, list_transitions
from alerts.outbox import outbox_rows
from api.deps import StoreDep
from api.models import AlertList, TransitionList
from riskcast.errors import InputError, shown

router = APIRouter(tags=["alerts"])

ALERT_STATES = ("inactive", "pending", "firing", "resolved")


@router.get("/alerts", summary="Alerts and their state", response_model=AlertList)
def alerts(
    store: StoreDep,
    state: Annotated[str | None, Query(description="|".join(ALERT_STATES))] = None,
) -> dict[str, Any]:
    if state is not None and state not in ALERT_STATES:
        raise InputError(
            f"unknown alert state '{shown(state)}'; one of {', '.join(ALERT_STATES)}", field="state"
        )
    return {"alerts": list_alerts(store.engine, state)}


@router.get(
    "/alerts/transitions",
    summary="Recent transitions + deliveries",
    response_model=TransitionList,
)
def alert_transitions(
    store: StoreDep, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> dict[str, Any]:
    rows = list_transitions(store.engine, limit=limit)
    for row in rows:
        row["deliveries"] = list_deliveries(store.engine, transition_id=row["id"])
        row["outbox"] = outbox_rows(store.engine, transition_id=row["id"])
    return {"transitions": rows}
