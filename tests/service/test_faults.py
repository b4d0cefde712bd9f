"""Faults: a database that is down or locked, a job already running, the inbox."""

from __future__ import annotations

import socket
import sqlite3
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from data.tables import job_locks
from tests.service.conftest import AUTH, write_config

ROW = [{"region": "AA02", "month": "2022-01", "series": "fatalities", "value": 7}]


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_database_down_answers_503_with_a_clear_message(config_file, serve, monkeypatch) -> None:
    url = f"postgresql+psycopg://riskcast@127.0.0.1:{_closed_port()}/riskcast"
    monkeypatch.setenv("RISKCAST_DATABASE_URL", url)
    api = serve(run_scheduler=True)  # the scheduler cannot start either; the API still serves
    health = httpx.get(f"{api}/health")
    assert health.status_code == 503
    body = health.json()
    assert body["status"] == "down" and body["database"]["ok"] is False
    assert "cannot be reached" in body["database"]["error"]
    assert body["scheduler"]["state"] == "off" and body["scheduler"]["error"]
    for path in ("/regions", "/forecasts", "/risk", "/jobs"):
        answer = httpx.get(f"{api}{path}")
        assert answer.status_code == 503, path
        assert "cannot be reached" in answer.json()["detail"]
    write = httpx.post(f"{api}/observations", json=ROW, headers=AUTH)
    assert write.status_code == 503 and "Nothing was written" in write.json()["detail"]


def test_database_locked_answers_503_and_writes_nothing(store, serve, config_file) -> None:
    write_config(config_file, "\n[service]\ndb_busy_timeout_seconds = 0.3\n")
    api = serve(run_scheduler=False)
    before = store.count()
    database = Path(store.engine.url.database)
    holder = sqlite3.connect(database, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # another writer holds the lock
    try:
        answer = httpx.post(f"{api}/observations", json=ROW, headers=AUTH)
        assert answer.status_code == 503
        assert "locked" in answer.json()["detail"]
        assert answer.headers["retry-after"]
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert store.count() == before
    retry = httpx.post(f"{api}/observations", json=ROW, headers=AUTH)
    assert retry.status_code == 201  # the lock gone, the same request goes through


def test_a_job_already_running_is_409(store, serve) -> None:
    from jobs import lease, records

    api = serve(run_scheduler=False)
    # A run in flight, owned by this (live) process: deterministic, unlike racing a real refit.
    running = records.start(store.engine, "weekly", trigger="test")
    assert lease.lock(
        store.engine, "weekly", running.run_id, trigger="test", stale_after=timedelta(hours=1)
    ).acquired
    again = httpx.post(f"{api}/jobs/weekly/run", headers=AUTH)
    assert again.status_code == 409
    assert running.run_id in again.json()["detail"]
    assert again.json()["run_id"] == running.run_id
    running.outcome = "succeeded"
    records.finish(store.engine, running)
    lease.unlock(store.engine, "weekly", running.run_id)
    assert httpx.post(f"{api}/jobs/weekly/run", headers=AUTH).status_code in (200, 202)


def test_inbox_files_are_ingested_once_and_garbage_is_named(store, isolated_home) -> None:
    from jobs.inbox import inbox_history
    from jobs.runner import execute

    inbox = isolated_home / "inbox"
    inbox.mkdir(parents=True, exist_ok=True)
    (inbox / "new.csv").write_text(
        "region,month,series,value,source\nAA01,2022-01,fatalities,5,field-office\n",
        encoding="utf-8",
    )
    (inbox / "garbage.csv").write_bytes(b"\x00\x01 this is not a panel \xff")
    (inbox / "upload.csv.part").write_text("half written", encoding="utf-8")
    before = store.count()

    first = execute("ingest", trigger="cli", store=store)
    assert first.outcome == "failed"
    assert "garbage.csv" in first.error
    assert [item["file"] for item in first.details["ingested"]] == ["new.csv"]
    assert store.count() == before + 1

    second = execute("ingest", trigger="cli", store=store)
    assert second.outcome == "succeeded"  # nothing new; a rejected file is not re-read
    assert sorted(second.details["already_seen"]) == ["garbage.csv", "new.csv"]
    assert store.count() == before + 1
    seen = {row["filename"]: row["outcome"] for row in inbox_history(store)}
    assert seen == {"new.csv": "ingested", "garbage.csv": "rejected"}


def test_a_run_left_running_by_a_dead_process_is_found_and_marked_failed(store) -> None:
    from jobs import lease, records
    from jobs.runner import JobBusyError, busy, execute
    from jobs.settings import ScheduleConfig

    alive = records.start(store.engine, "ingest", trigger="api")
    held = lease.lock(
        store.engine, "ingest", alive.run_id, trigger="api", stale_after=timedelta(hours=1)
    )
    assert held.acquired
    assert (
        busy(store, "ingest", ScheduleConfig()).run_id == alive.run_id
    )  # this process: really running
    with pytest.raises(JobBusyError, match=alive.run_id):
        execute("ingest", trigger="cli", store=store)
    lease.unlock(store.engine, "ingest", alive.run_id)
    alive.outcome = "succeeded"
    records.finish(store.engine, alive)

    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    orphan = records.start(store.engine, "weekly", trigger="schedule")
    assert lease.lock(
        store.engine, "weekly", orphan.run_id, trigger="schedule", stale_after=timedelta(hours=1)
    ).acquired
    with store.engine.begin() as connection:  # as if a process that no longer exists held it
        connection.execute(
            job_locks.update()
            .where(job_locks.c.run_id == orphan.run_id)
            .values(owner=f"{socket.gethostname()}:{dead}")
        )
    assert busy(store, "weekly", ScheduleConfig()) is None
    # The next run of any job finds the dead weekly run, not only the next weekly one.
    outcome = execute("ingest", trigger="cli", store=store)
    assert outcome is not None and outcome.outcome == "succeeded"
    marked = records.get(store.engine, orphan.run_id)
    assert marked.outcome == "failed" and "stopped mid-run" in marked.error
    assert outcome.run_id in marked.error
    assert lease.lock_holder(store.engine, "weekly") is None
    assert lease.lock_holder(store.engine, "ingest") is None  # released at the end


def test_the_hourly_alerts_run_before_any_refit_is_a_recorded_no_op(store) -> None:
    from datetime import UTC, datetime

    from jobs.runner import execute

    fire = datetime(2026, 12, 3, 10, 30, tzinfo=UTC)
    scheduled = execute("alerts", trigger="schedule", fire_time=fire, store=store)
    assert scheduled.outcome == "succeeded"
    assert scheduled.details == {"skipped": "no refit published yet"}
    manual = execute("alerts", trigger="cli", store=store)  # by hand it is an error
    assert manual.outcome == "failed" and "run the weekly job first" in manual.error
