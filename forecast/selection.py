"""Nested rolling-origin selection: choose on early origins, report on later ones.

Everything that is chosen — model family, options (mixing weight, tilt), hence ensemble
weights and calibration settings — is chosen from backtests on *selection origins* only,
and reported on *scoring origins* that come strictly after every month the selection read.
The guarantee is built into :func:`nested_backtest`, not left to the caller:

* :func:`check_nested` refuses overlapping origin sets and any selection origin whose
  forecast months reach past the first scoring origin (its outcomes would be months the
  reported forecasts are judged on, or later);
* the selection backtests run on the panel *cut at the first scoring origin*, so no score,
  outcome or fit of the selection can read a month after it — changing any later value
  cannot change the choice (tested);
* the choice reads only the selection summary (:func:`choose`).

The criterion (lower is better) is the mean of two ratios against the conflictology
benchmark over the selection origins: CRPS on log1p counts (the forecast) and the Brier
score of ``p_escalation`` (the warning) — the two things the service publishes.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd

from forecast.backtest import REFERENCE_MODEL, BacktestResult, run_backtest
from forecast.pipeline import cut_panel
from riskcast.errors import InputError
from riskcast.months import format_month

if TYPE_CHECKING:
    from forecast.executors import Executor

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Candidate:
    """One thing selection may choose: a model with its options, under a unique label."""

    label: str
    model: str
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class NestedResult:
    """What a nested backtest chose and how everything scored where it is reported.

    Attributes:
        chosen: the candidate with the best criterion on the selection origins.
        criteria: per candidate label, the criterion and its two ratios on selection origins.
        selection: the selection backtests (labels in the ``model`` column).
        scoring: the reported backtests on the scoring origins (chosen, benchmark, others).
    """

    chosen: Candidate
    criteria: pd.DataFrame
    selection: BacktestResult
    scoring: BacktestResult


def check_nested(
    selection_origins: Sequence[pd.Period], scoring_origins: Sequence[pd.Period], horizon: int
) -> None:
    """Refuse a nested scheme in which selection could read a scored origin's outcomes.

    Raises:
        InputError: an empty set, overlapping origins, or a selection origin whose last
            forecast month (origin + horizon) lies after the first scoring origin.
    """
    if not selection_origins or not scoring_origins:
        raise InputError("nested selection needs selection and scoring origins", field="origins")
    overlap = sorted(set(selection_origins) & set(scoring_origins))
    if overlap:
        raise InputError(
            f"selection and scoring origins overlap ({format_month(overlap[0])}, …)",
            field="origins",
        )
    first_scored = min(scoring_origins)
    late = [o for o in selection_origins if o + horizon > first_scored]
    if late:
        raise InputError(
            f"selection origin {format_month(max(late))} + {horizon} months reaches past the "
            f"first scoring origin {format_month(first_scored)}: selection would read months "
            "the reported forecasts are judged on; end selection origins by "
            f"{format_month(first_scored - horizon)}",
            field="origins",
        )


def run_candidates(
    panel: pd.DataFrame, registry: Any, candidates: Sequence[Candidate], **backtest: Any
) -> BacktestResult:
    """Backtest each candidate (one model with its options) and label rows by candidate."""
    labels = [c.label for c in candidates]
    if len(set(labels)) != len(labels):
        raise InputError(f"candidate labels must be unique, got {labels}", field="candidates")
    results = []
    for candidate in candidates:
        result = run_backtest(
            panel,
            registry,
            models=[candidate.model],
            options={candidate.model: dict(candidate.options)},
            **backtest,
        )
        results.append(result.relabelled(candidate.label))
    return BacktestResult.concat(results)


def criteria(summary: pd.DataFrame) -> pd.DataFrame:
    """Selection criterion per model label from a summary that includes the benchmark."""
    table = summary.set_index("model")
    if REFERENCE_MODEL not in table.index:
        raise InputError(f"selection needs the {REFERENCE_MODEL} benchmark", field="candidates")
    reference = table.loc[REFERENCE_MODEL]
    out = pd.DataFrame(
        {
            "crps_log_ratio": table["crps_log"] / reference["crps_log"],
            "brier_ratio": table["brier"] / reference["brier"],
        }
    )
    out["criterion"] = out[["crps_log_ratio", "brier_ratio"]].mean(axis=1)
    return out


def choose(selection_summary: pd.DataFrame, candidates: Sequence[Candidate]) -> Candidate:
    """The candidate with the lowest criterion (ties: the first listed)."""
    table = criteria(selection_summary)
    ranked = [c for c in candidates if c.label in table.index]
    return min(ranked, key=lambda c: float(table.loc[c.label, "criterion"]))


def nested_backtest(
    panel: pd.DataFrame,
    registry: Any,
    candidates: Sequence[Candidate],
    *,
    selection_origins: Sequence[pd.Period],
    scoring_origins: Sequence[pd.Period],
    horizon: int,
    report_all: bool = True,
    executor: Executor | None = None,
    **backtest: Any,
) -> NestedResult:
    """Choose a candidate on the selection origins, then score it on the scoring origins.

    Args:
        panel: the long panel (may reach to the last scored month).
        registry: region registry, or None.
        candidates: what may be chosen; the conflictology benchmark is added (under its
            own name) when absent, because the criterion is relative to it.
        selection_origins, scoring_origins: disjoint, see :func:`check_nested`.
        horizon: months ahead.
        report_all: also score the candidates that were not chosen on the scoring origins
            (for the side-by-side table; they do not influence the choice).
        executor: runs the backtest jobs.
        **backtest: further :func:`forecast.backtest.run_backtest` keywords (regions,
            n_draws, seed, progress, series …).
    """
    check_nested(selection_origins, scoring_origins, horizon)
    pool = list(candidates)
    if REFERENCE_MODEL not in {c.label for c in pool}:
        pool.insert(0, Candidate(REFERENCE_MODEL, REFERENCE_MODEL))
    first_scored = min(scoring_origins)
    visible = cut_panel(panel, first_scored)
    selection = run_candidates(
        visible, registry, pool, origins=sorted(selection_origins), horizon=horizon,
        executor=executor, **backtest,
    )  # fmt: skip
    table = criteria(selection.summary())
    chosen = choose(selection.summary(), pool)
    log.info("nested selection chose %s (%s)", chosen.label, table.loc[chosen.label].to_dict())
    reported = (
        pool if report_all else [c for c in pool if c.label in {chosen.label, REFERENCE_MODEL}]
    )
    scoring = run_candidates(
        panel, registry, reported, origins=sorted(scoring_origins), horizon=horizon,
        executor=executor, **backtest,
    )  # fmt: skip
    return NestedResult(chosen=chosen, criteria=table, selection=selection, scoring=scoring)
