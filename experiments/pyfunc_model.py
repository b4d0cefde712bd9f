"""riskcast models as MLflow pyfunc models, so the registry's champion is loadable anywhere.

A riskcast model is a *recipe*, not a fitted artefact: every forecast refits on the panel it
is given, cut at the origin (conflict series move too fast to reuse last month's fit). The
pyfunc wrapper therefore stores the model name, its options and the forecast settings, and
its ``predict`` runs :func:`forecast.pipeline.forecast_from_panel` on the panel passed in::

    model = mlflow.pyfunc.load_model("models:/riskcast@champion")
    frame = model.predict(panel, params={"horizon": 6})   # output contract frame

Nothing is pickled: the model is logged "from code" (``experiments/pyfunc_entry.py``) and its
settings live as JSON in the MLmodel's ``model_config``; a feature set in the options is
stored as its ``model_dump`` and rebuilt with ``FeatureConfig.model_validate``; a custom
region registry goes along as a JSON artifact.

The input is a panel in long format (``region``, ``month`` as ``YYYY-MM``, ``series``,
``value``; ``source`` optional) and the output is the forecast frame of the output contract
(``region, series, origin, month, horizon, model, mean, q0.05 … q0.95, p_escalation,
threshold``).
"""

from __future__ import annotations

import json
import logging
import tempfile
import warnings
from dataclasses import asdict
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
from mlflow.models import ModelSignature
from mlflow.pyfunc import PythonModel
from mlflow.types.schema import AnyType, ColSpec, ParamSchema, ParamSpec, Schema

from data.schema import validate_panel
from features.config import FeatureConfig
from forecast.output import FORECAST_COLUMNS
from forecast.risk import EscalationRule
from riskcast.errors import InputError
from riskcast.months import parse_month

log = logging.getLogger(__name__)

MODEL_ARTIFACT = "model"
REGISTRY_ARTIFACT = "registry"
ENTRY_POINT = Path(__file__).resolve().with_name("pyfunc_entry.py")
_FEATURE_MARK = "__feature_config__"
INPUT_COLUMNS = ("region", "month", "series", "value")
OUTPUT_COLUMNS = FORECAST_COLUMNS


def _signature(config: dict[str, Any]) -> ModelSignature:
    """The model's input, output and params schema.

    ``value`` is declared ``Any``: a panel read back from ``riskcast export`` holds integer
    counts (int64), which MLflow refuses to cast to a ``double`` column ("Can not safely
    convert int64 to float64"), while other panels hold floats. :func:`to_panel` validates
    and converts the values itself.
    """
    inputs = Schema(
        [
            ColSpec("string", "region"),
            ColSpec("string", "month"),
            ColSpec("string", "series"),
            ColSpec(AnyType(), "value"),
            ColSpec("string", "source", required=False),
        ]
    )
    text_columns = {"region", "series", "origin", "month", "model"}
    outputs = Schema(
        [
            ColSpec("string" if c in text_columns else "long" if c == "horizon" else "double", c)
            for c in OUTPUT_COLUMNS
        ]
    )
    params = ParamSchema(
        [
            ParamSpec("origin", "string", ""),
            ParamSpec("horizon", "long", int(config.get("horizon", 12))),
            ParamSpec("n_draws", "long", int(config.get("n_draws", 1000))),
            ParamSpec("seed", "long", int(config.get("seed", 0))),
            ParamSpec("series", "string", str(config.get("series", "fatalities"))),
        ]
    )
    return ModelSignature(inputs=inputs, outputs=outputs, params=params)


def _options_to_json(options: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in options.items():
        if hasattr(value, "model_dump"):
            out[key] = {_FEATURE_MARK: value.model_dump(mode="json")}
        else:
            out[key] = value
    return out


def _options_from_json(options: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in options.items():
        if isinstance(value, dict) and _FEATURE_MARK in value:
            from features.config import FeatureConfig

            out[key] = FeatureConfig.model_validate(value[_FEATURE_MARK])
        else:
            out[key] = value
    return out


def registry_to_json(registry: Any) -> list[dict[str, Any]]:
    """A region registry as JSON-able rows (one per region)."""
    return [asdict(region) for region in registry]


def registry_from_json(rows: list[dict[str, Any]]) -> Any:
    """The inverse of :func:`registry_to_json`."""
    from data.registry import Region, Registry

    return Registry(
        Region(**{k: tuple(v) if isinstance(v, list) else v for k, v in row.items()})
        for row in rows
    )


class RiskcastForecaster(PythonModel):
    """A pyfunc model that refits riskcast model ``model_name`` on the panel it is given.

    Args:
        model_name: a name of ``forecast.models.MODEL_NAMES`` (e.g. ``negbin_glm``).
        options: the model's options (hyper-parameters, feature set) as passed to
            ``make_model``.
        config: forecast defaults ``horizon``, ``n_draws``, ``seed``, ``series`` (overridable
            per call through ``params``).
        registry: the region registry used for neighbour/parent features; None = the default
            registry when it knows every region of the panel, else no registry.
    """

    def __init__(
        self,
        model_name: str = "",
        options: dict[str, Any] | None = None,
        config: dict[str, Any] | None = None,
        registry: Any = None,
    ) -> None:
        self.model_name = model_name
        self.options = dict(options or {})
        self.config = dict(config or {})
        self.registry = registry
        self.rule = EscalationRule()
        self.features = FeatureConfig()

    def load_context(self, context: Any) -> None:
        """Read the model name, options and defaults from the logged ``model_config``."""
        config = dict(context.model_config or {})
        self.model_name = str(config.get("model", self.model_name))
        self.options = _options_from_json(dict(config.get("options", {})))
        self.config = dict(config.get("forecast", {}))
        # the pyfunc's entry point: its config is what was logged with it, validated here
        self.rule = EscalationRule.model_validate(config.get("rule", {}))
        self.features = FeatureConfig.model_validate(config.get("features", {}))
        path = (context.artifacts or {}).get(REGISTRY_ARTIFACT)
        if path:
            self.registry = registry_from_json(json.loads(Path(path).read_text()))

    def _registry_for(self, regions: set[str]) -> Any:
        if self.registry is not None:
            return self.registry
        try:
            from data.regions import load_default_registry

            default = load_default_registry()
        except Exception as exc:  # noqa: BLE001 - a missing registry must not stop a forecast
            log.warning("default region registry unavailable (%s); forecasting without", exc)
            return None
        return default if all(region in default for region in regions) else None

    def predict(
        self,
        context: Any,
        model_input: pd.DataFrame,
        params: dict[str, Any] | None = None,
    ) -> pd.DataFrame:
        """Forecast from ``model_input`` (a long panel) and return the output-contract frame.

        Raises:
            InputError: when a column is missing or a month is not ``YYYY-MM``.
        """
        from forecast.pipeline import forecast_from_panel

        settings = {**self.config, **{k: v for k, v in (params or {}).items() if v != ""}}
        panel = to_panel(model_input)
        origin = (
            parse_month(str(settings["origin"]), field="origin")
            if settings.get("origin")
            else panel["month"].max()
        )
        result = forecast_from_panel(
            panel,
            self._registry_for(set(panel["region"])),
            model=self.model_name,
            origin=origin,
            horizon=int(settings.get("horizon", 12)),
            series=str(settings.get("series", "fatalities")),
            n_draws=int(settings.get("n_draws", 1000)),
            seed=int(settings.get("seed", 0)),
            options=self.options or None,
            rule=self.rule,
            features=self.features,
        )
        return result.frame


def to_panel(frame: pd.DataFrame) -> pd.DataFrame:
    """A pyfunc input frame as a validated panel (months as Periods, a ``source`` column)."""
    missing = [c for c in INPUT_COLUMNS if c not in frame.columns]
    if missing:
        raise InputError(f"panel lacks column(s) {missing}", file="pyfunc input", field=missing[0])
    panel = frame.copy()
    if "source" not in panel:
        panel["source"] = "pyfunc-input"
    if not isinstance(panel["month"].dtype, pd.PeriodDtype):
        months = []
        for row, text in enumerate(panel["month"].astype(str), start=2):
            try:
                months.append(parse_month(text))
            except InputError as exc:
                raise InputError(exc.message, file="pyfunc input", row=row, field="month") from exc
        panel["month"] = pd.PeriodIndex(months, freq="M")
    panel["value"] = panel["value"].astype(float)
    return validate_panel(panel, file="pyfunc input")


def log_forecaster(
    model_name: str,
    options: dict[str, Any] | None,
    config: dict[str, Any],
    *,
    registry: Any = None,
    rule: EscalationRule | None = None,
    features: FeatureConfig | None = None,
) -> str:
    """Log the pyfunc wrapper into the *active* run and return its model URI.

    The escalation rule and feature set the model was fitted with go into its
    ``model_config``, so a loaded model forecasts as it did when logged, with no
    ``riskcast.toml`` where it is served.

    Requirements are pinned explicitly (riskcast itself must be importable where the model is
    loaded) so MLflow does not spend seconds inferring them from imports.
    """
    model_config = {
        "model": model_name,
        "options": _options_to_json(dict(options or {})),
        "forecast": config,
        "rule": (rule or EscalationRule()).model_dump(mode="json"),
        "features": (features or FeatureConfig()).model_dump(mode="json"),
    }
    with tempfile.TemporaryDirectory() as tmp:
        artifacts = None
        if registry is not None:
            path = Path(tmp) / "registry.json"
            path.write_text(json.dumps(registry_to_json(registry), default=str))
            artifacts = {REGISTRY_ARTIFACT: str(path)}
        with warnings.catch_warnings():
            # riskcast forecasts refit on the input, so an input example would cost a fit
            warnings.filterwarnings("ignore", message=".*input example was not provided")
            info = mlflow.pyfunc.log_model(
                name=MODEL_ARTIFACT,
                python_model=str(ENTRY_POINT),
                model_config=model_config,
                artifacts=artifacts,
                signature=_signature(config),
                pip_requirements=[f"mlflow=={mlflow.__version__}", f"pandas=={pd.__version__}"],
            )
    return info.model_uri
