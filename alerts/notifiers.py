"""Notifiers: where firing and resolved alerts go (webhook, log, e-mail).

The webhook speaks Alertmanager's webhook format (version 4), so anything that already
consumes Alertmanager — Slack/Teams bridges, PagerDuty, Opsgenie, a custom receiver — takes
riskcast alerts unchanged. Deliveries are retried with exponential back-off; every attempt
and the final failure go to the ``record`` callback, which :mod:`alerts.evaluate` writes to
``alert_deliveries``. A notifier never raises for a delivery problem: an unreachable
receiver must not stop the weekly job.
"""

from __future__ import annotations

import logging
import os
import smtplib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from typing import Any, Protocol

import httpx

from alerts.rules import AlertConfig, EmailSettings, WebhookSettings
from alerts.state import alert_labels, rfc3339, utcnow

logger = logging.getLogger(__name__)

ZERO_TIME = "0001-01-01T00:00:00Z"
"""Alertmanager's ``endsAt`` for an alert that has not ended."""


@dataclass(frozen=True)
class Transition:
    """One change of an alert's state, as recorded and as notifiers receive it.

    Attributes:
        id: row id in ``alert_transitions``.
        region: region id.
        series: panel series.
        refit_id: the refit (MLflow run id or job id) that caused it.
        from_state: state before.
        to_state: state after (``pending``, ``firing``, ``resolved`` or ``inactive``).
        value: the risk measure at this refit (probability).
        threshold: the firing threshold of the rule.
        resolve_below: the resolving threshold of the rule.
        measure: the risk-table column read (``p_any_3``).
        fingerprint: stable id of the alert (hash of its labels).
        starts_at: when the alert started firing (None while pending).
        ends_at: when it resolved (None unless resolved).
        at: when the transition was recorded.
        note: why, where it is not obvious.
        delivery_status: ``queued``, ``delivered``, ``partial``, ``failed``, ``not_sent``
            (pending/inactive are not sent) or ``no_notifiers``.
    """

    id: int
    region: str
    series: str
    refit_id: str
    from_state: str
    to_state: str
    value: float | None
    threshold: float
    resolve_below: float
    measure: str
    fingerprint: str
    starts_at: datetime | None
    ends_at: datetime | None
    at: datetime
    note: str | None = None
    delivery_status: str = "queued"

    @property
    def idempotency_key(self) -> str:
        """The alert's Alertmanager fingerprint + this transition: the same for every
        resend of this transition, different for the alert's next one. Sent as the
        ``Idempotency-Key`` header so a receiver can drop a resend it already has."""
        return f"{self.fingerprint}-{self.to_state}-{self.id}"

    def summary(self) -> str:
        """One line for people: what changed and why."""
        value = "n/a" if self.value is None else f"{self.value:.2f}"
        return (
            f"{self.region}/{self.series}: {self.from_state} → {self.to_state} "
            f"({self.measure} = {value}; fires ≥ {self.threshold:.2f}, "
            f"resolves < {self.resolve_below:.2f})"
        )


@dataclass(frozen=True)
class DeliveryAttempt:
    """One try at delivering one transition through one notifier.

    Attributes:
        notifier: notifier name (``webhook``, ``log``, ``email``).
        attempt: 1-based attempt number.
        outcome: ``delivered``, ``retry`` (failed, will try again) or ``failed`` (gave up).
        status_code: HTTP or SMTP status, when there was one.
        error: what went wrong.
        duration_ms: wall time of the attempt.
        at: when the attempt started.
    """

    notifier: str
    attempt: int
    outcome: str
    status_code: int | None = None
    error: str | None = None
    duration_ms: float | None = None
    at: datetime = field(default_factory=utcnow)


Recorder = Callable[[DeliveryAttempt], None]


class Notifier(Protocol):
    """Something that tells people about a transition. ``send`` returns True if delivered."""

    name: str

    def send(self, transition: Transition, record: Recorder) -> bool:
        """Deliver one transition; report every attempt through ``record``; never raise."""
        ...


def alertmanager_alert(transition: Transition, *, generator_url: str) -> dict[str, Any]:
    """One alert in Alertmanager's webhook shape (labels, annotations, times, fingerprint)."""
    status = "resolved" if transition.to_state == "resolved" else "firing"
    value = "n/a" if transition.value is None else f"{transition.value:.3f}"
    annotations = {
        "summary": (
            f"Escalation risk {status} for {transition.region} ({transition.series}): "
            f"{transition.measure} = {value}"
        ),
        "description": transition.summary() + (f". {transition.note}" if transition.note else ""),
        "value": value,
        "threshold": f"{transition.threshold:.3f}",
        "resolve_below": f"{transition.resolve_below:.3f}",
        "refit_id": transition.refit_id,
        "idempotency_key": transition.idempotency_key,
    }
    starts = transition.starts_at or transition.at
    return {
        "status": status,
        "labels": alert_labels(transition.region, transition.series, transition.measure),
        "annotations": annotations,
        "startsAt": rfc3339(starts),
        "endsAt": rfc3339(transition.ends_at) if transition.ends_at else ZERO_TIME,
        "generatorURL": generator_url,
        "fingerprint": transition.fingerprint,
    }


def alertmanager_payload(
    transition: Transition, *, generator_url: str, receiver: str = "riskcast"
) -> dict[str, Any]:
    """The webhook body (Alertmanager webhook format version 4) for one transition."""
    alert = alertmanager_alert(transition, generator_url=generator_url)
    return {
        "version": "4",
        "groupKey": f'{{}}:{{alertname="{alert["labels"]["alertname"]}", '
        f'region="{transition.region}", series="{transition.series}"}}',
        "truncatedAlerts": 0,
        "status": alert["status"],
        "receiver": receiver,
        "groupLabels": {"region": transition.region, "series": transition.series},
        "commonLabels": alert["labels"],
        "commonAnnotations": alert["annotations"],
        "externalURL": generator_url,
        "alerts": [alert],
    }


class WebhookNotifier:
    """POST Alertmanager-compatible JSON, retrying with exponential back-off.

    Retries connection errors, timeouts, HTTP 429 and 5xx; a 4xx other than 429 is a
    permanent refusal and is not retried. Each attempt is bounded by ``timeout_s`` (connect,
    write and each read), so a receiver that accepts the connection and never answers costs
    at most ``max_attempts · timeout_s`` plus the back-off sleeps.

    Args:
        settings: ``[alerts.webhook]``.
        generator_url: link put into every alert.
        sleep: how to wait between attempts (tests pass a no-op to stay fast).
    """

    name = "webhook"

    def __init__(
        self,
        settings: WebhookSettings,
        *,
        generator_url: str = "",
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not settings.url:
            raise ValueError("webhook notifier needs [alerts.webhook] url")
        self.settings = settings
        self.generator_url = generator_url
        self._sleep = sleep

    def backoff(self, attempt: int) -> float:
        """Seconds to wait after failed attempt ``attempt`` (1-based)."""
        return min(self.settings.backoff_max_s, self.settings.backoff_s * 2 ** (attempt - 1))

    def send(self, transition: Transition, record: Recorder) -> bool:
        """POST the payload; True once a 2xx arrives, False after the final failure."""
        payload = alertmanager_payload(transition, generator_url=self.generator_url)
        timeout = httpx.Timeout(self.settings.timeout_s)
        with httpx.Client(timeout=timeout) as client:
            for attempt in range(1, self.settings.max_attempts + 1):
                started, clock = utcnow(), time.monotonic()
                status_code: int | None = None
                try:
                    response = client.post(
                        self.settings.url,
                        json=payload,
                        headers={"Idempotency-Key": transition.idempotency_key},
                    )
                    status_code = response.status_code
                    if response.is_success:
                        record(
                            DeliveryAttempt(
                                self.name,
                                attempt,
                                "delivered",
                                status_code,
                                None,
                                _ms(clock),
                                started,
                            )
                        )
                        return True
                    retryable = status_code == 429 or status_code >= 500
                    error = f"HTTP {status_code}: {response.text[:200]}"
                except httpx.TimeoutException as exc:
                    retryable = True
                    error = f"timed out after {self.settings.timeout_s:g} s ({type(exc).__name__})"
                except httpx.HTTPError as exc:
                    retryable = True
                    error = f"{type(exc).__name__}: {exc}"
                final = not retryable or attempt == self.settings.max_attempts
                record(
                    DeliveryAttempt(
                        self.name,
                        attempt,
                        "failed" if final else "retry",
                        status_code,
                        error,
                        _ms(clock),
                        started,
                    )
                )
                if final:
                    logger.error(
                        "webhook delivery of %s failed after %d attempt(s): %s",
                        transition.summary(),
                        attempt,
                        error,
                    )
                    return False
                logger.warning("webhook attempt %d failed (%s); retrying", attempt, error)
                self._sleep(self.backoff(attempt))
        return False  # pragma: no cover - the loop always returns


class LogNotifier:
    """Write transitions to the log (firing as WARNING, resolved as INFO)."""

    name = "log"

    def __init__(self, logger_name: str = "riskcast.alerts") -> None:
        self._logger = logging.getLogger(logger_name)

    def send(self, transition: Transition, record: Recorder) -> bool:
        """Log the transition; always delivered."""
        started, clock = utcnow(), time.monotonic()
        level = logging.WARNING if transition.to_state == "firing" else logging.INFO
        note = f" — {transition.note}" if transition.note else ""
        self._logger.log(level, "ALERT %s%s", transition.summary(), note)
        record(DeliveryAttempt(self.name, 1, "delivered", None, None, _ms(clock), started))
        return True


class EmailNotifier:
    """Send a short plain-text e-mail per transition through SMTP (one attempt).

    SMTP relays queue and retry on their own, so one bounded attempt is enough here; a
    failure is recorded and logged, never raised.
    """

    name = "email"

    def __init__(self, settings: EmailSettings, *, generator_url: str = "") -> None:
        if not settings.host or not settings.recipients:
            raise ValueError("e-mail notifier needs [alerts.email] host and recipients")
        self.settings = settings
        self.generator_url = generator_url

    def message(self, transition: Transition) -> EmailMessage:
        """The e-mail for one transition."""
        status = transition.to_state.upper()
        value = "n/a" if transition.value is None else f"{transition.value:.2f}"
        message = EmailMessage()
        message["Subject"] = (
            f"[{status}] riskcast escalation risk {transition.region} "
            f"({transition.series}) {transition.measure}={value}"
        )
        message["From"] = self.settings.sender
        message["To"] = ", ".join(self.settings.recipients)
        lines = [transition.summary(), f"Refit: {transition.refit_id}"]
        if transition.note:
            lines.append(f"Note: {transition.note}")
        if self.generator_url:
            lines.append(f"Bulletin: {self.generator_url}")
        lines.append(f"Fingerprint: {transition.fingerprint}")
        message["X-Riskcast-Idempotency-Key"] = transition.idempotency_key
        message.set_content("\n".join(lines) + "\n")
        return message

    def send(self, transition: Transition, record: Recorder) -> bool:
        """Send the e-mail; True when the server accepted it."""
        started, clock = utcnow(), time.monotonic()
        settings = self.settings
        try:
            with smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout_s) as smtp:
                if settings.starttls:
                    smtp.starttls()
                if settings.username:
                    smtp.login(settings.username, os.environ.get(settings.password_env, ""))
                refused = smtp.send_message(self.message(transition))
        except (OSError, smtplib.SMTPException) as exc:
            code = getattr(exc, "smtp_code", None)
            error = f"{type(exc).__name__}: {exc}"
            record(DeliveryAttempt(self.name, 1, "failed", code, error, _ms(clock), started))
            logger.error("e-mail for %s failed: %s", transition.summary(), error)
            return False
        if refused:
            error = f"refused recipients: {sorted(refused)}"
            record(DeliveryAttempt(self.name, 1, "failed", None, error, _ms(clock), started))
            return False
        record(DeliveryAttempt(self.name, 1, "delivered", 250, None, _ms(clock), started))
        return True


def notifiers_from_config(config: AlertConfig) -> list[Notifier]:
    """The notifiers the config asks for: always the log, plus webhook and e-mail if set."""
    notifiers: list[Notifier] = [LogNotifier()]
    if config.webhook.url:
        notifiers.append(WebhookNotifier(config.webhook, generator_url=config.generator_url))
    if config.email.host and config.email.recipients:
        notifiers.append(EmailNotifier(config.email, generator_url=config.generator_url))
    return notifiers


def _ms(clock: float) -> float:
    return round((time.monotonic() - clock) * 1000.0, 1)
