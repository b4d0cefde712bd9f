"""The FastAPI app with its API docs served from local files, so ``/docs`` works offline.

FastAPI's default ``/docs`` and ``/redoc`` pages load Swagger UI and ReDoc from a CDN, so
they are blank on an air-gapped analyst network (or in CI without internet). The
``fastapi-offline`` package (MIT) ships the Swagger UI and ReDoc bundles inside its wheel
and wires them the way FastAPI's own "self-hosting JavaScript and CSS for docs" recipe does:
the pages reference ``/static-offline-docs/…`` on this server and nothing else.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline

DOCS_ASSETS_URL = "/static-offline-docs"
"""Where the bundled Swagger UI / ReDoc files are served (excluded from the OpenAPI schema)."""


def offline_docs_app(**kwargs: Any) -> FastAPI:
    """A ``FastAPI(**kwargs)`` whose ``/docs`` and ``/redoc`` need no network."""
    return FastAPIOffline(static_url=DOCS_ASSETS_URL, **kwargs)
