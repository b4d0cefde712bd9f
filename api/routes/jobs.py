"""``/jobs``: the schedule, recorded runs, and running a job now."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.responses import JSONResponse

from api.deps import StateDep, StoreDep, require_api_key
from api.job_threads import start_job
from api.models import JobRun, JobsOverview, JobStarted
from jobs import records
from jobs.runner import JOBS
from jobs.scheduler import schedule_overview, scheduler_state
from riskcast.errors import shown

router = APIRouter(tags=["jobs"])


@router.get(
    "/jobs", summary="Schedule, next fire times and recorded runs", response_model=JobsOverview
)
def jobs(
    state: StateDep, store: StoreDep, limit: Annotated[int, Query(ge=1, le=500)] = 20
) -> dict[str, Any]:
    return {
        "scheduler": scheduler_state(state.scheduler),
        "schedule": schedule_overview(state.scheduler, state.config.schedule),
        "jobs": [{"name": s.name, "description": s.description} for s in JOBS.values()],
        "runs": [run.to_json() for run in records.runs(store.engine, limit=limit)],
    }


@router.get("/jobs/runs/{run_id}", summary="One recorded run", response_model=JobRun)
def job_run(store: StoreDep, run_id: str) -> dict[str, Any]:
    run = records.get(store.engine, run_id)
    if run is None:
        raise HTTPException(404, f"no job run {shown(run_id)}")
    return run.to_json()


@router.post(
    "/jobs/{name}/run",
    summary="Run a job now (202 while running; ?wait=true waits for it)",
    dependencies=[Depends(require_api_key)],
    response_model=JobRun,
    responses={202: {"model": JobStarted, "description": "still running: poll its run"}},
)
def run_job_now(state: StateDep, name: str, wait: bool = False) -> JSONResponse:
    if name not in JOBS:
        raise HTTPException(
            404, f"unknown job '{shown(name)}'; known jobs: {', '.join(sorted(JOBS))}"
        )
    wait_seconds = state.config.service.job_wait_seconds if wait else 0.5
    status, payload = start_job(state, name, wait_seconds)
    return JSONResponse(payload, status_code=status)
