"""``ensemble``: a draw-level mixture of member models.

Each member forecasts the same task; the ensemble's draws for a region-month are a random
mix of the members' draws in proportion to their weights (a *mixture* of predictive
distributions, not an average of draws: averaging would shrink the spread and make the
ensemble overconfident, while a mixture keeps every member's tails).

Weights: ``weights={model: w}``. The backtest helper supplies them as inverse mean CRPS of
each member over a backtest (``w ∝ 1 / CRPS``), so better members contribute more draws;
the weights are normalised here. Without weights, the default members are mixed equally.

The default members are ``conflictology``, ``poisson_mean`` and ``ets``: the two benchmarks
that are hardest to beat plus a model whose level adapts to regime changes; each is robust
(no pooled fit that can blow up), and their errors differ enough for the mixture to beat
each of them. ``negbin_glm`` can join via ``members=``/``weights=``.
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar, Self

import numpy as np

from forecast.base import ForecastTask
from forecast.draws import Draws
from forecast.models._common import check_request, make_draws
from riskcast.errors import ConfigError

log = logging.getLogger(__name__)

DEFAULT_MEMBERS: tuple[str, ...] = ("conflictology", "poisson_mean", "ets")
"""Members mixed when neither ``members`` nor ``weights`` is given."""


class Ensemble:
    """Draw-level mixture of member forecasts.

    Args:
        members: member model names (default :data:`DEFAULT_MEMBERS`, or the keys of
            ``weights`` when given).
        weights: model → weight ≥ 0 (e.g. inverse backtest CRPS); normalised to sum 1.
        member_options: model → constructor options of that member.
    """

    name: ClassVar[str] = "ensemble"

    def __init__(
        self,
        members: list[str] | tuple[str, ...] | None = None,
        weights: dict[str, float] | None = None,
        member_options: dict[str, dict[str, Any]] | None = None,
    ) -> None:
        from forecast.models import MODEL_NAMES, make_model

        chosen = list(members or (weights.keys() if weights else DEFAULT_MEMBERS))
        if not chosen:
            raise ConfigError("ensemble needs at least one member")
        for member in chosen:
            if member == self.name:
                raise ConfigError("ensemble cannot contain itself")
            if member not in MODEL_NAMES:
                make_model(member)  # raises ConfigError with a did-you-mean
        weights = dict(weights or dict.fromkeys(chosen, 1.0))
        missing = [m for m in chosen if m not in weights]
        if missing:
            raise ConfigError(f"ensemble weights lack member(s) {missing}")
        raw = np.array([float(weights[m]) for m in chosen])
        if not np.all(np.isfinite(raw)) or (raw < 0).any() or raw.sum() <= 0:
            raise ConfigError(f"ensemble weights must be ≥ 0 and not all 0, got {weights}")
        self.members = chosen
        self.weights = raw / raw.sum()
        options = member_options or {}
        self.models = [make_model(m, **options.get(m, {})) for m in chosen]
        self.task: ForecastTask | None = None

    def fit(self, task: ForecastTask) -> Self:
        """Fit every member on the same task."""
        self.task = task
        for model in self.models:
            model.fit(task)
        return self

    def predict(self, horizon: int, n_draws: int, rng: np.random.Generator) -> Draws:
        """Mix member draws: each output draw comes from a member picked by weight."""
        check_request(self.name, self.task is not None, horizon, n_draws)
        task = self.task
        assert task is not None
        # How many of the n_draws each member supplies (same split for every region-month,
        # randomised by the rng, so the mixture proportions are exact in expectation).
        counts = rng.multinomial(n_draws, self.weights)
        parts, notes = [], {}
        for model, count in zip(self.models, counts, strict=True):
            if count == 0:
                continue
            draws = model.predict(horizon, int(count), rng)
            parts.append(draws.values)
            for region, text in draws.notes.items():
                notes[region] = f"{notes[region]}; {text}" if region in notes else text
        values = np.concatenate(parts, axis=2)
        # Shuffle the draw axis so a draw index does not identify a member.
        values = values[:, :, rng.permutation(n_draws)]
        return make_draws(self.name, task, values, notes)
