"""The model zoo: one stable name per model, one factory.

``make_model("conflictology")`` returns a fresh, unfitted model; options are the model's
constructor keywords (each model documents its own). Heavy libraries (statsmodels, Prophet)
are imported only when their model is made, so ``riskcast --help`` stays fast.
"""

from __future__ import annotations

import importlib
from typing import Any

from forecast.base import ForecastModel
from riskcast.config import did_you_mean
from riskcast.errors import ConfigError

MODEL_NAMES: tuple[str, ...] = (
    "zero",
    "no_change",
    "conflictology",
    "poisson_mean",
    "negbin_glm",
    "sarimax",
    "ets",
    "prophet",
    "pooled_gbm",
    "ensemble",
)
"""Every model name ``--model`` accepts, in the order tables list them."""

_WHERE: dict[str, tuple[str, str]] = {
    "zero": ("forecast.models.baselines", "Zero"),
    "no_change": ("forecast.models.baselines", "NoChange"),
    "conflictology": ("forecast.models.baselines", "Conflictology"),
    "poisson_mean": ("forecast.models.baselines", "PoissonMean"),
    "negbin_glm": ("forecast.models.glm", "NegBinGLM"),
    "sarimax": ("forecast.models.statespace", "Sarimax"),
    "ets": ("forecast.models.statespace", "Ets"),
    "prophet": ("forecast.models.prophet_model", "ProphetModel"),
    "pooled_gbm": ("forecast.models.pooled", "PooledGBM"),
    "ensemble": ("forecast.models.ensemble", "Ensemble"),
}


def model_class(name: str) -> type:
    """The class behind a model name.

    Raises:
        ConfigError: for an unknown name, with a "did you mean" and the list of names.
    """
    if name not in _WHERE:
        raise ConfigError(
            f"unknown model '{name}'{did_you_mean(name, MODEL_NAMES)}; "
            f"known models: {', '.join(MODEL_NAMES)}"
        )
    module, attribute = _WHERE[name]
    cls = getattr(importlib.import_module(module), attribute)
    if cls.name != name:  # a renamed class would silently change what --model means
        raise RuntimeError(f"model class {attribute} is named '{cls.name}', expected '{name}'")
    return cls


def make_model(name: str, **options: Any) -> ForecastModel:
    """A new, unfitted model.

    Args:
        name: one of :data:`MODEL_NAMES`.
        **options: keyword options of that model's constructor.

    Raises:
        ConfigError: unknown model name (with a did-you-mean) or an option the model does
            not take (naming the options it does take).
    """
    cls = model_class(name)
    try:
        return cls(**options)
    except TypeError as exc:
        import inspect

        accepted = [p for p in inspect.signature(cls.__init__).parameters if p != "self"]
        bad = [key for key in options if key not in accepted]
        if not bad:
            raise
        raise ConfigError(
            f"model '{name}' has no option '{bad[0]}'{did_you_mean(bad[0], accepted)}; "
            f"its options: {', '.join(accepted) or 'none'}"
        ) from exc


__all__ = ["MODEL_NAMES", "make_model", "model_class"]
