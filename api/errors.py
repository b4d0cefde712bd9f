"""How domain errors become HTTP answers: one place, by type, never by message text.

Routes raise FastAPI's own :class:`~fastapi.HTTPException` for HTTP-only conditions (401,
404, 415); the domain raises its own errors, mapped here: 400 a body that does not parse,
409 a job already running, 422 data that parse but are wrong (the message names file, row
and field), 503 the database (or its schema) unavailable, 500 the service misconfigured.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError

from data.db import unavailable
from data.migrate import SchemaOutOfDateError
from jobs.observations import MalformedBodyError
from jobs.runner import JobBusyError
from riskcast.errors import ConfigError, InputError, RiskcastError, StoreUnavailableError

RETRY = {"Retry-After": "30"}


def _answer(status: int, exc: Exception, headers: dict[str, str] | None = None, **extra: Any):  # noqa: ANN202
    body = {"detail": str(exc), **{k: v for k, v in extra.items() if v is not None}}
    return JSONResponse(body, status_code=status, headers=headers)


def _input(_: Request, exc: InputError) -> JSONResponse:
    status = 400 if isinstance(exc, MalformedBodyError) else 422
    return _answer(status, exc, file=exc.file, row=exc.row, field=exc.field)


def _busy(_: Request, exc: JobBusyError) -> JSONResponse:
    return _answer(409, exc, run_id=exc.holder.run_id)


def _store_down(_: Request, exc: StoreUnavailableError) -> JSONResponse:
    return _answer(503, exc, RETRY)


def _schema(_: Request, exc: SchemaOutOfDateError) -> JSONResponse:
    return _answer(503, exc)


def _driver(_: Request, exc: DBAPIError) -> JSONResponse:
    return _answer(503, unavailable(exc), RETRY)


def _misconfigured(_: Request, exc: ConfigError) -> JSONResponse:
    return JSONResponse({"detail": f"service misconfigured: {exc}"}, status_code=500)


def _other(_: Request, exc: RiskcastError) -> JSONResponse:
    return _answer(400, exc)


def add_error_handlers(app: FastAPI) -> None:
    """Register the mapping on ``app`` (the most specific type wins, as Starlette looks up
    the exception's class hierarchy)."""
    app.add_exception_handler(InputError, _input)
    app.add_exception_handler(JobBusyError, _busy)
    app.add_exception_handler(StoreUnavailableError, _store_down)
    app.add_exception_handler(SchemaOutOfDateError, _schema)
    app.add_exception_handler(DBAPIError, _driver)
    app.add_exception_handler(ConfigError, _misconfigured)
    app.add_exception_handler(RiskcastError, _other)
