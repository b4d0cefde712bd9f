"""Experiment specs: a TOML grid of models × feature sets × origins, run and logged in one go.

A spec (see ``experiments/specs/mali_baselines.toml``) names the grid (a tag on every run), the
models, the feature sets and the backtest origins — either fixed (``origins =
"2016-12:2020-12:6"`` or a list of ``YYYY-MM``) or relative to the data's last month
(``last_origins = 4`` with ``origin_step = 6``: the latest origins whose whole horizon is
observed), so a spec keeps working as data arrive. Each feature set is one backtest (one
parent run) with a nested run per model; all of a spec's backtests share origins and data, so
``riskcast experiments compare`` ranks them together. The backtests go to the experiment that
``riskcast backtest``, ``experiments compare``, ``GET /experiments`` and the bulletin use
(``[experiments] backtest_experiment``) unless the spec names another one.
"""

from __future__ import annotations

import inspect
import logging
import tomllib
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import Field, ValidationError, model_validator

from data.config import DataConfig
from data.store import open_store
from features.config import FeatureConfig, with_overrides
from forecast.risk import EscalationRule
from riskcast.config import StrictSection, did_you_mean, refuse_unknown_keys
from riskcast.errors import ConfigError, InputError
from riskcast.months import parse_month, parse_month_span

log = logging.getLogger(__name__)

SPEC_DIR = Path(__file__).resolve().parent / "specs"


class ExperimentSpec(StrictSection):
    """One experiment grid.

    Attributes:
        name: the grid's name, tagged ``spec`` on every run it logs.
        experiment: the MLflow experiment the backtests go to; default
            ``[experiments] backtest_experiment``, the one every reader looks at.
        description: a sentence for people (an experiment tag).
        data: ``store`` (the ingested panel) or ``demo`` (the synthetic demo panel).
        series: the series forecast and scored.
        models: model names (``forecast.models.MODEL_NAMES``); include ``conflictology``
            so the leaderboard can report skill.
        origins: fixed origins, ``START:END[:STEP]`` or a list of ``YYYY-MM``.
        last_origins: instead of ``origins``: this many origins ending at the last month
            whose full horizon is observed.
        origin_step: months between relative origins.
        horizon: months ahead (1..36).
        n_draws: draws per forecast.
        seed: base seed.
        feature_sets: name → ``[features]`` overrides; ``{}`` is the config's feature set.
        model_options: model name → options for ``make_model``.
    """

    name: str
    experiment: str | None = None
    description: str = ""
    data: str = Field(default="store", pattern="^(store|demo)$")
    series: str = "fatalities"
    models: list[str] = Field(min_length=1)
    origins: str | list[str] | None = None
    last_origins: int | None = Field(default=None, ge=1, le=240)
    origin_step: int = Field(default=12, ge=1)
    horizon: int = Field(default=12, ge=1, le=36)
    n_draws: int = Field(default=1000, ge=10)
    seed: int = Field(default=0, ge=0)
    feature_sets: dict[str, dict[str, Any]] = Field(default_factory=lambda: {"default": {}})
    model_options: dict[str, dict[str, Any]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _one_way_to_give_origins(self) -> ExperimentSpec:
        if (self.origins is None) == (self.last_origins is None):
            raise ValueError("give exactly one of 'origins' and 'last_origins'")
        return self

    def resolve_origins(self, panel: pd.DataFrame) -> list[pd.Period]:
        """The backtest origins: fixed, or the latest ones the data can score in full."""
        if isinstance(self.origins, str):
            return parse_month_span(self.origins)
        if isinstance(self.origins, list):
            return sorted({parse_month(text, field="origins") for text in self.origins})
        target = panel[panel["series"] == self.series]
        if target.empty:
            raise InputError(f"the panel has no '{self.series}' rows", field="series")
        last = target["month"].max() - self.horizon
        count = int(self.last_origins or 1)
        return [last - self.origin_step * k for k in reversed(range(count))]


def load_spec(path: str | Path) -> ExperimentSpec:
    """Read and validate a spec file (a bare name is looked up in ``experiments/specs``).

    Raises:
        ConfigError: missing file, invalid TOML, unknown key (with a did-you-mean) or a bad
            value, naming the file.
    """
    spec_path = Path(path)
    if not spec_path.exists() and (SPEC_DIR / spec_path.name).exists():
        spec_path = SPEC_DIR / spec_path.name
    if not spec_path.exists() and (SPEC_DIR / f"{spec_path.name}.toml").exists():
        spec_path = SPEC_DIR / f"{spec_path.name}.toml"
    if not spec_path.exists():
        raise ConfigError(f"experiment spec {path} does not exist")
    try:
        raw = tomllib.loads(spec_path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"experiment spec {spec_path} is not valid TOML: {exc}") from exc
    refuse_unknown_keys(raw, ExperimentSpec, f"experiment spec {spec_path}:")
    try:
        spec = ExperimentSpec.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "spec"
        raise ConfigError(f"experiment spec {spec_path}: {where}: {first['msg']}") from exc
    _check_models(spec, spec_path)
    return spec


def _check_models(spec: ExperimentSpec, path: Path) -> None:
    from forecast.models import MODEL_NAMES

    for model in [*spec.models, *spec.model_options]:
        if model not in MODEL_NAMES:
            raise ConfigError(
                f"experiment spec {path}: unknown model '{model}'{did_you_mean(model, MODEL_NAMES)}"
            )


FEATURE_OPTION = "feature_config"
"""The model option that carries a feature set (``forecast.models.glm.NegBinGLM`` takes it)."""


def _takes_features(model: str) -> bool:
    """True when the model's constructor takes a feature set option."""
    from forecast.models import model_class

    return FEATURE_OPTION in inspect.signature(model_class(model).__init__).parameters


def grid(
    spec: ExperimentSpec, features: FeatureConfig | None = None
) -> list[tuple[str, FeatureConfig, dict[str, dict[str, Any]]]]:
    """``(feature set name, feature set, options per model)`` per backtest to run; each set
    is ``features`` (the loaded ``[features]``; default its defaults) with the set's
    overrides."""
    base = features or FeatureConfig()
    backtests = []
    for set_name, overrides in spec.feature_sets.items():
        feature_set = with_overrides(base, **overrides)
        options = {}
        for model in spec.models:
            model_opts = dict(spec.model_options.get(model, {}))
            if overrides and _takes_features(model):
                model_opts[FEATURE_OPTION] = feature_set
            options[model] = model_opts
        backtests.append((set_name, feature_set, options))
    return backtests


def _panel_and_registry(
    spec: ExperimentSpec, data_config: DataConfig | None
) -> tuple[pd.DataFrame, Any]:
    if spec.data == "demo":
        from data.demo import demo_panel
        from data.regions import load_default_registry

        return demo_panel(), load_default_registry()
    store = open_store(config=data_config)
    panel = store.load_panel()
    if panel.empty:
        raise InputError(
            "the store holds no data: ingest a file (`riskcast ingest FILE`) or load the demo "
            '(`riskcast demo-data`), or set data = "demo" in the spec',
            field="data",
        )
    return panel, store.registry()


def run_spec(
    path: str | Path,
    *,
    trigger: str = "cli",
    progress: bool = True,
    executor: Any = None,
    panel: pd.DataFrame | None = None,
    registry: Any = None,
    features: FeatureConfig | None = None,
    rule: EscalationRule | None = None,
    data_config: DataConfig | None = None,
) -> list[str]:
    """Run every backtest of a spec and log each one; return the parent run ids.

    Args:
        path: the spec file.
        trigger: ``cli``, ``schedule`` or ``api``.
        progress: show progress bars.
        executor: a ``forecast.executors`` executor (None = serial).
        panel: use this panel instead of the spec's ``data`` (tests, notebooks).
        registry: the registry that goes with ``panel``.
        features: the loaded ``[features]`` the spec's feature sets start from.
        rule: the loaded ``[escalation]`` rule scored.
        data_config: the loaded ``[data]`` section (opening the store).
    """
    from experiments.runs import log_backtest
    from forecast.backtest import run_backtest

    spec = load_spec(path)
    if panel is None:
        panel, registry = _panel_and_registry(spec, data_config)
    origins = spec.resolve_origins(panel)
    parent_ids = []
    for set_name, feature_set, options in grid(spec, features):
        log.info(
            "spec %s: feature set %s, %d model(s) × %d origin(s)",
            spec.name,
            set_name,
            len(spec.models),
            len(origins),
        )
        result = run_backtest(
            panel,
            registry,
            models=list(spec.models),
            origins=origins,
            horizon=spec.horizon,
            series=spec.series,
            n_draws=spec.n_draws,
            seed=spec.seed,
            executor=executor,
            progress=progress,
            rule=rule,
            features=feature_set,
            **_options_kwarg(options),
        )
        parent_ids.append(
            log_backtest(
                result,
                panel=panel,
                experiment=spec.experiment,
                trigger=trigger,
                registry=registry,
                feature_config=feature_set,
                escalation_rule=rule,
                model_options=options,
                n_draws=spec.n_draws,
                seed=spec.seed,
                run_name=f"{spec.name} / {set_name}",
                extra_tags={"spec": spec.name, "feature_set": set_name},
            )
        )
    return parent_ids


def _options_kwarg(options: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Pass per-model options to ``run_backtest`` under the keyword it takes, if any."""
    from forecast.backtest import run_backtest

    parameters = inspect.signature(run_backtest).parameters
    if not any(options.values()):
        return {}
    for keyword in ("model_options", "options"):
        if keyword in parameters:
            return {keyword: options}
    raise ConfigError(
        "this forecast.backtest.run_backtest takes no model options; "
        "remove model_options/feature_sets overrides from the spec"
    )
