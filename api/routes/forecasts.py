"""``GET /forecasts`` and ``GET /risk``: what the weekly job published, as it published it."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import JSONResponse, Response

from api.deps import ConfigDep, StoreDep
from api.models import ForecastRow, Risk
from data.spreadsheet import inert_frame
from jobs import results
from riskcast.errors import InputError, shown
from riskcast.months import format_month, parse_month

router = APIRouter(tags=["forecasts"])

NOTHING_YET = (
    "no forecasts published for that selection yet; run the weekly job (riskcast run, or "
    "POST /jobs/weekly/run)"
)


@router.get(
    "/forecasts",
    summary="Forecasts of a refit in the output contract (JSON or CSV)",
    response_model=list[ForecastRow],
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}},
)
def forecasts(
    store: StoreDep,
    config: ConfigDep,
    region: Annotated[list[str] | None, Query(description="region id(s), repeatable")] = None,
    series: str | None = None,
    origin: Annotated[str | None, Query(description="origin YYYY-MM; default latest")] = None,
    refit: Annotated[str | None, Query(description="refit (MLflow run) id")] = None,
    format: Literal["json", "csv"] = "json",
) -> Response:
    origin_text = format_month(parse_month(origin, field="origin")) if origin else None
    if region:
        _refuse_unknown(region, store.registry())
    if refit:
        listed = results.list_refits(store.engine, limit=1000)
        chosen = next((r for r in listed if r["refit_id"] == refit), None)
    else:
        chosen = results.latest_refit(
            store.engine, series=series or config.scope.series[0], origin=origin_text
        )
    if chosen is None:
        raise HTTPException(404, NOTHING_YET)
    frame = results.load_forecasts(store.engine, refit_id=chosen["refit_id"], regions=region)
    headers = {
        "X-Riskcast-Refit": chosen["refit_id"],
        "X-Riskcast-Model": chosen["model"],
        "X-Riskcast-Origin": chosen["origin"],
    }
    if format == "csv":
        csv_text = inert_frame(frame).to_csv(index=False)
        return Response(csv_text, media_type="text/csv", headers=headers)
    rows = json.loads(frame.to_json(orient="records", date_format="iso"))  # NaN → null
    return JSONResponse(rows, headers=headers)


def _refuse_unknown(regions: list[str], known: Any) -> None:
    unknown = [r for r in regions if r not in known]
    if unknown:
        listed = ", ".join(f"'{shown(r)}'" for r in unknown[:5])
        more = f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""
        raise InputError(f"unknown region(s) {listed}{more}", field="region")


@router.get(
    "/risk",
    summary="Latest escalation risk per region, per series",
    response_model=Risk,
)
def risk(store: StoreDep, config: ConfigDep, series: str | None = None) -> dict[str, Any]:
    chosen = series or config.scope.series[0]
    latest = results.latest_risk(store.engine, series=chosen)
    if latest is None:
        raise HTTPException(404, f"no '{shown(chosen)}' risk published yet; run the weekly job")
    return latest
