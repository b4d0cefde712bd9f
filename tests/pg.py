"""A real PostgreSQL server for tests: its URL, and a fresh schema per test.

Reads RISKCAST_TEST_POSTGRES_URL (e.g. postgresql+psycopg://postgres@127.0.0.1:55432/postgres)
and skips with a reason when it is unset or the server does not answer. A schema of its own
(created, then dropped) is chosen through the connection's search_path, so tests never see
each other's tables.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from urllib.parse import quote

import pytest
import sqlalchemy as sa

URL_VARIABLE = "RISKCAST_TEST_POSTGRES_URL"


def server_url() -> str:
    """The server's URL; skips the test when it is not set or does not answer."""
    url = os.environ.get(URL_VARIABLE)
    if not url:
        pytest.skip(f"{URL_VARIABLE} is not set: no PostgreSQL server to test against")
    try:
        engine = sa.create_engine(url, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(sa.text("select 1"))
        engine.dispose()
    except sa.exc.OperationalError as exc:
        pytest.skip(f"PostgreSQL at {URL_VARIABLE} is unreachable: {exc.orig}")
    return url


def schema_url(base: str, schema: str, **params: str) -> str:
    """``base`` with connections searching ``schema`` first (plus other URL parameters)."""
    query = "&".join(
        [f"options={quote(f'-csearch_path={schema}')}"] + [f"{k}={v}" for k, v in params.items()]
    )
    return f"{base}{'&' if '?' in base else '?'}{query}"


@contextlib.contextmanager
def fresh_schema(prefix: str) -> Iterator[tuple[str, sa.Engine]]:
    """A new schema on the test server (and an admin engine), dropped on exit."""
    admin = sa.create_engine(server_url())
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield schema, admin
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
