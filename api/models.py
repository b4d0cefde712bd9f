"""Response models: what each route answers, as ``/docs`` and ``/openapi.json`` show it.

Rows whose columns follow a table (an alert state, a risk-table row, a job's details) keep
``extra="allow"``: the declared fields are the contract, and a column added to the table
reaches clients without a release of this module.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Open(BaseModel):
    """A row that may carry more columns than it declares."""

    model_config = ConfigDict(extra="allow")


class Problem(BaseModel):
    """Every error: one line a person can act on, plus where it was found when known."""

    detail: str
    file: str | None = None
    row: int | None = None
    field: str | None = None
    run_id: str | None = Field(default=None, description="the running job (409)")


class DatabaseHealth(_Open):
    url: str
    ok: bool = False
    error: str | None = None


class MlflowHealth(_Open):
    ok: bool
    uri: str
    error: str | None = None
    detail: str | None = None


class SchedulerHealth(BaseModel):
    state: str
    error: str | None = None
    jobs: list[dict[str, Any]]


class Health(BaseModel):
    status: Literal["ok", "degraded", "down"]
    database: DatabaseHealth
    mlflow: MlflowHealth
    scheduler: SchedulerHealth


class Region(BaseModel):
    id: str
    name: str
    level: str
    parent: str | None = None
    iso3: str | None = None
    neighbours: list[str]


class ForecastRow(_Open):
    """One region-month of the output contract (``forecast.output``)."""

    region: str
    series: str
    origin: str
    month: str
    horizon: int
    model: str
    mean: float


class RiskRegion(_Open):
    region: str
    series: str
    origin: str
    tier: str | None = None
    p_any_3: float | None = None
    previous_tier: str | None = None
    change: float | None = None
    detail: dict[str, Any]


class Risk(BaseModel):
    refit: dict[str, Any]
    previous_refit: dict[str, Any] | None = None
    series: str
    origin: str
    origin_differs: dict[str, str]
    regions: list[RiskRegion]


class AlertList(BaseModel):
    alerts: list[dict[str, Any]]


class Transition(_Open):
    id: int
    region: str
    series: str
    refit_id: str
    from_state: str
    to_state: str
    deliveries: list[dict[str, Any]]
    outbox: list[dict[str, Any]]


class TransitionList(BaseModel):
    transitions: list[Transition]


class Leaderboard(_Open):
    experiment: str
    metric: str
    rows: list[dict[str, Any]]


class JobRun(_Open):
    """A recorded run (``jobs.records.JobOutcome``)."""

    run_id: str
    job_name: str
    trigger: str
    outcome: str
    started_at: str | None = None
    finished_at: str | None = None
    fire_time: str | None = None
    error: str | None = None
    mlflow_run_id: str | None = None
    details: dict[str, Any] = Field(default_factory=dict)


class JobStarted(BaseModel):
    """A run still going when the request answered (202): poll ``poll``."""

    job_name: str
    outcome: Literal["running"]
    run_id: str | None
    poll: str


class JobDescription(BaseModel):
    name: str
    description: str


class JobsOverview(BaseModel):
    scheduler: str
    schedule: list[dict[str, Any]]
    jobs: list[JobDescription]
    runs: list[JobRun]


class IngestReport(_Open):
    """What ``POST /observations`` stored (``data.store.IngestReport``)."""

    ingest_id: int
    file: str
    kind: str
    rows_added: int
    rows_changed: int
    rows_unchanged: int
