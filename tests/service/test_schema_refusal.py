"""The service and the jobs refuse a database whose schema is older than the code."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from data.migrate import SchemaOutOfDateError
from jobs.runner import execute
from tests.data.test_migrations import _build_release_database, _sqlite_statements


@pytest.fixture
def old_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, config_file: Path) -> str:
    """The service's database is one the previous release made (no migrations yet)."""
    url = f"sqlite:///{tmp_path / 'release.db'}"
    _build_release_database(url, _sqlite_statements())
    monkeypatch.setenv("RISKCAST_DATABASE_URL", url)
    return url


def test_the_service_answers_503_naming_the_upgrade_command(old_database: str, serve) -> None:
    api = serve(run_scheduler=False)
    health = httpx.get(f"{api}/health")
    assert health.status_code == 503
    assert "riskcast db upgrade" in health.json()["database"]["error"]
    risk = httpx.get(f"{api}/risk")
    assert risk.status_code == 503 and "riskcast db upgrade" in risk.json()["detail"]


def test_a_job_refuses_to_run_and_writes_nothing(old_database: str) -> None:
    engine = sa.create_engine(old_database)

    def recorded() -> tuple[int, int]:
        with engine.connect() as connection:
            runs = connection.exec_driver_sql("SELECT count(*) FROM job_runs").scalar_one()
            locks = connection.exec_driver_sql("SELECT count(*) FROM job_locks").scalar_one()
        return runs, locks

    before = recorded()
    with pytest.raises(SchemaOutOfDateError, match="riskcast db upgrade"):
        execute("weekly", trigger="cli")
    assert recorded() == before  # no run record, no lock: it stopped before anything
    engine.dispose()
