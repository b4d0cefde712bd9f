"""The whole domain config, read and validated once by each entry point.

``riskcast`` (its root callback), the service (:func:`service.create_app`) and each job run
(:func:`jobs.runner.execute`) call :func:`load_config` once, so a misspelled section or key
anywhere fails at start — with a "did you mean" — not after a job has half-published. Each
function below them receives the sections it needs as arguments; nothing in ``data/``,
``features/`` or ``forecast/`` reads the file.

The section models stay with the packages that own them; this module only composes them,
which is why it sits in ``jobs/`` — the highest layer that still lies below the entry points.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from alerts.rules import AlertConfig
from data.config import DataConfig
from experiments.config import ExperimentsConfig
from features.config import EventsConfig, FeatureConfig
from forecast.executors import ExecutorConfig
from forecast.pipeline import ForecastConfig
from forecast.risk import EscalationRule, RiskTiers
from forecast.rules import EscalationRules, escalation_rules
from jobs.scope import ScopeConfig
from jobs.settings import ScheduleConfig, ServiceConfig
from riskcast.config import Settings, get_settings, read_config_file, validate_section

SECTION_MODELS: dict[str, type[BaseModel]] = {
    "data": DataConfig,
    "forecast": ForecastConfig,
    "risk": RiskTiers,
    "executor": ExecutorConfig,
    "experiments": ExperimentsConfig,
    "alerts": AlertConfig,
    "scope": ScopeConfig,
    "schedule": ScheduleConfig,
    "service": ServiceConfig,
}
"""Sections validated by their own model alone; ``[features]`` with ``[events]``, and
``[escalation]`` with ``[series_rules]``, are composed into :attr:`RiskcastConfig.features`
and ``.rules``."""

KNOWN_SECTIONS = (*SECTION_MODELS, "features", "events", "escalation", "series_rules")


class RiskcastConfig(BaseModel):
    """Every section of ``riskcast.toml``, validated (defaults where a section is absent).

    Attributes:
        path: the file read (None when the packaged defaults applied).
        rules: ``[escalation]`` and ``[series_rules]``: the escalation rule of each series.
        features: ``[features]`` with ``[events]`` inside it (the feature set).
    """

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    path: Path | None = None
    data: DataConfig = DataConfig()
    features: FeatureConfig = FeatureConfig()
    forecast: ForecastConfig = ForecastConfig()
    rules: EscalationRules = EscalationRules()
    risk: RiskTiers = RiskTiers()
    executor: ExecutorConfig = ExecutorConfig()
    experiments: ExperimentsConfig = ExperimentsConfig()
    alerts: AlertConfig = AlertConfig()
    scope: ScopeConfig = ScopeConfig()
    schedule: ScheduleConfig = ScheduleConfig()
    service: ServiceConfig = ServiceConfig()

    @property
    def escalation(self) -> EscalationRule:
        """The ``[escalation]`` rule: the headline series' (``escalation.series``)."""
        return self.rules.base

    @property
    def headline_series(self) -> str:
        """The series the weekly job needs data for and reports first (``[escalation]``'s)."""
        return self.rules.base.series


def load_config(path: Path | None = None, settings: Settings | None = None) -> RiskcastConfig:
    """Read and validate the whole domain TOML.

    Args:
        path: the file; default ``RISKCAST_CONFIG``, else ``./riskcast.toml``, else the
            packaged defaults.
        settings: deployment settings (default: the environment's).

    Raises:
        ConfigError: the first unknown section or key (with a "did you mean") or bad value,
            naming the section.
    """
    path = path or (settings or get_settings()).resolved_config_path()
    document = read_config_file(path, KNOWN_SECTIONS)
    sections: dict[str, Any] = {
        name: validate_section(document.get(name, {}), name, model)
        for name, model in SECTION_MODELS.items()
    }
    events = validate_section(document.get("events", {}), "events", EventsConfig)
    sections["features"] = validate_section(
        document.get("features", {}), "features", FeatureConfig, events=events
    )
    sections["rules"] = escalation_rules(
        document.get("escalation", {}), document.get("series_rules", {})
    )
    return RiskcastConfig(path=path if path.exists() else None, **sections)
