"""Artifacts of a run: fan charts of the top regions, the reliability plot, the feature list.

Kept apart from :mod:`experiments.runs` (which decides *what* a run records) so the files a
run carries can be read and changed in one place. Plotting itself lives in
:mod:`reports.plots`.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pandas as pd

from features.build import build_features
from reports.plots import fan_chart
from riskcast.months import format_month

log = logging.getLogger(__name__)


def _month_text(value: Any) -> str:
    return format_month(value) if isinstance(value, pd.Period) else str(value)


def config_dump(value: Any) -> Any:
    """A config object (pydantic model or dataclass) as JSON-able data, for params and files."""
    if value is None:
        return None
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if hasattr(value, "__dataclass_fields__"):
        from dataclasses import asdict

        return asdict(value)
    return value


def feature_list(
    panel: pd.DataFrame, registry: Any, feature_config: Any, *, series: str, origin: pd.Period
) -> list[str]:
    """The feature columns the feature set yields at ``origin`` (empty when unavailable)."""
    try:
        frame = build_features(
            panel[panel["month"] <= origin],
            registry,
            feature_config,
            target=series,
            origins=[origin],
        )
    except Exception as exc:  # noqa: BLE001 - the list is documentation, never worth a failed run
        log.warning("could not list features at %s: %s", origin, exc)
        return []
    return [c for c in frame.columns if c not in ("region", "origin")]


def top_regions(frame: pd.DataFrame, n: int) -> list[str]:
    """Regions with the highest predicted risk (then mean) — the ones people look at first."""
    if n <= 0 or frame.empty:
        return []
    ranked = frame.groupby("region").agg(
        risk=("p_escalation", "max") if "p_escalation" in frame else ("mean", "max"),
        level=("mean", "mean"),
    )
    ranked = ranked.fillna(0.0).sort_values(["risk", "level"], ascending=False)
    return list(ranked.index[:n])


def write_fan_charts(
    folder: Path,
    frame: pd.DataFrame,
    panel: pd.DataFrame,
    *,
    series: str,
    n_regions: int,
    label: str,
    with_truth: bool = False,
) -> list[str]:
    """One fan chart per top region of ``frame`` (a single origin), into ``folder``.

    With ``with_truth`` (backtests) the months after the origin that the panel holds are drawn
    over the fan, so the picture shows where the truth fell.
    """
    regions = top_regions(frame, n_regions)
    history = panel[panel["series"] == series]
    written = []
    for region in regions:
        rows = frame[frame["region"] == region]
        origin = str(rows["origin"].iloc[0])
        observed = history[history["region"] == region]
        months = observed["month"].map(_month_text)
        values = pd.Series(
            observed["value"].to_numpy(dtype=float), index=pd.PeriodIndex(observed["month"])
        )
        before = (months <= origin).to_numpy()
        safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in region)
        fan_chart(
            values[before],
            rows,
            folder / f"{safe}.png",
            title=f"{region} {series} — {label}, origin {origin}",
            actual=values[~before & months.isin(set(rows["month"])).to_numpy()]
            if with_truth
            else None,
        )
        written.append(region)
    return written


def reliability_table_of(model_scores: pd.DataFrame) -> pd.DataFrame | None:
    """Reliability bins (``predicted``, ``observed``, ``count``) of one model's escalation
    probabilities, from ``forecast.metrics.reliability_table``; None when scores lack them."""
    prob = next((c for c in ("p_escalation", "prob") if c in model_scores), None)
    event = next(
        (c for c in ("escalated", "escalation", "event", "outcome") if c in model_scores), None
    )
    if prob is None or event is None or model_scores.empty:
        return None
    from forecast.metrics import reliability_table

    table = reliability_table(
        model_scores[prob].to_numpy(dtype=float), model_scores[event].to_numpy(dtype=float)
    )
    return table.rename(columns={"mean_p": "predicted", "observed_freq": "observed", "n": "count"})


def write_features(
    folder: Path, feature_config: Any, feature_hash: str | None, features: list[str]
) -> None:
    payload = {
        "feature_set_hash": feature_hash,
        "config": config_dump(feature_config),
        "columns": features,
    }
    (folder / "features.json").write_text(json.dumps(payload, default=str, indent=1))
