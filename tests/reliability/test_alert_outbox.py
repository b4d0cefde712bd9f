"""Alerts survive a receiver outage and a sender killed mid-delivery (real processes).

The receiver and every alerts evaluation are processes of their own on one database; the
receiver logs what it received and what it accepted (2xx) per idempotency key.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.reliability.conftest import REPO, Home, free_port, make_home

pytestmark = pytest.mark.slow

REGIONS = ["ML01", "ML02", "ML03", "ML05"]


def _home(tmp_path: Path, port: int) -> Home:
    return make_home(
        tmp_path / "alerts",
        f"""
[alerts]
threshold = 0.5
resolve_below = 0.3
generator_url = "http://127.0.0.1/bulletin"

[alerts.webhook]
url = "http://127.0.0.1:{port}/hook"
timeout_s = 20.0
max_attempts = 2
backoff_s = 0.05
backoff_max_s = 0.1

[alerts.outbox]
retry_backoff_s = 0.0
""",
    )


class ReceiverProcess:
    """``tests.reliability.receiver`` on a fixed port; stop and start it at will."""

    def __init__(self, home: Home, port: int) -> None:
        self.home, self.port = home, port
        self.log = home.path / "receiver.jsonl"
        self.process: subprocess.Popen | None = None

    def start(self, hang_first: int = 0) -> None:
        before = len(self.events("listening"))
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.reliability.receiver", "--port", str(self.port)]
            + ["--log", str(self.log), "--hang-first", str(hang_first)],
            env=self.home.env,
            cwd=REPO,
        )
        _wait_for(lambda: len(self.events("listening")) > before, "the receiver to listen")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.process = None

    def events(self, kind: str) -> list[dict]:
        if not self.log.exists():
            return []
        lines = self.log.read_text(encoding="utf-8").splitlines()
        return [entry for entry in map(json.loads, lines) if entry["event"] == kind]


def _wait_for(condition, what: str, seconds: float = 60) -> None:
    """Wait for another process to do something it only shows in a file."""
    pause = threading.Event()
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        pause.wait(0.05)


def _evaluate(home: Home, refit: str, **popen: object) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.reliability.alert_worker", "--refit", refit, *REGIONS],
        env=home.env,
        cwd=REPO,
        **popen,
    )


def _evaluated(home: Home, refit: str) -> None:
    worker = _evaluate(home, refit, stderr=subprocess.PIPE, text=True)
    _, err = worker.communicate(timeout=300)
    assert worker.returncode == 0, err[-3000:]
    assert "Traceback" not in err


def _outbox(home: Home) -> list[dict]:
    engine = sa.create_engine(f"sqlite:///{home.database}")
    try:
        with engine.connect() as connection:
            rows = connection.execute(sa.text("SELECT * FROM alert_outbox ORDER BY id"))
            return [dict(row) for row in rows.mappings()]
    finally:
        engine.dispose()


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[tuple[Home, ReceiverProcess]]:
    port = free_port()
    home = _home(tmp_path, port)
    receiver = ReceiverProcess(home, port)
    yield home, receiver
    receiver.stop()


def test_receiver_down_past_every_retry_then_up_gets_each_alert_once(setup) -> None:
    home, receiver = setup
    _evaluated(home, "refit-1")  # receiver down: both attempts of all 4 alerts refused
    webhook = [row for row in _outbox(home) if row["notifier"] == "webhook"]
    assert [row["status"] for row in webhook] == ["pending"] * 4
    assert all(row["rounds"] == 1 for row in webhook)

    receiver.start()
    _evaluated(home, "refit-2")  # same risk: no new transition, the owed ones go out
    accepted = Counter(entry["key"] for entry in receiver.events("accepted"))
    assert len(accepted) == 4 and set(accepted.values()) == {1}
    assert {row["idempotency_key"] for row in webhook} == set(accepted)
    assert [row["status"] for row in _outbox(home)] == ["delivered"] * 8  # log + webhook

    _evaluated(home, "refit-3")  # nothing owed any more: nothing resent
    assert len(receiver.events("received")) == 4
    assert receiver.events("duplicate") == []


def test_a_sender_killed_mid_delivery_is_finished_by_the_next_evaluation(setup) -> None:
    home, receiver = setup
    receiver.start(hang_first=1)
    worker = _evaluate(home, "refit-1", stderr=subprocess.DEVNULL)
    _wait_for(lambda: len(receiver.events("received")) == 1, "the first delivery to arrive")
    os.kill(worker.pid, signal.SIGKILL)  # mid-delivery: the receiver holds the request
    worker.wait()
    statuses = Counter(row["status"] for row in _outbox(home) if row["notifier"] == "webhook")
    assert statuses == {"sending": 1, "pending": 3}

    receiver.stop()
    receiver.start()  # back up, answering everything
    _evaluated(home, "refit-2")
    accepted = Counter(entry["key"] for entry in receiver.events("accepted"))
    assert len(accepted) == 4 and set(accepted.values()) == {1}  # each alert exactly once
    assert receiver.events("duplicate") == []
    assert {row["status"] for row in _outbox(home)} == {"delivered"}
