"""riskcast's production face: HTTP API, scheduled jobs, alerts and the weekly bulletin.

This module wires; it does not compute. Reads come from the published refit tables
(:mod:`jobs.results`), the alert store (:mod:`alerts.state`), MLflow
(:mod:`experiments.compare`) and the bulletin renderer (:mod:`reports.bulletin`); writes
go through the same validation and storage as the CLI (:mod:`jobs.observations`) or the
same job runner as the scheduler (:mod:`jobs.runner`).

Status codes: 400 malformed request (e.g. JSON that does not parse), 401 missing/wrong API
key, 404 nothing there yet, 409 a job already running, 413 body too large, 422 data that
parse but are wrong (unknown region, negative count: the message names file, row and
field), 500 service misconfigured, 503 database (or the store it needs) unavailable.
"""

from __future__ import annotations

import hmac
import logging
import os
import threading
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any, Literal

import typer
from fastapi import Depends, FastAPI, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from jobs import records, results
from jobs.db import unavailable
from jobs.observations import BODY, ingest_observations, rows_from_csv, rows_from_json
from jobs.records import JobOutcome
from jobs.runner import JOBS, JobBusyError, execute
from jobs.scheduler import schedule_overview, scheduler_state, start_scheduler
from jobs.settings import ServiceConfig, schedule_config, service_config
from riskcast.api_docs import offline_docs_app
from riskcast.config import Settings, get_settings
from riskcast.errors import (
    ConfigError,
    InputError,
    RiskcastError,
    StoreUnavailableError,
    shown,
)
from riskcast.months import format_month, parse_month

logger = logging.getLogger(__name__)

NO_SCHEDULER_ENV = "RISKCAST_NO_SCHEDULER"
"""Set to 1 (``riskcast serve --no-scheduler``) to serve without running scheduled jobs."""

SHUTDOWN_JOB_WAIT_SECONDS = 120.0
"""How long shutdown waits for a job started through the API to finish and be recorded."""

ALERT_STATES = ("inactive", "pending", "firing", "resolved")

bearer = HTTPBearer(auto_error=False, description="API key from RISKCAST_API_KEYS")


# --------------------------------------------------------------------------- middleware
class BodySizeLimit:
    """Refuse request bodies over ``max_bytes`` with 413 before the app parses anything.

    A declared ``Content-Length`` over the limit is refused at once; a chunked body is
    buffered up to the limit and refused as soon as it passes it.
    """

    def __init__(self, app: Any, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._refuse(send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        delivered = False

        async def replay() -> dict:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, send: Any) -> None:
        response = JSONResponse(
            {"detail": f"request body larger than {self.max_bytes} bytes"}, status_code=413
        )
        await response({"type": "http"}, None, send)


# --------------------------------------------------------------------------- dependencies
def _store(request: Request) -> Any:
    """The service store of the request's app."""
    return _open_store(request.app)


def _open_store(app: FastAPI) -> Any:
    """The service store, opened once per app (engines are lazy; errors surface per query)."""
    state = app.state
    with state.store_lock:
        if state.store is None:
            from data.store import open_store

            config: ServiceConfig = state.service_config
            state.store = open_store(
                state.settings.resolved_database_url(),
                busy_timeout_s=config.db_busy_timeout_seconds,
                connect_timeout_s=config.db_connect_timeout_seconds,
            )
        return state.store


def require_api_key(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> None:
    """Writes need ``Authorization: Bearer <key>``; keys compared in constant time."""
    keys = request.app.state.settings.api_key_list()
    challenge = {"WWW-Authenticate": "Bearer"}
    if not keys:
        raise _http(
            401, "writes are disabled: no API keys configured (RISKCAST_API_KEYS)", challenge
        )
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise _http(401, "missing API key: send 'Authorization: Bearer <key>'", challenge)
    offered = credentials.credentials.encode()
    matched = False
    for key in keys:  # every key is compared, so timing does not reveal which one matched
        matched |= hmac.compare_digest(offered, key.encode())
    if not matched:
        raise _http(401, "invalid API key", challenge)


class _HTTPError(Exception):
    def __init__(self, status: int, detail: str, headers: dict[str, str] | None = None) -> None:
        self.status, self.detail, self.headers = status, detail, headers or {}


def _http(status: int, detail: str, headers: dict[str, str] | None = None) -> _HTTPError:
    return _HTTPError(status, detail, headers)


# --------------------------------------------------------------------------- helpers
def _frame_json(frame: Any) -> list[dict[str, Any]]:
    """A DataFrame as JSON-ready records (NaN → null)."""
    import json

    return json.loads(frame.to_json(orient="records", date_format="iso"))


def _check_month(value: str | None, field: str) -> str | None:
    return format_month(parse_month(value, field=field)) if value else None


def _job_wait(request: Request) -> float:
    return request.app.state.service_config.job_wait_seconds


def _start_job(app: FastAPI, name: str, wait_seconds: float) -> tuple[int, dict[str, Any]]:
    """Run job ``name`` in a thread; answer when it ends or after ``wait_seconds``."""
    started = threading.Event()
    box: dict[str, Any] = {}

    def on_start(outcome: JobOutcome) -> None:
        box["run"] = outcome
        started.set()

    def target() -> None:
        try:
            box["done"] = execute(name, trigger="api", on_start=on_start)
        except Exception as exc:  # database down before the run could be recorded
            box["error"] = exc
            started.set()

    worker = threading.Thread(target=target, name=f"riskcast-job-{name}", daemon=True)
    worker.start()
    app.state.job_threads = [t for t in app.state.job_threads if t.is_alive()] + [worker]
    started.wait(timeout=30)
    if "error" in box:
        raise box["error"]
    worker.join(timeout=wait_seconds)
    if "done" in box and box["done"] is not None:
        outcome: JobOutcome = box["done"]
        return 200, outcome.to_json()
    run = box.get("run")
    return 202, {
        "job_name": name,
        "outcome": "running",
        "run_id": run.run_id if run else None,
        "poll": f"/jobs/runs/{run.run_id}" if run else "/jobs",
    }


# --------------------------------------------------------------------------- the app
def _first_series() -> str:
    """The series ``/risk`` and ``/forecasts`` answer for when none is asked: the first of
    ``[scope] series`` (fatalities by default)."""
    from jobs.scope import scope_config

    return scope_config().series[0]


def create_app(settings: Settings | None = None, *, run_scheduler: bool | None = None) -> FastAPI:
    """The FastAPI app (``uvicorn --factory service:create_app``).

    Args:
        settings: deployment settings; default from the environment.
        run_scheduler: start the scheduler with the app; default ``[service] run_scheduler``
            and ``[schedule] enabled`` unless ``RISKCAST_NO_SCHEDULER=1``.
    """
    settings = settings or get_settings()
    config: ServiceConfig = service_config()
    if run_scheduler is None:
        run_scheduler = (
            config.run_scheduler
            and schedule_config().enabled
            and os.environ.get(NO_SCHEDULER_ENV, "") not in ("1", "true", "yes")
        )

    @asynccontextmanager
    async def lifespan(app: FastAPI):  # noqa: ANN202
        if run_scheduler:
            try:
                app.state.scheduler = start_scheduler(_open_store(app).engine)
            except (RiskcastError, DBAPIError) as exc:
                # Serve anyway (health says so); the database may come back.
                logger.error("scheduler not started: %s", exc)
                app.state.scheduler_error = str(exc)
        yield
        if app.state.scheduler is not None:
            app.state.scheduler.shutdown(wait=False)
        for worker in app.state.job_threads:  # let API-triggered runs finish and record
            worker.join(timeout=SHUTDOWN_JOB_WAIT_SECONDS)
            if worker.is_alive():
                logger.warning(
                    "%s still running at shutdown; its record will show stale", worker.name
                )

    app = offline_docs_app(  # /docs from local files: works offline
        title="riskcast",
        version="0.1.0",
        summary="Conflict early warning: probabilistic forecasts, escalation risk, alerts.",
        description=__doc__,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.service_config = config
    app.state.store = None
    app.state.store_lock = threading.Lock()
    app.state.scheduler = None
    app.state.scheduler_error = None
    app.state.job_threads = []
    app.add_middleware(BodySizeLimit, max_bytes=config.max_body_bytes)
    _add_error_handlers(app)
    _add_routes(app)
    return app


def _add_error_handlers(app: FastAPI) -> None:
    def body(exc: Exception, **extra: Any) -> dict[str, Any]:
        return {"detail": str(exc), **{k: v for k, v in extra.items() if v is not None}}

    @app.exception_handler(_HTTPError)
    async def http_error(_: Request, exc: _HTTPError) -> JSONResponse:
        return JSONResponse({"detail": exc.detail}, status_code=exc.status, headers=exc.headers)

    @app.exception_handler(JobBusyError)
    async def job_busy(_: Request, exc: JobBusyError) -> JSONResponse:
        return JSONResponse(body(exc, run_id=exc.holder.run_id), status_code=409)

    @app.exception_handler(InputError)
    async def input_error(_: Request, exc: InputError) -> JSONResponse:
        return JSONResponse(body(exc, file=exc.file, row=exc.row, field=exc.field), status_code=422)

    @app.exception_handler(StoreUnavailableError)
    async def store_down(_: Request, exc: StoreUnavailableError) -> JSONResponse:
        return JSONResponse(body(exc), status_code=503, headers={"Retry-After": "30"})

    @app.exception_handler(DBAPIError)
    async def driver_error(_: Request, exc: DBAPIError) -> JSONResponse:
        return JSONResponse(body(unavailable(exc)), status_code=503, headers={"Retry-After": "30"})

    @app.exception_handler(ConfigError)
    async def config_error(_: Request, exc: ConfigError) -> JSONResponse:
        return JSONResponse({"detail": f"service misconfigured: {exc}"}, status_code=500)

    @app.exception_handler(RiskcastError)
    async def riskcast_error(_: Request, exc: RiskcastError) -> JSONResponse:
        return JSONResponse(body(exc), status_code=400)


def _mlflow_health() -> dict[str, Any]:
    """Is the MLflow store reachable? Cheap checks only (no retries, 2 s timeout)."""
    import httpx

    settings = get_settings()
    try:
        from experiments.tracking import experiments_config

        uri = settings.mlflow_tracking_uri or experiments_config().tracking_uri
    except (ImportError, RiskcastError):
        uri = settings.mlflow_tracking_uri
    uri = uri or settings.resolved_mlflow_uri()
    if uri.startswith(("http://", "https://")):
        try:
            httpx.get(uri.rstrip("/") + "/health", timeout=2.0).raise_for_status()
        except httpx.HTTPError as exc:
            return {"ok": False, "uri": uri, "error": f"unreachable: {exc}"}
        return {"ok": True, "uri": uri}
    if uri.startswith("sqlite:///"):
        path = Path(uri.removeprefix("sqlite:///").split("?", 1)[0])
        if path.exists():
            return {"ok": os.access(path, os.R_OK | os.W_OK), "uri": uri}
        writable = path.parent.exists() and os.access(path.parent, os.W_OK)
        detail = "not created yet (first run creates it)" if writable else "folder not writable"
        return {"ok": writable, "uri": uri, "detail": detail}
    return {"ok": True, "uri": uri, "detail": "not checked"}


def _add_routes(app: FastAPI) -> None:  # noqa: C901 - a flat list of routes reads best
    @app.get("/health", tags=["service"], summary="Database, MLflow store and scheduler state")
    def health(request: Request) -> JSONResponse:
        state = request.app.state
        database: dict[str, Any] = {"url": _redact(state.settings.resolved_database_url())}
        try:
            with _store(request).engine.connect() as connection:
                connection.execute(text("SELECT 1"))
            database["ok"] = True
        except (DBAPIError, RiskcastError) as exc:
            database.update(
                ok=False, error=str(unavailable(exc) if isinstance(exc, DBAPIError) else exc)
            )
        mlflow_state = _mlflow_health()
        scheduler = {
            "state": scheduler_state(state.scheduler),
            "error": state.scheduler_error,
            "jobs": schedule_overview(state.scheduler) if database["ok"] else [],
        }
        healthy = database["ok"] and mlflow_state["ok"]
        status = "ok" if healthy else ("down" if not database["ok"] else "degraded")
        return JSONResponse(
            {
                "status": status,
                "database": database,
                "mlflow": mlflow_state,
                "scheduler": scheduler,
            },
            status_code=200 if database["ok"] else 503,
        )

    @app.get("/regions", tags=["data"], summary="Regions of the registry")
    def regions(
        request: Request,
        level: Literal["country", "admin1", "admin2", "custom"] | None = None,
        with_data: Annotated[bool, Query(description="only regions holding data")] = False,
    ) -> list[dict[str, Any]]:
        store = _store(request)
        present: set[str] | None = None
        if with_data:
            present = set(store.regions_with_data())  # one SELECT DISTINCT, not the panel
        out = []
        for region in store.registry():
            if level and region.level != level:
                continue
            if present is not None and region.id not in present:
                continue
            out.append(
                {
                    "id": region.id,
                    "name": region.name,
                    "level": region.level,
                    "parent": region.parent,
                    "iso3": region.iso3,
                    "neighbours": list(region.neighbours),
                }
            )
        return out

    @app.get(
        "/forecasts",
        tags=["forecasts"],
        summary="Forecasts of a refit in the output contract (JSON or CSV)",
        response_model=None,
    )
    def forecasts(
        request: Request,
        region: Annotated[list[str] | None, Query(description="region id(s), repeatable")] = None,
        series: str | None = None,
        origin: Annotated[str | None, Query(description="origin YYYY-MM; default latest")] = None,
        refit: Annotated[str | None, Query(description="refit (MLflow run) id")] = None,
        format: Literal["json", "csv"] = "json",
    ) -> Response:
        store = _store(request)
        origin_text = _check_month(origin, "origin")
        if region:
            known = store.registry()
            unknown = [r for r in region if r not in known]
            if unknown:
                listed = ", ".join(f"'{shown(r)}'" for r in unknown[:5])
                more = f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""
                raise InputError(f"unknown region(s) {listed}{more}", field="region")
        if refit:
            chosen = next(
                (
                    r
                    for r in results.list_refits(store.engine, limit=1000)
                    if r["refit_id"] == refit
                ),
                None,
            )
        else:
            chosen = results.latest_refit(
                store.engine, series=series or _first_series(), origin=origin_text
            )
        if chosen is None:
            raise _http(
                404,
                "no forecasts published for that selection yet; run the weekly "
                "job (riskcast run, or POST /jobs/weekly/run)",
            )
        frame = results.load_forecasts(store.engine, refit_id=chosen["refit_id"], regions=region)
        headers = {
            "X-Riskcast-Refit": chosen["refit_id"],
            "X-Riskcast-Model": chosen["model"],
            "X-Riskcast-Origin": chosen["origin"],
        }
        if format == "csv":
            from data.spreadsheet import inert_frame

            csv_text = inert_frame(frame).to_csv(index=False)
            return Response(csv_text, media_type="text/csv", headers=headers)
        return JSONResponse(_frame_json(frame), headers=headers)

    @app.get("/risk", tags=["forecasts"], summary="Latest escalation risk per region, per series")
    def risk(request: Request, series: str | None = None) -> dict[str, Any]:
        chosen = series or _first_series()
        latest = results.latest_risk(_store(request).engine, series=chosen)
        if latest is None:
            raise _http(404, f"no '{shown(chosen)}' risk published yet; run the weekly job")
        return latest

    @app.get("/alerts", tags=["alerts"], summary="Alerts and their state")
    def alerts(
        request: Request,
        state: Annotated[str | None, Query(description="|".join(ALERT_STATES))] = None,
    ) -> dict[str, Any]:
        from alerts import list_alerts

        if state is not None and state not in ALERT_STATES:
            raise InputError(
                f"unknown alert state '{state}'; one of {', '.join(ALERT_STATES)}", field="state"
            )
        return {"alerts": list_alerts(_store(request).engine, state)}

    @app.get("/alerts/transitions", tags=["alerts"], summary="Recent transitions + deliveries")
    def alert_transitions(
        request: Request, limit: Annotated[int, Query(ge=1, le=1000)] = 100
    ) -> dict[str, Any]:
        from alerts import list_deliveries, list_transitions
        from alerts.outbox import outbox_rows

        engine = _store(request).engine
        rows = list_transitions(engine, limit=limit)
        for row in rows:
            row["deliveries"] = list_deliveries(engine, transition_id=row["id"])
            row["outbox"] = outbox_rows(engine, transition_id=row["id"])
        return {"transitions": rows}

    @app.get("/experiments", tags=["experiments"], summary="The MLflow leaderboard")
    def experiments(experiment: str | None = None, metric: str | None = None) -> dict[str, Any]:
        from experiments.compare import leaderboard_json

        try:
            return leaderboard_json(experiment, metric)
        except ConfigError as exc:  # a metric that was never logged
            raise InputError(str(exc), field="metric") from exc
        except StoreUnavailableError:
            raise
        except RiskcastError as exc:  # no backtest yet / nothing comparable
            raise _http(404, str(exc)) from exc

    @app.get("/jobs", tags=["jobs"], summary="Schedule, next fire times and recorded runs")
    def jobs(request: Request, limit: Annotated[int, Query(ge=1, le=500)] = 20) -> dict[str, Any]:
        state = request.app.state
        engine = _store(request).engine
        return {
            "scheduler": scheduler_state(state.scheduler),
            "schedule": schedule_overview(state.scheduler),
            "jobs": [{"name": s.name, "description": s.description} for s in JOBS.values()],
            "runs": [run.to_json() for run in records.runs(engine, limit=limit)],
        }

    @app.get("/jobs/runs/{run_id}", tags=["jobs"], summary="One recorded run")
    def job_run(request: Request, run_id: str) -> dict[str, Any]:
        run = records.get(_store(request).engine, run_id)
        if run is None:
            raise _http(404, f"no job run {run_id}")
        return run.to_json()

    @app.get(
        "/bulletin",
        tags=["bulletin"],
        summary="The weekly bulletin (HTML)",
        response_class=HTMLResponse,
    )
    def bulletin(request: Request) -> HTMLResponse:
        from jobs.bulletin_context import NoRefitYetError, render_bulletin_html
        from reports.bulletin import render_not_ready

        try:
            return HTMLResponse(render_bulletin_html(_store(request)))
        except NoRefitYetError as exc:  # a browser user gets a page saying what to run
            return HTMLResponse(render_not_ready(str(exc)), status_code=404)

    @app.post(
        "/observations",
        tags=["data"],
        status_code=201,
        summary="Add panel rows (JSON or CSV); same validation and atomicity as riskcast ingest",
        dependencies=[Depends(require_api_key)],
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
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
                    },
                    "text/csv": {"schema": {"type": "string"}},
                    "multipart/form-data": {
                        "schema": {
                            "type": "object",
                            "properties": {"file": {"type": "string", "format": "binary"}},
                        }
                    },
                },
            }
        },
    )
    async def post_observations(
        request: Request,
        new_regions: Annotated[
            bool, Query(description="add unknown well-formed region ids as custom regions")
        ] = False,
    ) -> JSONResponse:
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        name = BODY
        if content_type == "multipart/form-data":
            form = await request.form()
            upload = form.get("file")
            if upload is None or isinstance(upload, str):
                raise InputError(
                    "multipart upload needs a file in the form field 'file'", field="file"
                )
            raw = await upload.read()
            name = upload.filename or "upload"
            is_json = name.lower().endswith(".json")
        else:
            raw = await request.body()
            is_json = content_type in ("application/json", "")
            if content_type not in ("application/json", "", "text/csv", "application/csv"):
                raise _http(
                    415,
                    f"unsupported content type '{content_type}'; send "
                    "application/json, text/csv or a multipart upload",
                )
        if not raw.strip():
            raise _http(400, "empty request body")
        try:
            frame = rows_from_json(raw, file=name) if is_json else rows_from_csv(raw, file=name)
        except InputError as exc:
            if "not valid JSON" in exc.message:
                raise _http(400, str(exc)) from exc
            raise
        store = _store(request)
        from starlette.concurrency import run_in_threadpool

        report = await run_in_threadpool(
            ingest_observations,
            store,
            frame,
            raw,
            file=name,
            first_row=1 if is_json else 2,
            allow_new_regions=new_regions,
        )
        return JSONResponse(report, status_code=201)

    @app.post(
        "/jobs/{name}/run",
        tags=["jobs"],
        summary="Run a job now (202 while running; ?wait=true waits for it)",
        dependencies=[Depends(require_api_key)],
    )
    def run_job_now(request: Request, name: str, wait: bool = False) -> JSONResponse:
        if name not in JOBS:
            raise _http(404, f"unknown job '{name}'; known jobs: {', '.join(sorted(JOBS))}")
        _store(request)  # the store must open before a thread is started for the run
        # No "is it busy?" look first: that raced the start. The run's thread takes the
        # job's lock (jobs.lease) and a second trigger anywhere on the database gets 409.
        status, payload = _start_job(request.app, name, _job_wait(request) if wait else 0.5)
        return JSONResponse(payload, status_code=status)


def _redact(url: str) -> str:
    """A database URL without its password."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # an unparsable URL is reported by the connection check
        return "<unparsable URL>"


# --------------------------------------------------------------------------- CLI
def register(app: typer.Typer) -> None:
    """Add ``serve``, ``run`` and ``report`` to the ``riskcast`` app."""

    @app.command()
    def serve(
        host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
        port: int = typer.Option(8000, help="TCP port."),
        workers: int = typer.Option(
            1,
            min=1,
            help="Worker processes (each runs the "
            "scheduler; the database lease runs each fire once).",
        ),
        scheduler: bool = typer.Option(True, help="Run the scheduled jobs in this service."),
    ) -> None:
        """Serve the HTTP API (docs at /docs) and run the scheduled jobs."""
        import uvicorn

        if not scheduler:
            os.environ[NO_SCHEDULER_ENV] = "1"
        typer.echo(f"riskcast API on http://{host}:{port} (docs: http://{host}:{port}/docs)")
        uvicorn.run("service:create_app", factory=True, host=host, port=port, workers=workers)

    @app.command("run")
    def run_once() -> None:
        """Run the weekly job once, exactly as the scheduler does, and say where things are."""
        from jobs.weekly import bulletin_path, run_weekly

        outcome = run_weekly("cli")
        if not outcome.ok:
            typer.secho(f"weekly job failed: {outcome.error}", fg="red", err=True)
            typer.echo(f"run record: {outcome.run_id} (see riskcast serve → /jobs)", err=True)
            raise typer.Exit(1)
        details = outcome.details
        typer.echo(
            f"weekly job succeeded: model {details.get('model')} at origin "
            f"{details.get('origin')}, MLflow run {outcome.mlflow_run_id}"
        )
        for series, done in (details.get("series") or {}).items():  # one refit per series
            where = done.get("skipped") or (
                f"from {done.get('origin')}"
                + (
                    f" ({len(done['differs'])} region(s) from their own month)"
                    if done.get("differs")
                    else ""
                )
                + f", MLflow run {done.get('mlflow_run_id')}"
            )
            typer.echo(f"  {series}: {where}")
        inbox = details.get("inbox", {})
        if inbox.get("ingested") or inbox.get("rejected"):
            typer.echo(
                f"inbox: {len(inbox.get('ingested', []))} file(s) ingested, "
                f"{len(inbox.get('rejected', []))} rejected"
            )
        transitions = [
            t
            for done in (details.get("series") or {}).values()
            for t in (done.get("alerts") or {}).get("transitions", [])
        ]
        typer.echo(f"alerts: {len(transitions)} transition(s)")
        typer.echo(f"bulletin: {details.get('bulletin', bulletin_path())}")
        try:
            from experiments.tracking import tracking_uri, ui_command

            typer.echo(f"MLflow store: {tracking_uri()}  (browse: {ui_command()})")
        except ImportError:
            pass

    @app.command()
    def report(
        out: Annotated[Path, typer.Option("--out", help="HTML file to write.")] = Path(
            "bulletin.html"
        ),
    ) -> None:
        """Write the weekly bulletin as a static HTML page."""
        from data.store import open_store
        from jobs.weekly import write_bulletin

        path = write_bulletin(open_store(), out)
        typer.echo(f"bulletin written to {path.resolve()}")
