"""``GET /regions`` and ``POST /observations``: the registry, and adding panel rows."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from starlette.concurrency import run_in_threadpool

from api.deps import StoreDep, require_api_key
from api.models import IngestReport, Region
from jobs.observations import BODY, ingest_observations, rows_from_csv, rows_from_json
from riskcast.errors import InputError, shown

router = APIRouter(tags=["data"])

CSV_TYPES = ("text/csv", "application/csv")
ROWS_SCHEMA = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["region", "month", "series", "value"],
        "properties": {
            "region": {"type": "string", "example": "ML05"},
            "month": {"type": "string", "example": "2024-03"},
            "series": {"type": "string", "example": "fatalities"},
            "value": {"type": "number", "minimum": 0},
            "source": {"type": "string", "example": "api"},
        },
    },
}
UPLOAD_SCHEMA = {"type": "object", "properties": {"file": {"type": "string", "format": "binary"}}}
REQUEST_BODY = {
    "required": True,
    "content": {
        "application/json": {"schema": ROWS_SCHEMA},
        "text/csv": {"schema": {"type": "string"}},
        "multipart/form-data": {"schema": UPLOAD_SCHEMA},
    },
}


@router.get("/regions", summary="Regions of the registry", response_model=list[Region])
def regions(
    store: StoreDep,
    level: Literal["country", "admin1", "admin2", "custom"] | None = None,
    with_data: Annotated[bool, Query(description="only regions holding data")] = False,
) -> list[dict[str, Any]]:
    present = set(store.regions_with_data()) if with_data else None  # one SELECT DISTINCT
    return [
        {
            "id": region.id,
            "name": region.name,
            "level": region.level,
            "parent": region.parent,
            "iso3": region.iso3,
            "neighbours": list(region.neighbours),
        }
        for region in store.registry()
        if (not level or region.level == level) and (present is None or region.id in present)
    ]


@router.post(
    "/observations",
    status_code=201,
    summary="Add panel rows (JSON or CSV); same validation and atomicity as riskcast ingest",
    dependencies=[Depends(require_api_key)],
    response_model=IngestReport,
    openapi_extra={"requestBody": REQUEST_BODY},
)
async def post_observations(
    request: Request,
    store: StoreDep,
    new_regions: Annotated[
        bool, Query(description="add unknown well-formed region ids as custom regions")
    ] = False,
) -> dict[str, Any]:
    raw, name, is_json = await _body(request)
    frame = rows_from_json(raw, file=name) if is_json else rows_from_csv(raw, file=name)
    return await run_in_threadpool(
        ingest_observations,
        store,
        frame,
        raw,
        file=name,
        first_row=1 if is_json else 2,
        allow_new_regions=new_regions,
    )


async def _body(request: Request) -> tuple[bytes, str, bool]:
    """The uploaded bytes, the name they go by in messages, and whether they are JSON."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "multipart/form-data":
        form = await request.form()
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise InputError("multipart upload needs a file in the form field 'file'", field="file")
        raw, name = await upload.read(), upload.filename or "upload"
        is_json = name.lower().endswith(".json")
    elif content_type in ("application/json", "", *CSV_TYPES):
        raw, name, is_json = await request.body(), BODY, content_type not in CSV_TYPES
    else:
        raise HTTPException(
            415,
            f"unsupported content type '{shown(content_type)}'; send application/json, text/csv "
            "or a multipart upload",
        )
    if not raw.strip():
        raise HTTPException(400, "empty request body")
    return raw, name, is_json
