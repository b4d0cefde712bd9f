"""Fixtures for the alert tests: a real SQLite database and a recording notifier."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine, create_engine

from alerts.notifiers import DeliveryAttempt, Recorder, Transition
from alerts.rules import AlertConfig


class RecordingNotifier:
    """A real notifier that keeps what it was sent (what an on-call person would receive)."""

    name = "recording"

    def __init__(self) -> None:
        self.sent: list[Transition] = []

    def send(self, transition: Transition, record: Recorder) -> bool:
        self.sent.append(transition)
        record(DeliveryAttempt(self.name, 1, "delivered"))
        return True


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    """A SQLite database file of its own."""
    engine = create_engine(f"sqlite:///{tmp_path / 'alerts.db'}")
    yield engine
    engine.dispose()


@pytest.fixture
def notifier() -> RecordingNotifier:
    return RecordingNotifier()


@pytest.fixture
def config() -> AlertConfig:
    """Fire at 0.5, resolve below 0.35, at once."""
    return AlertConfig(threshold=0.5, resolve_below=0.35, for_refits=1)


def risk(values: dict[str, float], series: str = "fatalities") -> pd.DataFrame:
    """A risk table as forecast.risk.risk_table gives it (the columns alerts read)."""
    frame = pd.DataFrame({"region": list(values), "p_any_3": list(values.values())})
    frame["tier"] = "n/a"
    frame["series"] = series
    return frame
