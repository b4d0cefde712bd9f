"""Issue #15's target table: nested selection, monthly origins, every target side by side.

Run through ``bench/skill.py --targets`` (one command, see the README). For each scored
panel (``mali``: ACLED Mali admin1; ``ucdp``: UCDP countries) it

1. chooses among the candidates on monthly *selection* origins 2012-01 … 2015-12 (their
   forecast months end by 2016-12, before the first scored origin; the selection reads the
   panel cut at 2017-01 — :mod:`forecast.selection`), by the mean of the CRPS-log1p and
   Brier ratios against conflictology;
2. scores every candidate on monthly origins 2017-01 … 2020-12, horizons 1-12 (nothing is
   tuned there);
3. prints, per candidate: CRPS on log1p and its ratio to conflictology, 90% coverage, the
   Brier score of ``p_escalation``, its ratio to conflictology, Brier skill against the
   training base rate, the worst reliability gap over deciles with ≥ 30 cases, and alert
   precision / recall / mean lead at the configured ``[alerts] threshold`` — and whether
   each target is met by the chosen candidate.

Every model is trained on the pooled panel (UCDP countries + Mali and Burkina Faso admin1);
only the scored panel's regions are forecast and scored.
"""

from __future__ import annotations

import logging
import time

import numpy as np
import pandas as pd

from bench.panels import pooled_panel, registry_or_none
from forecast import metrics
from forecast.selection import Candidate, NestedResult, nested_backtest

log = logging.getLogger("bench.skill_targets")

SELECTION = pd.period_range("2012-01", "2015-12", freq="M")
SCORING = pd.period_range("2017-01", "2020-12", freq="M")
HORIZON = 12

CANDIDATES: tuple[Candidate, ...] = (
    Candidate("conflictology", "conflictology"),
    Candidate("ensemble", "ensemble"),
    Candidate("pooled mix=0.5 no tilt", "pooled_gbm", {"mix": 0.5, "tilt": False}),
    Candidate("pooled mix=0.75 no tilt", "pooled_gbm", {"mix": 0.75, "tilt": False}),
    Candidate("pooled mix=0.5 trust=0.5", "pooled_gbm", {"mix": 0.5, "trust": 0.5}),
    Candidate(
        "pooled mix=0.5 trust=0.5 uncal.",
        "pooled_gbm",
        {"mix": 0.5, "trust": 0.5, "calibration": "none"},
    ),
    Candidate("pooled mix=0.5 trust=1", "pooled_gbm", {"mix": 0.5, "trust": 1.0}),
    Candidate(
        "pooled+ensemble mix=0.25 no tilt",
        "pooled_gbm",
        {"mix": 0.25, "tilt": False, "base": "ensemble"},
    ),
    Candidate(
        "pooled+ensemble mix=0.25 trust=0.5 uncal.",
        "pooled_gbm",
        {"mix": 0.25, "trust": 0.5, "calibration": "none", "base": "ensemble"},
    ),
)
"""What selection may choose from (``ensemble`` is today's default)."""

TARGETS = {
    "brier_ratio": ("≤", 0.85),
    "brier_skill": ("≥", 0.15),
    "reliability_gap": ("≤", 0.05),
    "crps_log_ratio": ("≤", 0.93),
    "coverage_90": ("in", (0.85, 0.95)),
}


def worst_reliability_gap(prob: np.ndarray, outcome: np.ndarray, min_cases: int = 30) -> float:
    """Largest |mean p − observed frequency| over the deciles of p with ≥ ``min_cases``."""
    table = metrics.reliability_table(prob, outcome, 10)
    table = table[table["n"] >= min_cases]
    return float((table["mean_p"] - table["observed_freq"]).abs().max())


def target_rows(result: NestedResult, panel: pd.DataFrame, alert_threshold: float):
    """One row per reported candidate with every target quantity."""
    from alerts.precision import precision_recall_table

    summary = result.scoring.summary().set_index("model")
    reference = summary.loc["conflictology"]
    alerts = precision_recall_table(
        result.scoring.forecasts, panel, thresholds=[alert_threshold]
    ).set_index("model")
    rows = []
    for model, row in summary.iterrows():
        scores = result.scoring.scores[result.scoring.scores["model"] == model]
        rows.append(
            {
                "model": model,
                "chosen": model == result.chosen.label,
                "selection_criterion": float(result.criteria.loc[model, "criterion"]),
                "n": int(row["n"]),
                "crps_log": row["crps_log"],
                "crps_log_ratio": row["crps_log"] / reference["crps_log"],
                "coverage_90": row["coverage_90"],
                "brier": row["brier"],
                "brier_ratio": row["brier"] / reference["brier"],
                "brier_skill": row["brier_skill"],
                "reliability_gap": worst_reliability_gap(
                    scores["p_escalation"].to_numpy(), scores["escalated"].to_numpy()
                ),
                "precision": alerts.loc[model, "precision"] if model in alerts.index else np.nan,
                "recall": alerts.loc[model, "recall"] if model in alerts.index else np.nan,
                "lead": alerts.loc[model, "mean_lead_months"] if model in alerts.index else np.nan,
            }
        )
    return pd.DataFrame(rows)


def met(value: float, rule: tuple[str, object]) -> bool:
    """Whether a value meets a target rule."""
    kind, bound = rule
    if kind == "≤":
        return bool(value <= bound)
    if kind == "≥":
        return bool(value >= bound)
    low, high = bound  # type: ignore[misc]
    return bool(low <= value <= high)


COLUMNS = (
    ("selection_criterion", "sel. crit.", "{:.3f}"),
    ("crps_log", "CRPS log1p", "{:.3f}"),
    ("crps_log_ratio", "÷ confl.", "{:.3f}"),
    ("coverage_90", "cov 90", "{:.3f}"),
    ("brier", "Brier", "{:.4f}"),
    ("brier_ratio", "÷ confl.", "{:.3f}"),
    ("brier_skill", "Brier skill", "{:+.3f}"),
    ("reliability_gap", "worst rel. gap", "{:.3f}"),
    ("precision", "alert prec.", "{:.2f}"),
    ("recall", "alert recall", "{:.2f}"),
    ("lead", "lead (months)", "{:.2f}"),
)


def markdown(rows: pd.DataFrame, title: str, seconds: float) -> str:
    """The table of one panel, then the target check of the chosen candidate."""
    header = "| model | n | " + " | ".join(label for _, label, _ in COLUMNS) + " |"
    lines = [f"#### {title}", "", header, "|" + "---|" * (len(COLUMNS) + 2)]
    for _, row in rows.iterrows():
        cells = ["–" if pd.isna(row[c]) else f.format(row[c]) for c, _, f in COLUMNS]
        name = f"**{row['model']}** (chosen)" if row["chosen"] else row["model"]
        lines.append(f"| {name} | {row['n']} | " + " | ".join(cells) + " |")
    chosen = rows[rows["chosen"]].iloc[0]
    checks = []
    for column, rule in TARGETS.items():
        kind, bound = rule
        shown = f"[{bound[0]}, {bound[1]}]" if kind == "in" else f"{kind} {bound}"  # type: ignore[index]
        verdict = "met" if met(chosen[column], rule) else "**not met**"
        checks.append(f"{column} {chosen[column]:.3f} (target {shown}): {verdict}")
    lines += ["", f"Chosen `{chosen['model']}`: " + "; ".join(checks) + f". ({seconds:.0f} s)"]
    return "\n".join(lines)


def run(datasets: list[str], n_draws: int, executor, progress: bool) -> list[str]:
    """Nested backtests of every dataset; the markdown sections."""
    from jobs.config import load_config

    threshold = load_config().alerts.threshold  # this script is an entry point
    panel = pooled_panel()
    registry = registry_or_none()
    acled = pd.Series(panel.loc[panel["source"] == "acled-admin2", "region"].unique())
    regions_of = {
        "mali": sorted(acled[acled.str.startswith("ML")]),
        "ucdp": sorted(panel.loc[panel["source"] == "ucdp-ged", "region"].unique()),
    }
    sections = []
    for name in datasets:
        start = time.perf_counter()
        result = nested_backtest(
            panel, registry, CANDIDATES, selection_origins=list(SELECTION),
            scoring_origins=list(SCORING), horizon=HORIZON, regions=regions_of[name],
            n_draws=n_draws, seed=0, executor=executor, progress=progress,
        )  # fmt: skip
        seconds = time.perf_counter() - start
        truth = panel[panel["region"].isin(regions_of[name])]
        rows = target_rows(result, truth, threshold)
        title = (
            f"{name}: {len(regions_of[name])} regions; selection origins 2012-01…2015-12, "
            f"scored origins 2017-01…2020-12 monthly, h 1-12"
        )
        table = markdown(rows, title, seconds)
        print(table, "\n", flush=True)
        sections.append(table)
    return sections
