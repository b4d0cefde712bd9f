"""The small protocol every model follows: ``fit(task) -> self``, ``predict(...) -> Draws``.

A :class:`ForecastTask` carries the panel *cut at the origin* — the task refuses a panel with
any month after the origin, so no model can see the future even by mistake.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, Self, runtime_checkable

import numpy as np
import pandas as pd

from features.config import FeatureConfig
from forecast.draws import Draws
from forecast.risk import EscalationRule
from forecast.rules import EscalationRules

if TYPE_CHECKING:
    from data.registry import Registry


@dataclass(frozen=True)
class ForecastTask:
    """Everything a model may know when it forecasts from ``origin``.

    Attributes:
        panel: long panel (``region, month, series, value, source``; ``month`` a monthly
            Period), every series, only months ≤ ``origin``.
        origin: the forecast origin (last observed month).
        series: the series to forecast (default ``fatalities``).
        regions: the regions to forecast, in output order.
        registry: the region registry (neighbours, parents) for features; may be None for
            models that need none.
        options: free-form model options from the config (e.g. feature set) — each model
            documents which it reads.
        features: the feature set for models that build features (the entry point's
            ``[features]`` and ``[events]``; default their defaults).
        rule: the escalation rule of ``series`` (default that series' default rule), for
            models that learn escalation directly.
    """

    panel: pd.DataFrame
    origin: pd.Period
    series: str = "fatalities"
    regions: tuple[str, ...] = ()
    registry: Registry | None = None
    options: dict[str, Any] = field(default_factory=dict)
    features: FeatureConfig = field(default_factory=FeatureConfig)
    rule: EscalationRule | None = None

    def __post_init__(self) -> None:
        if self.rule is None:
            object.__setattr__(self, "rule", EscalationRules().for_series(self.series))
        if len(self.panel) and self.panel["month"].max() > self.origin:
            raise ValueError(
                f"panel reaches {self.panel['month'].max()} but the origin is {self.origin}: "
                "cut the panel at the origin (no leakage)"
            )
        if not self.regions:
            chosen = self.panel.loc[self.panel["series"] == self.series, "region"].unique()
            object.__setattr__(self, "regions", tuple(sorted(chosen)))

    def target_matrix(self) -> pd.DataFrame:
        """The target series wide: index = months (complete, gaps as NaN), columns = regions."""
        target = self.panel[self.panel["series"] == self.series]
        wide = target.pivot_table(index="month", columns="region", values="value", aggfunc="sum")
        if len(wide):
            full = pd.period_range(wide.index.min(), self.origin, freq="M")
            wide = wide.reindex(full)
        return wide.reindex(columns=list(self.regions))


@runtime_checkable
class ForecastModel(Protocol):
    """A probabilistic forecaster. ``name`` is unique and used by ``--model``."""

    name: ClassVar[str]

    def fit(self, task: ForecastTask) -> Self:
        """Learn from the task's panel (months ≤ origin only)."""
        ...

    def predict(self, horizon: int, n_draws: int, rng: np.random.Generator) -> Draws:
        """Draws for months origin+1 … origin+horizon of every task region."""
        ...
