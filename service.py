"""riskcast's production face: the HTTP API and the scheduled jobs, wired together.

This module builds the app (``uvicorn --factory service:create_app``); it computes
nothing. The routes live in :mod:`api.routes` (one module per concern), what they depend on
in :mod:`api.deps`, their response models in :mod:`api.models`, and how domain errors
become answers in :mod:`api.errors`. Reads come from the tables the weekly job published;
writes go through the same validation and storage as the CLI, or the same job runner as the
scheduler.

Status codes: 400 a body that does not parse, 401 missing/wrong API key, 404 nothing there
yet, 409 a job already running, 413 body too large, 415 an unsupported content type, 422
data that parse but are wrong (unknown region, negative count: the message names file, row
and field), 500 service misconfigured, 503 database unavailable or its schema out of date.
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy.exc import DBAPIError

from api.deps import ServiceState
from api.docs import offline_docs_app
from api.errors import add_error_handlers
from api.limits import BodySizeLimit
from api.routes import alerts, bulletin, data, experiments, forecasts, health, jobs
from experiments.config import configure as configure_experiments
from jobs.config import RiskcastConfig, load_config
from jobs.scheduler import start_scheduler
from jobs.settings import NO_SCHEDULER_ENV
from riskcast.config import Settings, get_settings
from riskcast.errors import RiskcastError

logger = logging.getLogger(__name__)

SHUTDOWN_JOB_WAIT_SECONDS = 120.0
"""How long shutdown waits for a job started through the API to finish and be recorded."""

ROUTERS = (health, data, forecasts, alerts, experiments, jobs, bulletin)


def create_app(
    settings: Settings | None = None,
    *,
    config: RiskcastConfig | None = None,
    run_scheduler: bool | None = None,
) -> FastAPI:
    """The FastAPI app: the service's entry point, so it loads the config once, here.

    Args:
        settings: deployment settings; default from the environment.
        config: the domain config; default read (and validated) now, so a typo anywhere
            stops the service at start.
        run_scheduler: start the scheduler with the app; default ``[service] run_scheduler``
            and ``[schedule] enabled`` unless ``RISKCAST_NO_SCHEDULER=1``.
    """
    settings = settings or get_settings()
    config = config or load_config(settings=settings)
    configure_experiments(config.experiments)
    if run_scheduler is None:
        run_scheduler = (
            config.service.run_scheduler
            and config.schedule.enabled
            and os.environ.get(NO_SCHEDULER_ENV, "") not in ("1", "true", "yes")
        )
    state = ServiceState(settings=settings, config=config)
    app = offline_docs_app(  # /docs from local files: works offline
        title="riskcast",
        version="0.1.0",
        summary="Conflict early warning: probabilistic forecasts, escalation risk, alerts.",
        description=__doc__,
        lifespan=_lifespan(state, run_scheduler),
    )
    app.state.riskcast = state
    app.add_middleware(BodySizeLimit, max_bytes=config.service.max_body_bytes)
    add_error_handlers(app)
    for module in ROUTERS:
        app.include_router(module.router)
    return app


def _lifespan(state: ServiceState, run_scheduler: bool):  # noqa: ANN202 - FastAPI's lifespan
    """Start the scheduler with the app; at shutdown stop it and let API-started runs end."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if run_scheduler:
            try:
                state.scheduler = start_scheduler(state.store().engine, state.config.schedule)
            except (RiskcastError, DBAPIError) as exc:
                # Serve anyway (health says so); the database may come back.
                logger.error("scheduler not started: %s", exc)
                state.scheduler_error = str(exc)
        yield
        if state.scheduler is not None:
            state.scheduler.shutdown(wait=False)
        for worker in state.job_threads:  # let API-triggered runs finish and record
            worker.join(timeout=SHUTDOWN_JOB_WAIT_SECONDS)
            if worker.is_alive():
                logger.warning(
                    "%s still running at shutdown; its record will show stale", worker.name
                )

    return lifespan
