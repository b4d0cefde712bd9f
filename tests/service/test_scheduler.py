"""Scheduler, lease and run records: exactly once across real processes, missed fires run
once on start, failures are recorded and the scheduler keeps going."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from jobs import lease, records
from jobs.scheduler import (
    ScheduledJob,
    build_scheduler,
    default_jobs,
    reconcile,
    schedule_overview,
    start_scheduler,
)
from jobs.settings import ScheduleConfig
from tests.service.workers import OUT_ENV

REPO = Path(__file__).resolve().parents[2]
COUNTER_ENV = "RISKCAST_TEST_TICK_FILE"


def _engine(store):  # noqa: ANN001, ANN202
    return store.engine


def _wait(predicate, timeout: float = 30.0) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.1)


def test_lease_is_won_once_per_job_and_fire_time(store) -> None:
    fire = datetime(2026, 11, 30, 6, 0, tzinfo=UTC)
    assert lease.acquire(store.engine, "weekly", fire, owner="a") is True
    assert lease.acquire(store.engine, "weekly", fire, owner="b") is False
    assert lease.acquire(store.engine, "weekly", fire + timedelta(days=7), owner="b") is True
    assert lease.acquire(store.engine, "ingest", fire, owner="b") is True
    assert lease.holder(store.engine, "weekly", fire) == "a"


def test_default_schedule_comes_from_the_config(store) -> None:
    weekly = {job.name: job for job in default_jobs(ScheduleConfig())}["weekly"]
    after = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)  # a Thursday
    assert weekly.trigger.get_next_fire_time(None, after) == datetime(
        2026, 11, 30, 6, 0, tzinfo=UTC
    )
    overview = {job["name"]: job for job in schedule_overview(None, ScheduleConfig())}
    assert overview["weekly"]["misfire_grace_seconds"] == 6 * 24 * 3600


def _two_processes(engine, tmp_path: Path, *, memory: bool) -> None:  # noqa: ANN001
    """Run two worker processes on the database in the environment; check exactly once."""
    out = tmp_path / "ticks.txt"
    out.touch()
    go = tmp_path / "go.txt"
    env = {**os.environ, OUT_ENV: str(out), "PYTHONPATH": str(REPO)}
    command = [sys.executable, "-m", "tests.service.workers", "--go", str(go), "--fires", "3"]
    if memory:
        command.append("--memory")
    children = [subprocess.Popen(command, env=env, cwd=REPO) for _ in range(2)]
    _wait(lambda: out.read_text().count("ready") == 2, timeout=60)
    # both schedulers are up (paused): the first fire 2 s from now only has to outrun one
    # add_job in each process, not their start-up
    start = (datetime.now(UTC) + timedelta(seconds=2)).replace(microsecond=0)
    go.write_text(start.isoformat())
    for child in children:
        assert child.wait(timeout=60) == 0
    lines = out.read_text().split("\n")
    assert sum(line.startswith("ready") for line in lines) == 2  # both scheduled it
    runs = records.runs(engine, name="tick", limit=100)
    fire_times = Counter(run.fire_time for run in runs)
    assert len(fire_times) == 3, fire_times  # every fire ran …
    assert set(fire_times.values()) == {1}  # … exactly once
    assert {run.outcome for run in runs} == {"succeeded"}
    assert sum(line.startswith("run") for line in lines) == 3  # the body itself, once per fire
    assert len(lease.leases(engine, "tick")) == 3
    if memory:
        # every fire reached both processes; the lease made the second one skip
        assert sum(line.startswith("skip") for line in lines) == 3


@pytest.mark.slow
@pytest.mark.parametrize("jobstore", ["database", "memory"])
def test_two_processes_run_each_fire_exactly_once(store, tmp_path: Path, jobstore: str) -> None:
    """Two real processes schedule the same job on one SQLite file.

    ``database``: the production set-up (shared job store + lease). ``memory``: each process
    has its own job store, so both fire every time and only the lease prevents doubles.
    """
    _two_processes(store.engine, tmp_path, memory=jobstore == "memory")


@pytest.mark.slow
@pytest.mark.postgres
def test_two_processes_on_postgresql_run_each_fire_exactly_once(
    postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two hosts on one PostgreSQL, as the issue describes (two processes here)."""
    from data.store import open_store

    monkeypatch.setenv("RISKCAST_DATABASE_URL", postgres_url)
    store = open_store()
    try:
        _two_processes(store.engine, tmp_path, memory=True)
    finally:
        store.close()


@pytest.mark.slow
def test_a_fire_missed_while_down_runs_once_on_start(store, tmp_path, monkeypatch) -> None:
    out = tmp_path / "ticks.txt"
    monkeypatch.setenv(COUNTER_ENV, str(out))
    first = (datetime.now(UTC) + timedelta(seconds=1.5)).replace(microsecond=0)
    trigger = IntervalTrigger(seconds=1, start_date=first, end_date=first + timedelta(seconds=2))
    job = ScheduledJob("tick", trigger, 60, target="tests.service.workers:tick_body")

    # The service stores the schedule, then goes down before the first fire: paused, so
    # no fire can run whatever the machine's load (no race against the clock) …
    down = build_scheduler(store.engine)
    down.start(paused=True)
    reconcile(down, [job])
    down.shutdown(wait=False)
    time.sleep(max(0.0, (first + timedelta(seconds=2.5) - datetime.now(UTC)).total_seconds()))
    assert not out.exists()  # … and stays down across all three fires

    scheduler = start_scheduler(
        store.engine, ScheduleConfig(), [job]
    )  # the stored next fire is kept
    try:
        _wait(
            lambda: (
                records.runs(store.engine, name="tick")
                and records.runs(store.engine, name="tick")[0].outcome != "running"
            )
        )
        time.sleep(1.0)
    finally:
        scheduler.shutdown(wait=True)
    runs = records.runs(store.engine, name="tick")
    assert len(runs) == 1  # coalesced: one run for the three missed fires
    assert runs[0].fire_time == first + timedelta(seconds=2)  # the latest missed fire
    assert out.read_text().count("run") == 1


@pytest.mark.slow
def test_mlflow_unreachable_is_recorded_and_the_scheduler_keeps_running(
    store, tmp_path, monkeypatch
) -> None:
    from jobs.results import latest_refit

    with __import__("socket").socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"http://127.0.0.1:{closed}")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "2")
    monkeypatch.setenv(COUNTER_ENV, str(tmp_path / "ticks.txt"))
    soon = datetime.now(UTC) + timedelta(seconds=1)
    jobs = [
        ScheduledJob("weekly", DateTrigger(soon), 60),
        ScheduledJob(
            "tick",
            DateTrigger(soon + timedelta(seconds=2)),
            60,
            target="tests.service.workers:tick_body",
        ),
    ]
    scheduler = start_scheduler(store.engine, ScheduleConfig(), jobs)
    try:
        _wait(
            lambda: any(
                run.outcome == "succeeded" for run in records.runs(store.engine, name="tick")
            ),
            timeout=60,
        )
        assert scheduler.running
    finally:
        scheduler.shutdown(wait=True)
    weekly = records.runs(store.engine, name="weekly")
    assert len(weekly) == 1 and weekly[0].outcome == "failed"
    assert "MLflow" in weekly[0].error or "mlflow" in weekly[0].error
    assert weekly[0].trigger == "schedule" and weekly[0].finished_at is not None
    assert latest_refit(store.engine) is None  # nothing half-published
