"""Manual triggers are exactly-once across real server processes on one database, and a
run whose process was killed is taken over and marked failed at once."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from tests.reliability.conftest import AUTH, Home, Server, make_home, start_server, stop_server

pytestmark = pytest.mark.slow


@pytest.fixture
def two_servers(tmp_path: Path) -> Iterator[tuple[Home, Server, Server]]:
    home = make_home(tmp_path / "two")
    first = start_server(home, "a")
    try:
        second = start_server(home, "b")
    except Exception:
        stop_server(first)
        raise
    yield home, first, second
    for server in (first, second):
        stop_server(server)


def _runs(home: Home, job: str = "weekly") -> list[dict]:
    engine = sa.create_engine(f"sqlite:///{home.database}")
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                sa.text("SELECT run_id, outcome, error FROM job_runs WHERE job_name = :job"),
                {"job": job},
            ).mappings()
            return [dict(row) for row in rows]
    finally:
        engine.dispose()


def _wait_finished(server: Server, run_id: str) -> dict:
    """Poll the run record until it has ended (another process: no event to wait on)."""
    pause = threading.Event()
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        record = httpx.get(f"{server.url}/jobs/runs/{run_id}", timeout=30).json()
        if record["outcome"] != "running":
            return record
        pause.wait(0.5)
    raise AssertionError(f"run {run_id} still running after 300 s")


def test_ten_simultaneous_triggers_on_two_servers_run_the_job_once(two_servers) -> None:
    home, first, second = two_servers
    gate = threading.Barrier(10)
    answers: list[httpx.Response] = []
    lock = threading.Lock()

    def trigger(server: Server) -> None:
        gate.wait()
        answer = httpx.post(f"{server.url}/jobs/weekly/run", headers=AUTH, timeout=60)
        with lock:
            answers.append(answer)

    threads = [
        threading.Thread(target=trigger, args=(first if i % 2 else second,)) for i in range(10)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    statuses = sorted(answer.status_code for answer in answers)
    assert statuses.count(409) == 9, [a.text[:200] for a in answers]
    [started] = [a for a in answers if a.status_code != 409]
    assert started.status_code in (200, 202)
    run_id = started.json()["run_id"]
    refused = [a.json() for a in answers if a.status_code == 409]
    assert all(body["run_id"] == run_id for body in refused)  # every loser names the winner
    _wait_finished(first, run_id)
    runs = _runs(home)
    assert [run["run_id"] for run in runs] == [run_id]  # exactly one run recorded
    for server in (first, second):
        assert "Traceback" not in server.output()


def test_a_run_killed_mid_job_is_taken_over_and_marked_failed(two_servers) -> None:
    home, first, second = two_servers
    started = httpx.post(f"{first.url}/jobs/weekly/run", headers=AUTH, timeout=60)
    assert started.status_code == 202, started.text  # still running after half a second
    run_id = started.json()["run_id"]
    busy = httpx.post(f"{second.url}/jobs/weekly/run", headers=AUTH, timeout=60)
    assert busy.status_code == 409
    os.kill(first.process.pid, signal.SIGKILL)  # mid-job: no cleanup of any kind
    first.process.wait()
    assert httpx.get(f"{second.url}/jobs/runs/{run_id}").json()["outcome"] == "running"

    again = httpx.post(f"{second.url}/jobs/weekly/run", headers=AUTH, timeout=60)
    assert again.status_code in (200, 202), again.text  # taken over at once, not after 6 h
    dead = httpx.get(f"{second.url}/jobs/runs/{run_id}").json()
    assert dead["outcome"] == "failed" and "stopped mid-run" in dead["error"]
    new_run = _wait_finished(second, again.json()["run_id"])
    assert new_run["run_id"] != run_id
    assert len(_runs(home)) == 2
