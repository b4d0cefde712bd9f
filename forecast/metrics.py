"""Scores for probabilistic count forecasts, vectorised over region × horizon arrays.

The proper scoring rules come from ``scoringrules`` (a maintained library) rather than
hand-written formulas. Conventions, as in the VIEWS prediction challenge:

* ``obs`` is an array of observed counts of any shape ``S`` (usually ``(region, horizon)``);
  ``draws`` has shape ``S + (n_draws,)``: the ensemble is always the last axis.
* Every function returns an array of shape ``S`` (one score per region-month) so callers can
  average per model, horizon or region as they need. Lower is better except coverage.
* CRPS uses the empirical-distribution estimator (``estimator="qd"``, identical to
  ``E|X - y| - ½E|X - X'|`` of the ensemble, as properscoring computes it), in O(n log n)
  memory-light form; the "fair" estimator builds an n × n matrix per element.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scoringrules as sr

from forecast.draws import sorted_quantiles

VIEWS_BINS: tuple[float, ...] = (0, 0.5, 2.5, 5.5, 10.5, 25.5, 50.5, 100.5, 250.5, 500.5, 1000.5)
"""Lower edges of the ignorance-score bins of the VIEWS challenge; the last bin is open."""

IGNORANCE_SMOOTHING = 0.5
"""Pseudo-count added to every bin of the draw histogram (Krichevsky–Trofimov / Jeffreys
smoothing) so an observation in a bin no draw reached scores a large but finite ignorance:
with 1,000 draws and 11 bins the worst score is log2((1000 + 5.5) / 0.5) ≈ 11 bits."""

LOG_LOSS_EPS = 1e-3
"""Probabilities are clipped to [eps, 1 − eps] for the log loss: a draw-based probability of
exactly 0 or 1 would otherwise score infinity for one surprising month."""


def _as_float(array: np.ndarray) -> np.ndarray:
    return np.asarray(array, dtype=np.float64)


def crps(obs: np.ndarray, draws: np.ndarray) -> np.ndarray:
    """CRPS of the draws against the observed counts (same unit as the counts)."""
    return np.asarray(sr.crps_ensemble(_as_float(obs), _as_float(draws), estimator="qd"))


def crps_log(obs: np.ndarray, draws: np.ndarray) -> np.ndarray:
    """CRPS on ``log1p`` counts: scores relative rather than absolute errors, so a handful
    of very violent regions does not decide the ranking alone."""
    return crps(np.log1p(_as_float(obs)), np.log1p(_as_float(draws)))


def absolute_error_median(obs: np.ndarray, draws: np.ndarray) -> np.ndarray:
    """|median of the draws − observation| (the point forecast that minimises MAE)."""
    return np.abs(np.median(draws, axis=-1) - _as_float(obs))


def absolute_error_mean(obs: np.ndarray, draws: np.ndarray) -> np.ndarray:
    """|mean of the draws − observation|."""
    return np.abs(np.mean(draws, axis=-1, dtype=np.float64) - _as_float(obs))


def central_interval(draws: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper bounds of the central ``level`` interval of the draws."""
    if not 0 < level < 1:
        raise ValueError(f"interval level must be in (0, 1), got {level}")
    lower, upper = np.quantile(draws, list(_interval_levels(level)), axis=-1)
    return lower, upper


def _interval_levels(level: float) -> tuple[float, float]:
    """Quantile levels of the central ``level`` interval (one formula, so that
    :func:`score_counts` reads exactly the bounds :func:`central_interval` computes)."""
    tail = (1 - level) / 2
    return tail, 1 - tail


def covered(obs: np.ndarray, draws: np.ndarray, level: float) -> np.ndarray:
    """1.0 where the observation lies inside the central ``level`` interval (bounds
    included), else 0.0; its mean is the empirical coverage."""
    lower, upper = central_interval(draws, level)
    obs = _as_float(obs)
    return ((obs >= lower) & (obs <= upper)).astype(np.float64)


def interval_score(obs: np.ndarray, draws: np.ndarray, level: float = 0.9) -> np.ndarray:
    """Interval (Winkler) score of the central ``level`` interval, as in VIEWS (90%)."""
    lower, upper = central_interval(draws, level)
    return np.asarray(sr.interval_score(_as_float(obs), lower, upper, 1 - level))


def ignorance_score(
    obs: np.ndarray,
    draws: np.ndarray,
    bins: tuple[float, ...] = VIEWS_BINS,
    smoothing: float = IGNORANCE_SMOOTHING,
) -> np.ndarray:
    """VIEWS ignorance score: −log2 of the probability the draws give the observed bin.

    The draws are binned on ``bins`` (lower edges; the last bin is open-ended), every bin
    gets ``smoothing`` pseudo-draws (see :data:`IGNORANCE_SMOOTHING`), and the score is
    ``-log2((count_in_observed_bin + s) / (n_draws + s × n_bins))`` in bits.
    """
    edges = np.asarray(bins[1:], dtype=np.float64)
    n_bins = len(bins)
    draw_bins = np.searchsorted(edges, _as_float(draws), side="right")
    obs_bin = np.searchsorted(edges, _as_float(obs), side="right")
    hits = (draw_bins == obs_bin[..., None]).sum(axis=-1)
    n_draws = draws.shape[-1]
    prob = (hits + smoothing) / (n_draws + smoothing * n_bins)
    return -np.log2(prob)


def brier(prob: np.ndarray, outcome: np.ndarray) -> np.ndarray:
    """Brier score of a probability against a 0/1 outcome."""
    return np.asarray(sr.brier_score(_as_float(outcome), _as_float(prob)))


def log_loss(prob: np.ndarray, outcome: np.ndarray, eps: float = LOG_LOSS_EPS) -> np.ndarray:
    """Log loss (natural log) of a probability against a 0/1 outcome, clipped by ``eps``."""
    clipped = np.clip(_as_float(prob), eps, 1 - eps)
    return np.asarray(sr.log_score(_as_float(outcome), clipped))


def brier_skill(model_brier: float, reference_brier: float) -> float:
    """Brier skill score ``1 − BS / BS_ref``: > 0 beats the reference, NaN when the
    reference is perfect (no event and a zero base rate)."""
    if reference_brier <= 0:
        return float("nan")
    return 1.0 - model_brier / reference_brier


def reliability_table(prob: np.ndarray, outcome: np.ndarray, n_bins: int = 10) -> pd.DataFrame:
    """Predicted probability vs. observed frequency, in equal-width bins of p.

    Returns:
        One row per bin with ``bin_lower``, ``bin_upper``, ``n`` (forecasts in the bin),
        ``mean_p`` and ``observed_freq`` (NaN for empty bins, which are kept so a plot shows
        where forecasts never go).
    """
    prob = _as_float(prob).ravel()
    outcome = _as_float(outcome).ravel()
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    index = np.clip(np.searchsorted(edges, prob, side="right") - 1, 0, n_bins - 1)
    counts = np.bincount(index, minlength=n_bins)
    sum_p = np.bincount(index, weights=prob, minlength=n_bins)
    sum_o = np.bincount(index, weights=outcome, minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        return pd.DataFrame(
            {
                "bin_lower": edges[:-1],
                "bin_upper": edges[1:],
                "n": counts.astype(int),
                "mean_p": np.where(counts > 0, sum_p / counts, np.nan),
                "observed_freq": np.where(counts > 0, sum_o / counts, np.nan),
            }
        )


COUNT_METRICS: tuple[str, ...] = (
    "crps",
    "crps_log",
    "ae_median",
    "ae_mean",
    "in_50",
    "in_90",
    "interval_90",
    "ignorance",
)
"""Names of the per region-month scores :func:`score_counts` returns."""


SCORE_BLOCK_ELEMENTS = 4_000_000
"""Draw values scored at once by :func:`score_counts` (≈ 32 MB per float64 temporary): the
CRPS estimator builds several temporaries the size of its input, so scoring ten thousand
regions × 12 months × 1,000 draws in one go would need gigabytes."""


def _sorted_median(ordered: np.ndarray) -> np.ndarray:
    """``np.median(draws, axis=-1)`` read from sorted draws (same arithmetic as numpy)."""
    n = ordered.shape[-1]
    middle = n // 2
    if n % 2:
        return ordered[..., middle] / 1.0
    return (ordered[..., middle - 1] + ordered[..., middle]) / 2.0


def _score_block(obs: np.ndarray, draws: np.ndarray) -> dict[str, np.ndarray]:
    """:func:`score_counts` of one block: sort once, read every order statistic from it."""
    values = np.array(draws, dtype=np.float64)  # a copy: overwritten by the sorted draws
    scores = {"ae_mean": absolute_error_mean(obs, values)}  # before sorting (sum order)
    # sorting float32 draws is ~3× faster than sorting their float64 copy and the cast is
    # exact, so the sorted values are the same
    np.copyto(values, np.sort(draws, axis=-1))
    scores["crps"] = np.asarray(sr.crps_ensemble(obs, values, estimator="qd", sorted_ensemble=True))
    ignorance = ignorance_score(obs, values)
    median = _sorted_median(values)
    low_50, high_50 = sorted_quantiles(values, _interval_levels(0.5))
    low_90, high_90 = sorted_quantiles(values, _interval_levels(0.9))
    np.log1p(values, out=values)  # monotone: the order holds
    scores["crps_log"] = np.asarray(
        sr.crps_ensemble(np.log1p(obs), values, estimator="qd", sorted_ensemble=True)
    )
    scores["ae_median"] = np.abs(median - obs)
    scores["in_50"] = ((obs >= low_50) & (obs <= high_50)).astype(np.float64)
    scores["in_90"] = ((obs >= low_90) & (obs <= high_90)).astype(np.float64)
    scores["interval_90"] = np.asarray(sr.interval_score(obs, low_90, high_90, 1 - 0.9))
    scores["ignorance"] = ignorance
    return scores


def score_counts(obs: np.ndarray, draws: np.ndarray) -> dict[str, np.ndarray]:
    """Every count score at once, each of shape ``obs.shape``.

    Keys: ``crps``, ``crps_log``, ``ae_median``, ``ae_mean``, ``in_50`` and ``in_90``
    (0/1 coverage indicators), ``interval_90`` and ``ignorance``. The values equal those of
    the single-score functions above; the draws (float32 is fine, they are not copied whole)
    are scored in blocks of :data:`SCORE_BLOCK_ELEMENTS` values along the first axis, each
    sorted once for the CRPS on counts and on ``log1p`` counts, the median and the interval
    bounds.
    """
    draws = np.asarray(draws)
    obs = _as_float(obs)
    if draws.shape[:-1] != obs.shape:
        raise ValueError(f"draws {draws.shape} do not match observations {obs.shape}")
    if obs.ndim == 0 or obs.size == 0:
        return _score_block(obs, draws) if obs.size else _empty_scores(obs.shape)
    per_row = max(1, draws[0].size)
    step = max(1, SCORE_BLOCK_ELEMENTS // per_row)
    out = {name: np.empty(obs.shape, dtype=np.float64) for name in COUNT_METRICS}
    for start in range(0, obs.shape[0], step):
        block = slice(start, start + step)
        for name, values in _score_block(obs[block], draws[block]).items():
            out[name][block] = values
    return out


def _empty_scores(shape: tuple[int, ...]) -> dict[str, np.ndarray]:
    return {name: np.empty(shape, dtype=np.float64) for name in COUNT_METRICS}


def score_probabilities(
    prob: np.ndarray, outcome: np.ndarray, base_rate: np.ndarray
) -> dict[str, np.ndarray]:
    """Escalation scores: ``brier``, ``log_loss`` and ``brier_clim`` (the Brier score of the
    climatological base rate, broadcast to ``prob.shape``) for a later skill score."""
    base = np.broadcast_to(_as_float(base_rate), np.shape(prob))
    return {
        "brier": brier(prob, outcome),
        "log_loss": log_loss(prob, outcome),
        "brier_clim": brier(base, outcome),
    }
