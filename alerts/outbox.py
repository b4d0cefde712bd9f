"""The alert outbox: every transition owed to a receiver stays owed until it is delivered.

Each firing/resolved transition gets one ``alert_outbox`` row per notifier (receiver) when
it is recorded. Every alerts evaluation — whatever refit it is for — then delivers every
row that is due:

* a row is *claimed* (``pending`` → ``sending``) by one conditional UPDATE, so two
  processes never send it at once;
* delivered → ``delivered``, never sent to that receiver again (at most once per receiver;
  receivers that already have it are not resent when another one failed);
* failed → back to ``pending`` with ``next_attempt_at`` pushed out exponentially
  (``[alerts.outbox]``), tried again at a later evaluation; a permanent refusal (HTTP 4xx
  other than 429) → ``refused``; older than ``expire_after_hours`` → ``expired``; both are
  logged as errors and are final;
* a row left ``sending`` by a process that died mid-delivery (``kill -9``) is claimed again
  as soon as its sender's process is gone from this host, or after ``claim_timeout_s``.

The same transition always carries the same idempotency key (the Alertmanager fingerprint
+ the transition, :attr:`alerts.notifiers.Transition.idempotency_key`), so a receiver can
drop the one resend a crash between its 2xx and our commit can cause.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, and_, insert, or_, select, update

from alerts.notifiers import Notifier, Transition
from alerts.rules import OutboxSettings
from alerts.state import NOTIFIED_STATES, as_utc, create_alert_tables, rfc3339
from data.tables import alert_deliveries, alert_outbox, alert_transitions
from riskcast.processes import owner_alive, process_owner

logger = logging.getLogger(__name__)

OWED_STATUSES = ("queued", "sending", "partial", "failed")
"""Transition delivery statuses that may still owe a receiver something."""

Send = Callable[[Notifier, Transition], tuple[bool, int | None]]
"""Deliver one transition through one notifier: (delivered, last HTTP/SMTP status)."""


def enqueue(engine: Engine, notifiers: Sequence[Notifier], now: datetime) -> int:
    """Give every owed transition that has no outbox rows one row per notifier.

    Covers the transitions just recorded and any left behind by an older version or a
    crash between recording and enqueueing. A receiver that already got the transition
    (a ``delivered`` attempt in ``alert_deliveries``) is enqueued as delivered.

    Returns:
        How many rows were added.
    """
    if not notifiers:
        return 0
    has_rows = select(alert_outbox.c.id).where(
        alert_outbox.c.transition_id == alert_transitions.c.id
    )
    query = select(alert_transitions).where(
        alert_transitions.c.delivery_status.in_(OWED_STATUSES),
        alert_transitions.c.to_state.in_(NOTIFIED_STATES),
        ~has_rows.exists(),
    )
    added = 0
    with engine.begin() as conn:
        owed = conn.execute(query).mappings().all()
        for row in owed:
            delivered = set(
                conn.execute(
                    select(alert_deliveries.c.notifier).where(
                        alert_deliveries.c.transition_id == row["id"],
                        alert_deliveries.c.outcome == "delivered",
                    )
                ).scalars()
            )
            key = f"{row['fingerprint']}-{row['to_state']}-{row['id']}"
            for notifier in notifiers:
                done = notifier.name in delivered
                conn.execute(
                    insert(alert_outbox).values(
                        transition_id=row["id"],
                        notifier=notifier.name,
                        idempotency_key=key,
                        status="delivered" if done else "pending",
                        rounds=0,
                        next_attempt_at=now,
                        created_at=as_utc(row["at"]),
                        finished_at=now if done else None,
                    )
                )
                added += 1
    return added


def _due(engine: Engine, now: datetime) -> list[dict[str, Any]]:
    """Rows to try now: pending and due, or sending with a deadline that has passed or a
    sender whose process is gone."""
    o = alert_outbox.c
    query = (
        select(alert_outbox)
        .where(
            or_(
                and_(o.status == "pending", o.next_attempt_at <= now),
                o.status == "sending",
            )
        )
        .order_by(o.id)
    )
    with engine.connect() as conn:
        rows = [dict(row) for row in conn.execute(query).mappings()]
    due = []
    for row in rows:
        if row["status"] == "sending":
            deadline = row["claimed_until"]
            expired_claim = deadline is not None and as_utc(deadline) < now
            if not expired_claim and owner_alive(row["claimed_by"] or ""):
                continue  # another live process is sending it right now
            logger.warning(
                "alert delivery %s to %s was left mid-send by %s; sending again",
                row["idempotency_key"],
                row["notifier"],
                row["claimed_by"],
            )
        due.append(row)
    return due


def _claim(engine: Engine, row: dict[str, Any], until: datetime) -> bool:
    """Take one row for this process; False when another process took it first."""
    o = alert_outbox.c
    same = [o.id == row["id"], o.status == row["status"]]
    if row["claimed_by"] is None:
        same.append(o.claimed_by.is_(None))
    else:
        same.append(o.claimed_by == row["claimed_by"])
    with engine.begin() as conn:
        claimed = conn.execute(
            update(alert_outbox)
            .where(*same)
            .values(status="sending", claimed_by=process_owner(), claimed_until=until)
        ).rowcount
    return claimed == 1


def _finish(engine: Engine, row_id: int, **values: Any) -> None:
    with engine.begin() as conn:
        conn.execute(
            update(alert_outbox)
            .where(alert_outbox.c.id == row_id)
            .values(claimed_by=None, claimed_until=None, **values)
        )


def backoff(settings: OutboxSettings, rounds: int) -> timedelta:
    """Wait before the retry after ``rounds`` failed evaluations (1-based)."""
    seconds = settings.retry_backoff_s * 2 ** max(rounds - 1, 0)
    return timedelta(seconds=min(settings.retry_backoff_max_s, seconds))


def deliver_due(
    engine: Engine,
    notifiers: Sequence[Notifier],
    settings: OutboxSettings,
    send: Send,
    load: Callable[[int], Transition],
    now: datetime,
) -> set[int]:
    """Deliver every due outbox row once; returns the ids of the transitions touched.

    Args:
        engine: the alert tables' engine.
        notifiers: the configured receivers, by name; a row whose notifier is no longer
            configured expires (nobody left to send it to).
        settings: ``[alerts.outbox]``.
        send: delivers one transition through one notifier, recording every attempt.
        load: the transition of an id.
        now: the evaluation time.
    """
    by_name = {notifier.name: notifier for notifier in notifiers}
    touched: set[int] = set()
    expire_after = timedelta(hours=settings.expire_after_hours)
    for row in _due(engine, now):
        if not _claim(engine, row, now + timedelta(seconds=settings.claim_timeout_s)):
            continue
        touched.add(row["transition_id"])
        key, name = row["idempotency_key"], row["notifier"]
        notifier = by_name.get(name)
        if now - as_utc(row["created_at"]) > expire_after or notifier is None:
            why = (
                f"not delivered within {settings.expire_after_hours:g} h"
                if notifier is not None
                else f"notifier {name} is no longer configured"
            )
            logger.error("alert %s to %s expired: %s", key, name, why)
            _finish(engine, row["id"], status="expired", last_error=why, finished_at=now)
            continue
        delivered, status_code = send(notifier, load(row["transition_id"]))
        rounds = int(row["rounds"] or 0) + 1
        if delivered:
            _finish(engine, row["id"], status="delivered", rounds=rounds, finished_at=now)
        elif status_code is not None and 400 <= status_code < 500 and status_code != 429:
            why = f"refused with HTTP {status_code}"
            logger.error("alert %s to %s: %s; not retried", key, name, why)
            _finish(
                engine, row["id"], status="refused", rounds=rounds, last_error=why, finished_at=now
            )
        else:
            retry_at = now + backoff(settings, rounds)
            logger.warning("alert %s to %s not delivered; retrying after %s", key, name, retry_at)
            _finish(
                engine,
                row["id"],
                status="pending",
                rounds=rounds,
                next_attempt_at=retry_at,
                last_error=f"round {rounds} failed (status {status_code})",
            )
    return touched


def delivery_status(engine: Engine, transition_id: int) -> str:
    """A transition's status from its outbox rows: ``delivered`` when every receiver has it,
    ``partial`` when some have it, ``sending`` while one is in flight, else ``failed``
    (still retried unless every row is expired or refused)."""
    with engine.connect() as conn:
        statuses = list(
            conn.execute(
                select(alert_outbox.c.status).where(alert_outbox.c.transition_id == transition_id)
            ).scalars()
        )
    if not statuses:
        return "no_notifiers"
    if all(status == "delivered" for status in statuses):
        return "delivered"
    if any(status == "delivered" for status in statuses):
        return "partial"
    if any(status == "sending" for status in statuses):
        return "sending"
    return "failed"


def outbox_rows(engine: Engine, transition_id: int | None = None) -> list[dict[str, Any]]:
    """Outbox rows (oldest first), optionally of one transition, JSON-ready — what each
    receiver is still owed, for ``GET /alerts/transitions``."""
    create_alert_tables(engine)
    query = select(alert_outbox).order_by(alert_outbox.c.id)
    if transition_id is not None:
        query = query.where(alert_outbox.c.transition_id == transition_id)
    with engine.connect() as conn:
        rows = [dict(row) for row in conn.execute(query).mappings()]
    return [
        {k: rfc3339(v) if isinstance(v, datetime) else v for k, v in row.items()} for row in rows
    ]
