"""The service and the jobs refuse a database whose schema is older than the code."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

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
    with pytest.raises(Exception, match="riskcast db upgrade"):
        execute("weekly", trigger="cli")
