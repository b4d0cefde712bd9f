"""Schema migrations: a database made by the previous release is upgraded and loses nothing.

``fixtures/release_0_1_0`` holds what release 0.1.0 (the last without migrations) left in a
database after ``riskcast demo-data``, ``riskcast run``, an ingest that revised a value and
added a region, and an inbox with a good and a garbage file: its schema exactly as that
release created it (``sqlite_master`` and ``pg_dump --schema-only``) and rows of every
table. The test rebuilds that database, checks the service refuses it, runs the real
``riskcast db upgrade`` and compares every row.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from data.migrate import SchemaOutOfDateError, ensure_schema, head_revision, schema_state
from data.store import open_store
from data.tables import metadata
from tests.pg import fresh_schema, schema_url, server_url

RELEASE = Path(__file__).parent / "fixtures" / "release_0_1_0"
RISKCAST = [str(Path(sys.executable).with_name("riskcast"))]


def _release_rows() -> dict[str, dict]:
    return json.loads((RELEASE / "rows.json").read_text())


def _sqlite_statements() -> list[str]:
    return [s for s in (RELEASE / "schema.sqlite.sql").read_text().split(";\n") if s.strip()]


def _postgres_statements() -> list[str]:
    """pg_dump's DDL, moved from ``public`` into whatever schema the connection searches."""
    lines = [
        line
        for line in (RELEASE / "schema.postgresql.sql").read_text().splitlines()
        if not line.startswith(("--", "SELECT pg_catalog.set_config('search_path'"))
    ]
    text = "\n".join(lines).replace("public.", "")
    return [s for s in text.split(";\n") if s.strip()]


def _build_release_database(url: str, statements: list[str]) -> None:
    """The previous release's schema, then its rows (typed as the reflected columns say)."""
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        for statement in statements:
            conn.exec_driver_sql(statement)
        reflected = sa.MetaData()
        reflected.reflect(conn)
        for table in reflected.sorted_tables:
            dump = _release_rows()[table.name]
            rows = [
                _typed(table, dict(zip(dump["columns"], row, strict=True))) for row in dump["rows"]
            ]
            if rows:
                conn.execute(table.insert(), rows)
        if conn.dialect.name == "postgresql":  # serial columns continue after the copied ids
            for table in reflected.sorted_tables:
                if "id" in table.c and table.c.id.autoincrement is not False:
                    conn.exec_driver_sql(
                        f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                        f"COALESCE((SELECT max(id) FROM {table.name}), 1))"
                    )
    engine.dispose()


def _typed(table: sa.Table, row: dict) -> dict:
    for name, value in row.items():
        if isinstance(value, str) and isinstance(table.c[name].type, sa.DateTime):
            row[name] = datetime.fromisoformat(value)
    return row


def _snapshot(url: str) -> dict[str, list[tuple]]:
    """Every row of every release table, comparable across the upgrade."""
    engine = sa.create_engine(url)
    out = {}
    with engine.connect() as conn:
        for name in _release_rows():
            table = sa.Table(name, sa.MetaData(), autoload_with=conn)
            rows = conn.execute(sa.select(table)).all()
            out[name] = sorted((tuple(_plain(v) for v in row) for row in rows), key=repr)
    engine.dispose()
    return out


def _plain(value: object) -> object:
    return value.replace(tzinfo=None).isoformat() if isinstance(value, datetime) else value


def _riskcast(url: str, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "RISKCAST_DATABASE_URL": url, "RISKCAST_HOME": str(home)}
    return subprocess.run([*RISKCAST, *args], env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def release_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a database exactly as release 0.1.0 left it."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'release.db'}"
        _build_release_database(url, _sqlite_statements())
        yield url
        return
    with fresh_schema("release") as (schema, _admin):
        url = schema_url(server_url(), schema)
        _build_release_database(url, _postgres_statements())
        yield url


@pytest.mark.slow
def test_upgrade_keeps_every_row_of_the_previous_release(
    release_database: str, tmp_path: Path
) -> None:
    before = _snapshot(release_database)
    assert all(before[name] for name in before), "the fixture holds rows in every table"

    refused = _riskcast(release_database, tmp_path, "data", "summary")
    assert refused.returncode == 2
    assert "riskcast db upgrade" in refused.stderr and "before migrations" in refused.stderr

    status = _riskcast(release_database, tmp_path, "db", "status")
    assert status.returncode == 1 and "before migrations" in status.stdout

    upgraded = _riskcast(release_database, tmp_path, "db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    assert f"-> {head_revision()}" in upgraded.stdout

    assert _snapshot(release_database) == before
    engine = sa.create_engine(release_database)
    assert schema_state(engine).current
    with engine.connect() as conn:  # the upgraded schema is exactly the one the code declares
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []
    engine.dispose()

    again = _riskcast(release_database, tmp_path, "db", "upgrade")
    assert again.returncode == 0 and "nothing to do" in again.stdout
    summary = _riskcast(release_database, tmp_path, "data", "summary")
    assert summary.returncode == 0 and "ZZ01" in summary.stdout  # the region that release added


def test_a_new_database_gets_the_current_schema(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'new.db'}")
    with store.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []
    assert schema_state(store.engine).revision == head_revision()


def test_an_older_revision_is_refused_by_name(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    store = open_store(url)
    with store.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '0001'")
        conn.exec_driver_sql("DROP TABLE bulletins")
    store.close()
    with pytest.raises(SchemaOutOfDateError, match=r"revision 0001.*riskcast db upgrade"):
        ensure_schema(sa.create_engine(url))


def test_a_schema_from_a_newer_release_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'newer.db'}"
    open_store(url).close()
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '9999'")
    with pytest.raises(SchemaOutOfDateError, match="upgraded by a newer riskcast"):
        ensure_schema(engine)
