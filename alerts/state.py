"""The persisted alert state machine: inactive → pending → firing → resolved.

One row per (region, series) in ``alert_states`` holds where each alert stands; every change
of state is appended to ``alert_transitions`` (unique per alert, refit and new state, so the
same refit evaluated twice can never record — or notify — a transition twice); every attempt
to deliver a transition is appended to ``alert_deliveries``; what each receiver is still
owed is kept in ``alert_outbox`` (:mod:`alerts.outbox`). The tables live on the store's
engine under their own :class:`~sqlalchemy.MetaData`, so ``alerts/`` owns its schema.

The transition rule (:func:`next_state`) is a pure function so it can be read and tested on
its own; :mod:`alerts.evaluate` applies it inside one database transaction.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import (
    Engine,
    select,
)

from alerts.rules import AlertRule
from data.migrate import ensure_schema
from data.tables import (
    alert_deliveries,
    alert_states,
    alert_transitions,
)

State = Literal["inactive", "pending", "firing", "resolved"]
NOTIFIED_STATES: tuple[State, ...] = ("firing", "resolved")
"""States whose entry is sent to notifiers (Alertmanager knows only firing and resolved);
entering ``pending`` is recorded and logged but not sent."""

ALERT_NAME = "RiskcastEscalationRisk"


def create_alert_tables(engine: Engine) -> None:
    """Create the alert tables and their indexes where missing.

    Idempotent and safe from several processes; the database is checked once per engine and
    process (:func:`data.migrate.ensure_schema`), not on every read.
    """
    ensure_schema(engine)


def utcnow() -> datetime:
    """Now, timezone-aware UTC (every timestamp the alerts write)."""
    return datetime.now(UTC)


def alert_labels(region: str, series: str, measure: str) -> dict[str, str]:
    """The identifying labels of an alert, as Alertmanager groups and dedups on them."""
    return {
        "alertname": ALERT_NAME,
        "region": region,
        "series": series,
        "measure": measure,
        "service": "riskcast",
    }


def fingerprint(labels: dict[str, str]) -> str:
    """A stable 16-hex fingerprint of the labels (same labels → same alert)."""
    text = json.dumps(labels, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Decision:
    """What one refit does to one alert.

    Attributes:
        state: the state after this refit.
        streak: consecutive refits at or above the threshold (drives ``for_refits``).
        note: why, when it is not obvious (e.g. a resolution held for data quality).
    """

    state: State
    streak: int
    note: str | None = None


def next_state(
    current: State,
    streak: int,
    value: float | None,
    rule: AlertRule,
    *,
    quality_issue: str | None = None,
) -> Decision:
    """The state machine, as one pure function.

    * below → at/above ``threshold``: ``pending`` (streak 1), or ``firing`` at once when
      ``for_refits`` is 1; pending becomes firing when the streak reaches ``for_refits``.
    * pending and back below ``threshold``: back to ``inactive`` (never fired, nothing sent).
    * firing stays firing until the value drops below ``resolve_below`` (hysteresis), then
      ``resolved`` — unless the region's data are flagged (``quality_issue``): missing or
      collapsed reports are not calm, so the alert keeps firing and says why.
    * no value (region missing from this refit) changes nothing.
    * a disabled rule resolves a firing alert and cancels a pending one.

    Args:
        current: state before this refit.
        streak: consecutive refits at or above threshold before this refit.
        value: this refit's risk measure, or None when the region was not forecast.
        rule: the effective rule.
        quality_issue: a description of the data-quality flags on this region, if any.
    """
    active = current in ("pending", "firing")
    if not rule.enabled:
        if current == "firing":
            return Decision("resolved", 0, "rule disabled")
        return Decision("inactive" if current == "pending" else current, 0)
    if value is None:
        return Decision(current, streak, "no risk value in this refit; state kept")
    above = value >= rule.threshold
    if current == "firing":
        if value < rule.resolve_below:
            if quality_issue:
                return Decision(
                    "firing",
                    streak,
                    f"would resolve ({value:.2f} < {rule.resolve_below:.2f}) but data are "
                    f"flagged: {quality_issue}",
                )
            return Decision("resolved", 0)
        return Decision("firing", streak + 1 if above else streak)
    if above:
        new_streak = streak + 1 if current == "pending" else 1
        if new_streak >= rule.for_refits:
            return Decision("firing", new_streak)
        return Decision("pending", new_streak)
    if current == "pending" and quality_issue:
        return Decision("pending", streak, f"below threshold but data are flagged: {quality_issue}")
    if active:  # pending and now below threshold: cancelled, never fired
        return Decision("inactive", 0, "cancelled before firing")
    return Decision(current, 0)


def read_states(engine: Engine) -> dict[tuple[str, str], dict[str, Any]]:
    """Every alert's stored state, keyed by (region, series)."""
    with engine.connect() as conn:
        rows = conn.execute(select(alert_states)).mappings().all()
    return {(row["region"], row["series"]): dict(row) for row in rows}


def list_alerts(engine: Engine, state: str | None = None) -> list[dict[str, Any]]:
    """Stored alerts (optionally one state), highest risk first — for ``GET /alerts``.

    Datetimes are returned as RFC 3339 strings so the rows are JSON-ready.
    """
    create_alert_tables(engine)
    query = select(alert_states)
    if state is not None:
        query = query.where(alert_states.c.state == state)
    with engine.connect() as conn:
        rows = [dict(row) for row in conn.execute(query).mappings()]
    rows.sort(key=lambda row: -(row["value"] or 0.0))
    return [_jsonable(row) for row in rows]


def list_transitions(engine: Engine, *, limit: int = 100) -> list[dict[str, Any]]:
    """The latest transitions, newest first, JSON-ready."""
    create_alert_tables(engine)
    query = select(alert_transitions).order_by(alert_transitions.c.id.desc()).limit(limit)
    with engine.connect() as conn:
        return [_jsonable(dict(row)) for row in conn.execute(query).mappings()]


def list_deliveries(engine: Engine, *, transition_id: int | None = None) -> list[dict[str, Any]]:
    """Delivery attempts (oldest first), optionally of one transition, JSON-ready."""
    create_alert_tables(engine)
    query = select(alert_deliveries).order_by(alert_deliveries.c.id)
    if transition_id is not None:
        query = query.where(alert_deliveries.c.transition_id == transition_id)
    with engine.connect() as conn:
        return [_jsonable(dict(row)) for row in conn.execute(query).mappings()]


def _jsonable(row: dict[str, Any]) -> dict[str, Any]:
    return {
        key: (rfc3339(value) if isinstance(value, datetime) else value)
        for key, value in row.items()
    }


def as_utc(moment: datetime) -> datetime:
    """The moment as aware UTC (SQLite hands back naive datetimes)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def rfc3339(moment: datetime) -> str:
    """``2026-11-23T06:00:00Z`` — the form Alertmanager expects."""
    return as_utc(moment).strftime("%Y-%m-%dT%H:%M:%SZ")
