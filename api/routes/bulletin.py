"""``GET /bulletin``: the page the weekly job rendered, served as stored.

The job renders the bulletin once per refit (:mod:`jobs.bulletins`); this route reads the
newest stored page, so it answers in milliseconds and shows exactly what was published.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from api.deps import StoreDep
from jobs.bulletins import latest_bulletin
from reports.bulletin import render_not_ready

router = APIRouter(tags=["bulletin"])

NOT_READY = (
    "no bulletin yet: the weekly job renders it after each refit; run the weekly job "
    "(riskcast run, or POST /jobs/weekly/run)"
)


@router.get(
    "/bulletin",
    summary="The weekly bulletin (HTML), as the last weekly run rendered it",
    response_class=HTMLResponse,
    responses={404: {"content": {"text/html": {}}, "description": "no weekly run yet"}},
)
def bulletin(store: StoreDep) -> HTMLResponse:
    stored = latest_bulletin(store.engine)
    if stored is None:  # a browser user gets a page saying what to run
        return HTMLResponse(render_not_ready(NOT_READY), status_code=404)
    rendered = stored.rendered_at.isoformat(timespec="seconds")
    return HTMLResponse(stored.html, headers={"X-Riskcast-Rendered-At": rendered})
