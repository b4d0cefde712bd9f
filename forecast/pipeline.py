"""One forecast from a panel: cut at the origin, fit, draw, score the risk, frame the output.

This is the single path the CLI, the weekly job and the MLflow pyfunc use, so the three
cannot disagree on where the cut is made or how thresholds are computed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from pydantic import Field

from features.config import FeatureConfig
from forecast.base import ForecastModel, ForecastTask
from forecast.draws import Draws
from forecast.geometry import MAX_HORIZON, Geometry, panel_geometry
from forecast.output import forecast_frame
from forecast.risk import EscalationRule, escalation_thresholds
from forecast.rules import EscalationRules
from riskcast.config import StrictSection
from riskcast.errors import InputError
from riskcast.months import format_month

if TYPE_CHECKING:
    from data.registry import Registry

log = logging.getLogger(__name__)

ModelFactory = Callable[..., ForecastModel]


class ForecastConfig(StrictSection):
    """The ``[forecast]`` section: what ``riskcast forecast`` and the weekly refit do.

    Attributes:
        default_model: the model used when ``--model`` is not given. ``ensemble`` (equal
            mixture of conflictology, poisson_mean and ets) because it has the best nested
            selection criterion averaged over both real panels (``bench/skill.py --targets``:
            chosen on monthly origins 2012-01…2015-12, scored on 2017-01…2020-12, horizons
            1-12; UCDP countries and ACLED Mali admin1); see the README.
        horizon: months ahead (1..36).
        n_draws: predictive draws per region-month (VIEWS uses 1,000).
        seed: seed of the random generator; the same seed and data give the same draws.
        models: per-model options, ``[forecast.models.<name>]`` tables passed to
            ``make_model(name, **options)``.
    """

    default_model: str = "ensemble"
    horizon: int = Field(default=12, ge=1, le=MAX_HORIZON)
    n_draws: int = Field(default=1000, ge=10, le=100_000)
    seed: int = Field(default=0, ge=0)
    models: dict[str, dict[str, Any]] = Field(default_factory=dict)

    @property
    def model(self) -> str:
        """Alias of :attr:`default_model` (what callers that only need a name read)."""
        return self.default_model

    def options_for(self, model: str) -> dict[str, Any]:
        """The configured options of one model (empty when none)."""
        return dict(self.models.get(model, {}))


@dataclass(frozen=True)
class ForecastResult:
    """One forecast and everything derived from it.

    Attributes:
        draws: the model's draws ``(region, horizon, draw)``.
        frame: the output-contract frame (exact contract columns, no extras).
        thresholds: escalation threshold per region, in the order of ``draws.regions``.
        notes: region → note where the model fell back or did something unusual (the same
            as ``draws.notes``; kept out of ``frame`` so the contract columns stay exact).
        geometry: the origin × horizon grid that was checked.
        model_options: options the model was made with.
    """

    draws: Draws
    frame: pd.DataFrame
    thresholds: np.ndarray
    notes: dict[str, str]
    geometry: Geometry
    model_options: dict[str, Any] = field(default_factory=dict)

    @property
    def model(self) -> str:
        """The model's stable name."""
        return self.draws.model

    @property
    def origin(self) -> pd.Period:
        """The forecast origin."""
        return self.draws.origin

    def notes_frame(self) -> pd.DataFrame:
        """The notes as a frame ``region, model, origin, note`` (empty when the fit was clean)."""
        return pd.DataFrame(
            [
                (region, self.model, format_month(self.origin), note)
                for region, note in self.notes.items()
            ],
            columns=["region", "model", "origin", "note"],
        )


def default_factory() -> ModelFactory:
    """The model zoo's ``make_model`` (imported late: models import heavy libraries)."""
    from forecast.models import make_model

    return make_model


def cut_panel(panel: pd.DataFrame, origin: pd.Period) -> pd.DataFrame:
    """Rows with month ≤ origin — the only data a forecast from ``origin`` may see."""
    return panel.loc[panel["month"] <= origin].reset_index(drop=True)


def forecast_regions(panel_cut: pd.DataFrame, series: str) -> tuple[str, ...]:
    """Regions with at least one observation of ``series`` up to the origin, sorted."""
    chosen = panel_cut.loc[panel_cut["series"] == series, "region"].unique()
    return tuple(sorted(str(region) for region in chosen))


def fit_and_draw(
    panel_cut: pd.DataFrame,
    registry: Registry | None,
    *,
    model: str,
    origin: pd.Period,
    horizon: int,
    series: str,
    n_draws: int,
    rng: np.random.Generator,
    regions: Sequence[str],
    options: dict[str, Any] | None = None,
    factory: ModelFactory | None = None,
    features: FeatureConfig | None = None,
    rule: EscalationRule | None = None,
) -> Draws:
    """Make, fit and sample one model on a panel already cut at the origin.

    ``features`` and ``rule`` reach the model on its task (default: their defaults).

    Raises:
        RuntimeError: when the model returns draws for other regions, another horizon or
            another origin than asked (a model bug that would misalign every score).
    """
    task = ForecastTask(
        panel=panel_cut,
        origin=origin,
        series=series,
        regions=tuple(regions),
        registry=registry,
        options=dict(options or {}),
        features=features or FeatureConfig(),
        rule=rule,
    )
    instance = (factory or default_factory())(model, **(options or {}))
    draws = instance.fit(task).predict(horizon, n_draws, rng)
    if (
        tuple(draws.regions) != tuple(regions)
        or draws.horizon != horizon
        or draws.origin != origin
        or draws.n_draws != n_draws
    ):
        raise RuntimeError(
            f"model {model} returned draws for {len(draws.regions)} regions × {draws.horizon} "
            f"months × {draws.n_draws} draws from {draws.origin}; asked for {len(regions)} × "
            f"{horizon} × {n_draws} from {origin}"
        )
    if draws.notes:  # the model logged each fallback; one line ties them to this origin
        log.info("%s at %s: %d region(s) with notes", model, format_month(origin), len(draws.notes))
    return draws


def forecast_from_panel(
    panel: pd.DataFrame,
    registry: Registry | None,
    *,
    model: str,
    origin: pd.Period,
    horizon: int = 12,
    series: str = "fatalities",
    n_draws: int = 1000,
    seed: int = 0,
    options: dict[str, Any] | None = None,
    regions: Sequence[str] | None = None,
    rule: EscalationRule | None = None,
    factory: ModelFactory | None = None,
    features: FeatureConfig | None = None,
) -> ForecastResult:
    """Forecast ``series`` from ``origin`` for every region (or ``regions``).

    The panel is cut at the origin here — whatever the caller passes, the model sees no
    month after it. Thresholds use the same cut panel.

    Args:
        panel: long panel (may reach past the origin; those months are ignored).
        registry: region registry for models that use neighbours/parents; may be None.
        model: stable model name (see ``forecast.models.MODEL_NAMES``).
        origin: last month the forecast may use.
        horizon: months ahead, 1..36.
        series: the series to forecast.
        n_draws: draws per region-month.
        seed: seed of the draws' random generator.
        options: model constructor options.
        regions: regions to forecast (default: every region with data up to the origin).
        rule: escalation rule (default: the series' own default rule; entry points pass the
            configured one, ``EscalationRules.for_series``).
        factory: ``(name, **options) -> model`` (default ``forecast.models.make_model``).
        features: the feature set of feature-based models (default: ``[features]`` defaults).

    Raises:
        InputError: horizon out of range, origin outside the data, a series the panel does
            not hold, or a requested region without data up to the origin.
    """
    origin = pd.Period(origin, freq="M")
    geometry = panel_geometry(panel, [origin], horizon, series=series, scored=False)
    panel_cut = cut_panel(panel, origin)
    available = forecast_regions(panel_cut, series)
    if regions is None:
        chosen = available
    else:
        missing = [r for r in regions if r not in available]
        if missing:
            raise InputError(
                f"no '{series}' data up to {format_month(origin)} for region(s) "
                f"{', '.join(missing)}",
                field="regions",
            )
        chosen = tuple(regions)
    if rule is None:  # the series' own default rule; entry points pass the configured one
        rule = EscalationRules().for_series(series)
    draws = fit_and_draw(
        panel_cut,
        registry,
        model=model,
        origin=origin,
        horizon=horizon,
        series=series,
        n_draws=n_draws,
        rng=np.random.default_rng(seed),
        regions=chosen,
        options=options,
        factory=factory,
        features=features,
        rule=_rule_for(rule, series),
    )
    thresholds = escalation_thresholds(panel_cut, chosen, _rule_for(rule, series), origin=origin)
    return ForecastResult(
        draws=draws,
        frame=forecast_frame(draws, thresholds),
        thresholds=thresholds,
        notes=dict(draws.notes),
        geometry=geometry,
        model_options=dict(options or {}),
    )


def _rule_for(rule: EscalationRule, series: str) -> EscalationRule:
    """The rule applied to the forecast series (the rule's own series names the default)."""
    if rule.series == series:
        return rule
    log.info("escalation rule written for %s applied to %s", rule.series, series)
    return rule.model_copy(update={"series": series})
