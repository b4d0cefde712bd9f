"""The alert state machine on a real PostgreSQL server, in a throw-away schema."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from alerts.evaluate import evaluate_alerts
from alerts.quality import QualityFlag
from alerts.rules import AlertConfig
from alerts.state import list_alerts, list_deliveries
from tests.alerts.conftest import RecordingNotifier, risk
from tests.pg import fresh_schema, schema_url, server_url

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


@pytest.fixture
def pg_engine() -> Iterator[sa.Engine]:
    """An engine whose connections search a throw-away schema first (tests/pg.py)."""
    with fresh_schema("alerts_test") as (schema, _admin):
        engine = sa.create_engine(schema_url(server_url(), schema))
        try:
            yield engine
        finally:
            engine.dispose()


def test_fire_hold_and_resolve_on_postgres(pg_engine):
    config = AlertConfig(threshold=0.5, resolve_below=0.3, for_refits=2)
    notifier = RecordingNotifier()

    def run(values, refit, **kwargs):
        return evaluate_alerts(
            pg_engine, risk(values), refit_id=refit, config=config, notifiers=[notifier], **kwargs
        )

    assert [t.to_state for t in run({"ML05": 0.7}, "r1")] == ["pending"]
    assert [t.to_state for t in run({"ML05": 0.7}, "r2")] == ["firing"]
    assert run({"ML05": 0.7}, "r2") == []  # idempotent per refit
    flag = QualityFlag("ML05", "fatalities", "silent", "no data since 2021-06")
    assert run({"ML05": 0.1}, "r3", data_quality=[flag]) == []
    [resolved] = run({"ML05": 0.1}, "r4")
    assert resolved.to_state == "resolved" and resolved.ends_at is not None
    assert resolved.starts_at is not None and resolved.starts_at.tzinfo is not None
    assert [t.to_state for t in notifier.sent] == ["firing", "resolved"]
    assert list_alerts(pg_engine)[0]["state"] == "resolved"
    assert len(list_deliveries(pg_engine)) == 2
