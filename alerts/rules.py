"""Alert rules: the ``[alerts]`` section of ``riskcast.toml``.

A rule says when a region's escalation risk is worth waking someone: fire when the chosen
risk measure reaches ``threshold`` for ``for_refits`` refits in a row, resolve only when it
falls below ``resolve_below`` (hysteresis, so a risk hovering at the threshold does not
flap). Defaults apply everywhere; ``[alerts.overrides."<region>"]``,
``[alerts.overrides."<region>/<series>"]`` or ``[alerts.overrides."*/<series>"]`` change
them for one region, one region-series or one series.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import Field, model_validator

from riskcast.config import StrictSection


class RuleOverride(StrictSection):
    """Values that replace the defaults for one region, series or region-series.

    Any field left out keeps the default of ``[alerts]``.
    """

    threshold: float | None = Field(default=None, ge=0.0, le=1.0)
    resolve_below: float | None = Field(default=None, ge=0.0, le=1.0)
    for_refits: int | None = Field(default=None, ge=1)
    enabled: bool | None = None


class WebhookSettings(StrictSection):
    """Where and how to POST Alertmanager-compatible payloads.

    ``url`` empty means no webhook. Each attempt waits at most ``timeout_s``; failed attempts
    (connection errors, timeouts, 429 and 5xx) are retried up to ``max_attempts`` in total
    with exponential back-off ``backoff_s · 2^k`` capped at ``backoff_max_s``.
    """

    url: str = ""
    timeout_s: float = Field(default=5.0, gt=0)
    max_attempts: int = Field(default=4, ge=1, le=20)
    backoff_s: float = Field(default=1.0, ge=0)
    backoff_max_s: float = Field(default=30.0, ge=0)


class EmailSettings(StrictSection):
    """Optional e-mail via SMTP; off unless ``host`` and ``recipients`` are set.

    The password is read from the environment variable named by ``password_env`` so it
    never sits in the TOML file.
    """

    host: str = ""
    port: int = Field(default=25, ge=1, le=65535)
    sender: str = "riskcast@localhost"
    recipients: list[str] = Field(default_factory=list)
    username: str = ""
    password_env: str = "RISKCAST_SMTP_PASSWORD"
    starttls: bool = False
    timeout_s: float = Field(default=10.0, gt=0)


class QualitySettings(StrictSection):
    """Data-quality checks that keep missing data from passing as calm.

    Attributes:
        silent_months: a series whose last observation is this many months or more behind
            the newest month of the panel is flagged "silent".
        gap_months: missing months in a row that count as a reporting gap.
        zero_lookback: a gap that ended within this many months, followed only by zeros,
            while the series was active before it, is flagged "zero_after_gap".
        min_level: the mean of the observed months before the gap must reach this to call
            the zeros a sudden drop (a quiet place that stays quiet is not flagged).
    """

    silent_months: int = Field(default=3, ge=1)
    gap_months: int = Field(default=2, ge=1)
    zero_lookback: int = Field(default=6, ge=1)
    min_level: float = Field(default=1.0, ge=0)


class OutboxSettings(StrictSection):
    """``[alerts.outbox]``: how long undelivered transitions are retried, and how often.

    A receiver that failed every attempt of one evaluation is tried again at the next
    evaluation after ``retry_backoff_s · 2^(rounds-1)`` (capped at
    ``retry_backoff_max_s``), until it accepts or ``expire_after_hours`` have passed since
    the transition (then the row is marked ``expired`` and logged as an error).
    ``claim_timeout_s`` is how long one delivery may take before another process may
    assume its sender died and send again (at once when the sender's process is gone
    from this host); it must exceed a notifier's attempts and back-off sleeps.
    """

    retry_backoff_s: float = Field(default=60.0, ge=0)
    retry_backoff_max_s: float = Field(default=3600.0, ge=0)
    expire_after_hours: float = Field(default=336.0, gt=0)
    claim_timeout_s: float = Field(default=600.0, gt=0)


class AlertConfig(StrictSection):
    """The ``[alerts]`` section.

    Attributes:
        enabled: evaluate alerts at all.
        measure: column of the risk table the rule reads (``p_any_3``: probability of any
            escalation in the next three months).
        threshold: fire at or above this probability.
        resolve_below: resolve only below this (≤ ``threshold``): the hysteresis band.
        for_refits: refits in a row at or above ``threshold`` before firing (1 = at once);
            until then the alert is "pending".
        generator_url: link put into every payload (e.g. the bulletin URL).
        overrides: ``"ML05"``, ``"ML05/fatalities"`` or ``"*/aid_diversion"`` → changes.
        thresholds_grid: thresholds the precision/recall table is computed for.
        outbox: retry and expiry of undelivered transitions (``[alerts.outbox]``).
    """

    enabled: bool = True
    measure: str = "p_any_3"
    threshold: float = Field(default=0.5, ge=0.0, le=1.0)
    resolve_below: float = Field(default=0.35, ge=0.0, le=1.0)
    for_refits: int = Field(default=1, ge=1)
    generator_url: str = "http://127.0.0.1:8000/bulletin"
    overrides: dict[str, RuleOverride] = Field(default_factory=dict)
    thresholds_grid: list[float] = Field(
        default_factory=lambda: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]
    )
    webhook: WebhookSettings = Field(default_factory=WebhookSettings)
    email: EmailSettings = Field(default_factory=EmailSettings)
    quality: QualitySettings = Field(default_factory=QualitySettings)
    outbox: OutboxSettings = Field(default_factory=OutboxSettings)

    @model_validator(mode="after")
    def _check(self) -> AlertConfig:
        if self.resolve_below > self.threshold:
            raise ValueError(
                f"resolve_below ({self.resolve_below}) must not exceed threshold "
                f"({self.threshold}): the alert would resolve while still above it"
            )
        for key in self.overrides:
            if key.count("/") > 1 or not key.strip("/"):
                raise ValueError(
                    f"override key '{key}' must be 'REGION', 'REGION/series' or '*/series'"
                )
        for key in self.overrides:
            self.rule_for(*_split_key(key))  # raises on an inconsistent override
        return self

    def rule_for(self, region: str, series: str) -> AlertRule:
        """The effective rule for one region and series (most specific override wins).

        Precedence: ``REGION/series`` > ``REGION`` > ``*/series`` > defaults.

        Raises:
            ValueError: when the merged rule would resolve above its own threshold.
        """
        merged: dict[str, object] = {
            "threshold": self.threshold,
            "resolve_below": self.resolve_below,
            "for_refits": self.for_refits,
            "enabled": self.enabled,
        }
        for key in (f"*/{series}", region, f"{region}/{series}"):
            override = self.overrides.get(key)
            if override is None:
                continue
            merged.update(
                {name: value for name, value in override.model_dump().items() if value is not None}
            )
            if override.threshold is not None and override.resolve_below is None:
                # Keep the default band width when only the threshold moves.
                band = self.threshold - self.resolve_below
                merged["resolve_below"] = max(0.0, override.threshold - band)
        rule = AlertRule(
            region=region,
            series=series,
            measure=self.measure,
            threshold=float(merged["threshold"]),  # type: ignore[arg-type]
            resolve_below=float(merged["resolve_below"]),  # type: ignore[arg-type]
            for_refits=int(merged["for_refits"]),  # type: ignore[call-overload]
            enabled=bool(merged["enabled"]),
        )
        if rule.resolve_below > rule.threshold:
            raise ValueError(
                f"alert rule for {region}/{series}: resolve_below {rule.resolve_below} "
                f"exceeds threshold {rule.threshold}"
            )
        return rule


def _split_key(key: str) -> tuple[str, str]:
    region, _, series = key.partition("/")
    return (region if region != "*" else "__any__"), (series or "__any__")


@dataclass(frozen=True)
class AlertRule:
    """The effective rule for one region and series.

    Attributes:
        region: region id.
        series: panel series.
        measure: risk-table column read (e.g. ``p_any_3``).
        threshold: fire at or above this probability.
        resolve_below: resolve below this probability.
        for_refits: consecutive refits at or above ``threshold`` before firing.
        enabled: False silences this region-series.
    """

    region: str
    series: str
    measure: str
    threshold: float
    resolve_below: float
    for_refits: int
    enabled: bool = True
