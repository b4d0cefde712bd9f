"""How good would the alerts have been? Precision and recall per threshold, on a backtest.

Every (model, region, series, origin) of a backtest is one *case*. The case's alert score is
the risk the alert rule would have read at that origin, and the case is a real *escalation*
when the observed value reached the escalation threshold in any of the next ``window``
months. For each candidate threshold τ an alert fires when score ≥ τ:

* hit — alert and escalation; false alarm — alert, no escalation; miss — escalation, no alert;
* precision = hits / alerts (how many alerts were right), recall = hits / escalations (how
  many escalations were warned of ahead of time), mean lead = months from the origin to the
  first exceedance, over hits.

The output contract carries one marginal probability per horizon, not the joint draws, so
the default score is the largest ``p_escalation`` over horizons 1…window — a lower bound on
the ``p_any_3`` the live rule reads (``score="union"`` gives 1 − Π(1 − p), which assumes
independent months and is an upper bound). A frame that already has a ``p_any_<window>``
column is read as is.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd

from riskcast.errors import InputError
from riskcast.months import format_month

DEFAULT_THRESHOLDS: tuple[float, ...] = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)

_FORECAST_COLUMNS = ("region", "series", "origin", "horizon", "month", "p_escalation", "threshold")


def alert_cases(
    forecasts: pd.DataFrame,
    truth: pd.DataFrame,
    *,
    window: int = 3,
    score: Literal["max", "union"] = "max",
) -> pd.DataFrame:
    """One row per backtest case: its alert score, whether it escalated, and the lead time.

    Args:
        forecasts: output contract frame (``region, series, origin, month, horizon,
            p_escalation, threshold``, optionally ``model``), months as ``YYYY-MM`` or Period.
        truth: observed values, a panel frame (``region, month, series, value``).
        window: months ahead an escalation counts for (3 matches ``p_any_3``).
        score: ``max`` (default) or ``union`` of the per-horizon probabilities.

    Returns:
        Columns ``model, region, series, origin, score, escalated, lead_months``; cases whose
        window is not fully observed yet are left out (they cannot be judged).

    Raises:
        InputError: naming the missing column.
    """
    for name, frame, needed in (
        ("forecasts", forecasts, _FORECAST_COLUMNS),
        ("truth", truth, ("region", "series", "month", "value")),
    ):
        missing = [c for c in needed if c not in frame.columns]
        if missing:
            raise InputError(f"{name} frame lacks column(s) {missing}", file=name, field=missing[0])
    frame = forecasts[forecasts["horizon"].between(1, window)].copy()
    if "model" not in frame.columns:
        frame["model"] = "model"
    frame["month"] = _month_text(frame["month"])
    frame["origin"] = _month_text(frame["origin"])
    observed = truth.assign(month=_month_text(truth["month"]))
    observed = observed.groupby(["region", "series", "month"], as_index=False)["value"].sum()
    frame = frame.merge(observed, on=["region", "series", "month"], how="left")
    keys = ["model", "region", "series", "origin"]
    frame["exceeded"] = frame["value"] >= frame["threshold"]
    frame["lead"] = np.where(frame["exceeded"], frame["horizon"], np.inf)
    p = frame["p_escalation"].clip(0.0, 1.0)
    frame["log_calm"] = np.log1p(-p.clip(upper=1 - 1e-12))
    grouped = frame.groupby(keys, sort=True)
    cases = grouped.agg(
        months=("horizon", "nunique"),
        observed=("value", "count"),
        p_max=("p_escalation", "max"),
        log_calm=("log_calm", "sum"),
        escalated=("exceeded", "any"),
        lead=("lead", "min"),
    ).reset_index()
    column = f"p_any_{window}"
    if column in forecasts.columns:
        given = forecasts.assign(origin=_month_text(forecasts["origin"]))
        if "model" not in given.columns:
            given = given.assign(model="model")
        given = given.groupby(keys)[column].first().rename("given").reset_index()
        cases = cases.merge(given, on=keys, how="left")
        cases["score"] = cases["given"]
    elif score == "union":
        cases["score"] = 1.0 - np.exp(cases["log_calm"])
    else:
        cases["score"] = cases["p_max"]
    complete = (cases["months"] == window) & (cases["observed"] == window)
    cases = cases[complete].copy()
    cases["lead_months"] = cases["lead"].where(cases["escalated"]).astype(float)
    return cases[[*keys, "score", "escalated", "lead_months"]].reset_index(drop=True)


def precision_recall_table(
    forecasts: pd.DataFrame,
    truth: pd.DataFrame,
    *,
    thresholds: Sequence[float] = DEFAULT_THRESHOLDS,
    window: int = 3,
    score: Literal["max", "union"] = "max",
) -> pd.DataFrame:
    """Precision and recall of the alert rule per threshold (and per model).

    Args:
        forecasts: backtest forecasts in the output contract (see :func:`alert_cases`).
        truth: observed panel.
        thresholds: alert thresholds to evaluate, probabilities in [0, 1].
        window: escalation window in months.
        score: how per-horizon probabilities combine (see :func:`alert_cases`).

    Returns:
        One row per model × threshold: ``model, threshold, cases, alerts, escalations, hits,
        false_alarms, misses, precision, recall, mean_lead_months``. Precision is NaN where no
        alert fired, recall NaN where nothing escalated (undefined, not zero).
    """
    if any(not 0.0 <= t <= 1.0 for t in thresholds):
        raise InputError(f"thresholds {list(thresholds)} must lie in [0, 1]", field="thresholds")
    cases = alert_cases(forecasts, truth, window=window, score=score)
    rows = []
    for model, group in cases.groupby("model", sort=True):
        scores = group["score"].to_numpy(dtype=float)
        escalated = group["escalated"].to_numpy(dtype=bool)
        leads = group["lead_months"].to_numpy(dtype=float)
        for threshold in sorted(thresholds):
            alert = scores >= threshold
            hits = int((alert & escalated).sum())
            n_alerts = int(alert.sum())
            n_events = int(escalated.sum())
            rows.append(
                {
                    "model": model,
                    "threshold": float(threshold),
                    "cases": len(group),
                    "alerts": n_alerts,
                    "escalations": n_events,
                    "hits": hits,
                    "false_alarms": n_alerts - hits,
                    "misses": n_events - hits,
                    "precision": hits / n_alerts if n_alerts else float("nan"),
                    "recall": hits / n_events if n_events else float("nan"),
                    "mean_lead_months": (
                        float(leads[alert & escalated].mean()) if hits else float("nan")
                    ),
                }
            )
    return pd.DataFrame(
        rows,
        columns=[
            "model",
            "threshold",
            "cases",
            "alerts",
            "escalations",
            "hits",
            "false_alarms",
            "misses",
            "precision",
            "recall",
            "mean_lead_months",
        ],
    )


def _month_text(column: pd.Series) -> pd.Series:
    """Months as ``YYYY-MM`` whether they arrive as Periods or strings."""
    if isinstance(column.dtype, pd.PeriodDtype):
        return column.map(format_month)
    return column.map(lambda m: format_month(m) if isinstance(m, pd.Period) else str(m))
