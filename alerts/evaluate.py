"""Evaluate the alert rules on one refit's risk table, persist, then notify.

The weekly job calls :func:`evaluate_alerts` once per refit. State changes are written in
one database transaction *before* anything is sent, and every transition owed to a
receiver goes through the outbox (:mod:`alerts.outbox`), so:

* evaluating the same refit again changes nothing and resends nothing delivered;
* a receiver that was down, or a crash mid-delivery, leaves the transition owed, and
  every later evaluation (of any refit) retries it with back-off until it is delivered —
  once per receiver — or explicitly expires;
* two processes evaluating at the same moment cannot both deliver one transition.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from alerts import outbox
from alerts.notifiers import DeliveryAttempt, Notifier, Transition, notifiers_from_config
from alerts.quality import QualityFlag, flags_by_region
from alerts.rules import AlertConfig
from alerts.state import (
    NOTIFIED_STATES,
    alert_labels,
    as_utc,
    create_alert_tables,
    fingerprint,
    next_state,
    utcnow,
)
from data.tables import alert_deliveries, alert_states, alert_transitions, data_quality_flags
from riskcast.config import did_you_mean
from riskcast.errors import ConfigError, InputError

logger = logging.getLogger(__name__)

DataQuality = Iterable[QualityFlag] | Mapping[str, str] | None


def evaluate_alerts(
    engine: Engine,
    risk_frame: pd.DataFrame,
    *,
    refit_id: str,
    config: AlertConfig | None = None,
    notifiers: Sequence[Notifier] | None = None,
    data_quality: DataQuality = None,
    now: datetime | None = None,
) -> list[Transition]:
    """Apply the rules to one refit's risk, record transitions, notify each once.

    Args:
        engine: the store's engine (``Store.engine``); alert tables are created if missing.
        risk_frame: one row per region (``forecast.risk.risk_table``): column ``region``,
            ``series`` and the measure column named by ``config.measure`` (default
            ``p_any_3``).
        refit_id: id of the refit (MLflow run id or job-run id); the idempotency key.
        config: the ``[alerts]`` section (the entry point's); its defaults when None.
        notifiers: where to send firing/resolved transitions; from the config when None.
            Pass ``[]`` to record without sending.
        data_quality: :class:`~alerts.quality.QualityFlag` list (or region → description):
            a flagged region's alert is held, never resolved, on this refit.
        now: the evaluation time (tests pin it); default now in UTC.

    Returns:
        The transitions this call recorded, in region order (pending ones included, with
        ``delivery_status`` ``not_sent``); empty when the refit was already evaluated.

    Raises:
        ConfigError: the measure column is not in the risk table.
        InputError: probabilities outside [0, 1] or duplicate region rows.
    """
    config = config or AlertConfig()
    if not config.enabled:
        logger.info("alerts disabled in [alerts]; refit %s not evaluated", refit_id)
        return []
    notifiers = list(notifiers_from_config(config) if notifiers is None else notifiers)
    now = as_utc(now or utcnow())
    values = _risk_values(risk_frame, config)
    issues = _quality_by_region(data_quality)
    create_alert_tables(engine)
    try:
        created = _apply(engine, values, issues, refit_id, config, now)
    except IntegrityError:
        # Another process recorded this refit between our read and our write.
        logger.warning("refit %s was evaluated concurrently; nothing recorded here", refit_id)
        created = []
    _record_quality(engine, data_quality, refit_id, now)
    _mark_unsendable(engine, [t.id for t in created], notifiers)
    outbox.enqueue(engine, notifiers, now)
    touched = outbox.deliver_due(
        engine,
        notifiers,
        config.outbox,
        lambda notifier, transition: _send(engine, notifier, transition),
        lambda transition_id: _reload(engine, [transition_id])[0],
        now,
    )
    for transition_id in sorted(touched):
        _set_status(engine, transition_id, outbox.delivery_status(engine, transition_id))
    return _reload(engine, [t.id for t in created])


def _risk_values(frame: pd.DataFrame, config: AlertConfig) -> dict[tuple[str, str], float | None]:
    columns = [str(c) for c in frame.columns]
    for needed in ("region", "series"):
        if needed not in columns:
            raise InputError(
                f"risk table has no '{needed}' column", file="risk table", field=needed
            )
    if config.measure not in columns:
        raise ConfigError(
            f"[alerts] measure '{config.measure}' is not a column of the risk table "
            f"{columns}{did_you_mean(config.measure, columns)}"
        )
    series = frame["series"].astype(str)
    values: dict[tuple[str, str], float | None] = {}
    for row_number, (region, name, raw) in enumerate(
        zip(frame["region"].astype(str), series, frame[config.measure], strict=True), start=2
    ):
        key = (region, name)
        if key in values:
            raise InputError(
                f"region {region} ({name}) appears twice in the risk table",
                file="risk table",
                row=row_number,
                field="region",
            )
        value = None if raw is None or (isinstance(raw, float) and math.isnan(raw)) else float(raw)
        if value is not None and not 0.0 <= value <= 1.0:
            raise InputError(
                f"{config.measure} = {value} for {region} is not a probability in [0, 1]",
                file="risk table",
                row=row_number,
                field=config.measure,
            )
        values[key] = value
    return values


def _quality_by_region(data_quality: DataQuality) -> dict[str, str]:
    if data_quality is None:
        return {}
    if isinstance(data_quality, Mapping):
        return {str(k): str(v) for k, v in data_quality.items()}
    return flags_by_region(data_quality)


def _apply(
    engine: Engine,
    values: dict[tuple[str, str], float | None],
    issues: dict[str, str],
    refit_id: str,
    config: AlertConfig,
    now: datetime,
) -> list[Transition]:
    created: list[Transition] = []
    with engine.begin() as conn:
        stored = {
            (row["region"], row["series"]): dict(row)
            for row in conn.execute(select(alert_states)).mappings()
        }
        for (region, series), value in sorted(values.items()):
            rule = config.rule_for(region, series)
            previous = stored.get((region, series))
            if previous is not None and previous["last_refit_id"] == refit_id:
                continue  # this refit was already evaluated for this alert
            current = previous["state"] if previous else "inactive"
            streak = previous["streak"] if previous else 0
            decision = next_state(current, streak, value, rule, quality_issue=issues.get(region))
            if decision.note and decision.state == current:
                logger.info("alert %s/%s: %s", region, series, decision.note)
            labels = alert_labels(region, series, rule.measure)
            starts_at = previous["starts_at"] if previous else None
            ends_at = previous["ends_at"] if previous else None
            if decision.state == "firing" and current != "firing":
                starts_at, ends_at = now, None
            elif decision.state == "resolved" and current != "resolved":
                ends_at = now
            elif decision.state in ("pending", "inactive") and current != decision.state:
                starts_at, ends_at = None, None
            state_row: dict[str, Any] = {
                "state": decision.state,
                "streak": decision.streak,
                "value": value,
                "threshold": rule.threshold,
                "resolve_below": rule.resolve_below,
                "measure": rule.measure,
                "fingerprint": fingerprint(labels),
                "starts_at": starts_at,
                "ends_at": ends_at,
                "last_refit_id": refit_id,
                "note": decision.note,
                "updated_at": now,
            }
            if previous is None:
                conn.execute(insert(alert_states).values(region=region, series=series, **state_row))
            else:
                conn.execute(
                    update(alert_states)
                    .where(alert_states.c.region == region, alert_states.c.series == series)
                    .values(**state_row)
                )
            if decision.state == current:
                continue
            status = "queued" if decision.state in NOTIFIED_STATES else "not_sent"
            row = {
                "region": region,
                "series": series,
                "refit_id": refit_id,
                "from_state": current,
                "to_state": decision.state,
                "value": value,
                "threshold": rule.threshold,
                "resolve_below": rule.resolve_below,
                "measure": rule.measure,
                "fingerprint": state_row["fingerprint"],
                "starts_at": starts_at,
                "ends_at": ends_at,
                "at": now,
                "note": decision.note,
                "delivery_status": status,
            }
            new_id = conn.execute(insert(alert_transitions).values(**row)).inserted_primary_key[0]
            created.append(_transition({"id": new_id, **row}))
            logger.info("alert transition %s", created[-1].summary())
    return created


def _record_quality(
    engine: Engine, data_quality: DataQuality, refit_id: str, now: datetime
) -> None:
    if data_quality is None or isinstance(data_quality, Mapping):
        return
    flags = list(data_quality)
    if not flags:
        return
    with engine.begin() as conn:
        seen = {
            (row.region, row.series, row.kind)
            for row in conn.execute(
                select(data_quality_flags).where(data_quality_flags.c.refit_id == refit_id)
            )
        }
        for flag in flags:
            if (flag.region, flag.series, flag.kind) in seen:
                continue
            seen.add((flag.region, flag.series, flag.kind))
            conn.execute(
                insert(data_quality_flags).values(
                    refit_id=refit_id,
                    region=flag.region,
                    series=flag.series,
                    source=flag.source,
                    kind=flag.kind,
                    detail=flag.detail,
                    at=now,
                )
            )


def _mark_unsendable(engine: Engine, ids: list[int], notifiers: Sequence[Notifier]) -> None:
    """With no notifier configured, a queued transition is recorded as ``no_notifiers``."""
    if notifiers or not ids:
        return
    with engine.begin() as conn:
        conn.execute(
            update(alert_transitions)
            .where(alert_transitions.c.id.in_(ids), alert_transitions.c.delivery_status == "queued")
            .values(delivery_status="no_notifiers")
        )


def _set_status(engine: Engine, transition_id: int, status: str) -> None:
    with engine.begin() as conn:
        conn.execute(
            update(alert_transitions)
            .where(alert_transitions.c.id == transition_id)
            .values(delivery_status=status)
        )


def _send(engine: Engine, notifier: Notifier, transition: Transition) -> tuple[bool, int | None]:
    """Deliver through one notifier, recording every attempt; (delivered, last status)."""
    last: list[int | None] = [None]

    def record(attempt: DeliveryAttempt) -> None:
        last[0] = attempt.status_code
        with engine.begin() as conn:
            conn.execute(
                insert(alert_deliveries).values(
                    transition_id=transition.id,
                    notifier=attempt.notifier,
                    attempt=attempt.attempt,
                    outcome=attempt.outcome,
                    status_code=attempt.status_code,
                    error=attempt.error,
                    duration_ms=attempt.duration_ms,
                    at=attempt.at,
                )
            )

    try:
        return bool(notifier.send(transition, record)), last[0]
    except Exception as exc:  # a broken notifier must not stop the others or the job
        logger.exception("notifier %s raised on %s", notifier.name, transition.summary())
        record(DeliveryAttempt(notifier.name, 1, "failed", None, f"{type(exc).__name__}: {exc}"))
        return False, None


def _reload(engine: Engine, ids: list[int]) -> list[Transition]:
    if not ids:
        return []
    with engine.connect() as conn:
        rows = conn.execute(
            select(alert_transitions).where(alert_transitions.c.id.in_(ids))
        ).mappings()
        by_id = {row["id"]: _transition(dict(row)) for row in rows}
    return [by_id[i] for i in ids]


def _transition(row: dict[str, Any]) -> Transition:
    def moment(value: datetime | None) -> datetime | None:
        return None if value is None else as_utc(value)

    return Transition(
        id=int(row["id"]),
        region=row["region"],
        series=row["series"],
        refit_id=row["refit_id"],
        from_state=row["from_state"],
        to_state=row["to_state"],
        value=row["value"],
        threshold=row["threshold"],
        resolve_below=row["resolve_below"],
        measure=row["measure"],
        fingerprint=row["fingerprint"],
        starts_at=moment(row["starts_at"]),
        ends_at=moment(row["ends_at"]),
        at=as_utc(row["at"]),
        note=row["note"],
        delivery_status=row["delivery_status"],
    )
