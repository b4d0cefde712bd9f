"""Contributions for models that have inputs but do not report them yet.

``features.drivers`` reads a model's own ``forecast_inputs()`` / ``contributions()``. The
pooled negative-binomial GLM has inputs (features, standardised and weighted by fitted
coefficients) but implements neither, so :func:`explained` wraps a fitted ``negbin_glm``
with them: on the log-mean scale the month-ahead forecast is
``offset + intercept + Σ_j coefficient_j × standardised feature_j``, and each term of the
sum is one input's contribution. The offset (the log of the region's recent level) is an
input too, named :data:`RECENT_LEVEL`. It reads the fitted model's state only; when the
GLM gains these methods itself this wrapper can go.

Regions the GLM hands to its quiet-region part (``poisson_mean`` draws) or that fell back
get no contributions, and the bulletin says the model did not report them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

RECENT_LEVEL = "log of the region's recent level (offset)"


class GLMContributions:
    """A fitted ``negbin_glm`` that says what moved its horizon-1 forecast."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self.name = model.name

    def _fit(self) -> tuple[Any, np.ndarray] | None:
        fits = getattr(self.model, "fits", {}) or {}
        if getattr(self.model, "failure", None) is not None:
            return None
        fitted = next((fits[h] for h in sorted(fits) if fits[h] is not None), None)
        return None if fitted is None else (fitted[0], np.asarray(fitted[1]))

    def forecast_inputs(self) -> Sequence[str]:
        """The features the fit kept, and the recent-level offset."""
        fitted = self._fit()
        if fitted is None:
            return ()
        kept = np.asarray(self.model.columns, dtype=object)[fitted[0].keep]
        return (*(str(c) for c in kept), RECENT_LEVEL)

    def contributions(self) -> Mapping[str, Sequence[tuple[str, float]]]:
        """Region → ``[(input, term of the log mean), …]`` at the origin."""
        fitted = self._fit()
        if fitted is None:
            return {}
        scaler, params = fitted
        names = list(self.forecast_inputs())[:-1]
        terms = scaler(self.model.cube[-1]) * params[1:]  # (region, kept feature)
        offsets = np.asarray(self.model.offsets[-1], dtype=float)
        dormant = np.asarray(self.model.dormant[-1], dtype=bool)
        out: dict[str, list[tuple[str, float]]] = {}
        for i, region in enumerate(self.model.task.regions):
            if dormant[i]:
                continue
            row = [(name, float(terms[i, j])) for j, name in enumerate(names)]
            out[str(region)] = [*row, (RECENT_LEVEL, float(offsets[i]))]
        return out


def explained(model: Any) -> Any:
    """The model itself, or for a fitted ``negbin_glm`` the wrapper that reports inputs."""
    if getattr(model, "name", None) == "negbin_glm" and not hasattr(model, "contributions"):
        return GLMContributions(model)
    return model
