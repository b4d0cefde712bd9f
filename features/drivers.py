"""What moved the forecast: only the inputs of the model that made it.

An analyst reads "drivers" as causes, so the bulletin lists nothing the producing model did
not use. The protocol is small and optional, and duck-typed so any model can join it:

* A model with inputs implements ``forecast_inputs() -> Sequence[str]`` (the names of every
  input it reads) and ``contributions() -> Mapping[region, Sequence[(input, contribution)]]``
  (each input's contribution to that region's forecast on the model's own scale, e.g.
  coefficient × standardised feature for a GLM, or tree contributions). Every listed input
  must be one of ``forecast_inputs()``; :func:`model_drivers` refuses anything else.
* A history-only model (it reads nothing but the region's own past of the series) says so
  with ``history_only = True`` — or is one of :data:`HISTORY_ONLY_MODELS`, or an ensemble
  whose members all are. Its forecast follows the region's recent history, and the bulletin
  says exactly that with the facts it rests on: the last 12 months' mean and maximum.
* Any other model gets a plain "this model does not report what moved its forecast".

Nothing here imports ``forecast/``: features sit to its left in the data flow.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

import pandas as pd

HISTORY_ONLY_MODELS: frozenset[str] = frozenset(
    {"zero", "no_change", "conflictology", "poisson_mean", "sarimax", "ets"}
)
"""Models that read only the region's own series (their docstrings in forecast/models)."""

FACT_MONTHS = 12
"""Months of history the facts of a history-only forecast summarise."""


@runtime_checkable
class ExplainsForecast(Protocol):
    """The optional protocol of a model that can say what moved its forecast."""

    def forecast_inputs(self) -> Sequence[str]:
        """Names of every input the fitted model reads."""
        ...

    def contributions(self) -> Mapping[str, Sequence[tuple[str, float]]]:
        """Region → ``[(input, contribution), …]``, largest magnitude first."""
        ...


DriverKind = Literal["contributions", "history", "unreported"]


@dataclass(frozen=True)
class RegionDrivers:
    """What moved one region's forecast.

    Attributes:
        kind: ``contributions`` (inputs with their contribution), ``history`` (the model
            follows the region's own history) or ``unreported``.
        items: ``[(label, value), …]`` shown to the analyst; for ``contributions`` each
            label is an input name of the model.
        inputs: the model inputs the items rest on (for ``history``: the series itself).
        text: one sentence for people.
    """

    kind: DriverKind
    items: tuple[tuple[str, float], ...] = ()
    inputs: tuple[str, ...] = ()
    text: str = ""

    def to_json(self) -> dict[str, Any]:
        """Plain JSON (stored with the risk row, read by the bulletin)."""
        return {
            "kind": self.kind,
            "items": [[label, value] for label, value in self.items],
            "inputs": list(self.inputs),
            "text": self.text,
        }


@dataclass
class ModelDrivers:
    """The drivers of one fitted model, per region, and the inputs they may name."""

    model_inputs: tuple[str, ...]
    regions: dict[str, RegionDrivers] = field(default_factory=dict)


def is_history_only(model: Any) -> bool:
    """Whether a fitted model reads nothing but each region's own series."""
    declared = getattr(model, "history_only", None)
    if declared is not None:
        return bool(declared)
    members = getattr(model, "models", None)
    if getattr(model, "name", None) == "ensemble" and members:
        return all(is_history_only(member) for member in members)
    return getattr(model, "name", None) in HISTORY_ONLY_MODELS


def history_input(series: str) -> str:
    """The single input of a history-only model of ``series``."""
    return f"{series} (the region's own history)"


def history_facts(
    panel: pd.DataFrame, series: str, origins: Mapping[str, pd.Period]
) -> dict[str, tuple[tuple[str, float], ...]]:
    """Per region: mean, max and months reported of its last 12 months up to its origin.

    One pass over the panel for every region (a watch list may hold thousands).
    """
    rows = panel.loc[
        (panel["series"] == series) & panel["region"].isin(list(origins)),
        ["region", "month", "value"],
    ].dropna(subset=["value"])
    if rows.empty:
        return {}
    month = rows["month"].astype("period[M]").array.asi8
    end = rows["region"].map({r: o.ordinal for r, o in origins.items()}).to_numpy()
    window = rows[(month <= end) & (month > end - FACT_MONTHS)]
    stats = window.groupby("region")["value"].agg(["mean", "max", "count"])
    label = series.replace("_", " ")
    return {
        str(region): (
            (f"mean {label} a month, last {FACT_MONTHS} months", float(row["mean"])),
            (f"highest month, last {FACT_MONTHS} months", float(row["max"])),
            (f"months reported of the last {FACT_MONTHS}", float(row["count"])),
        )
        for region, row in stats.iterrows()
    }


def model_drivers(
    model: Any,
    panel: pd.DataFrame,
    *,
    series: str,
    origins: Mapping[str, pd.Period],
    top: int = 5,
) -> ModelDrivers:
    """What moved each region's forecast, from the model that made it.

    Args:
        model: the fitted model instance.
        panel: the long panel (only months ≤ each region's origin are read).
        series: the series forecast.
        origins: region → its forecast origin (the regions to describe).
        top: most contributions listed per region.

    Raises:
        ValueError: when a model's contributions name an input it does not declare — the
            bulletin would present as a driver something the model never read.
    """
    name = getattr(model, "name", type(model).__name__)
    if isinstance(model, ExplainsForecast):
        inputs = tuple(str(i) for i in model.forecast_inputs())
        found = model.contributions()
        out = ModelDrivers(inputs)
        for region in origins:
            if region not in found:  # e.g. a quiet region the model drew another way
                out.regions[region] = RegionDrivers(
                    "unreported", text=f"{name} reports no contributions for this region"
                )
                continue
            ranked = sorted(found[region], key=lambda item: -abs(float(item[1])))[:top]
            stray = [label for label, _ in ranked if label not in inputs]
            if stray:
                raise ValueError(f"model {name} lists {stray} as drivers but has no such input")
            items = tuple((str(label), float(value)) for label, value in ranked)
            out.regions[region] = RegionDrivers(
                "contributions",
                items,
                tuple(label for label, _ in items),
                f"what moved the {name} forecast most: its inputs' contributions",
            )
        return out
    if is_history_only(model):
        single = history_input(series)
        out = ModelDrivers((single,))
        facts = history_facts(panel, series, origins)
        for region in origins:
            out.regions[region] = RegionDrivers(
                "history",
                facts.get(region, ()),
                (single,),
                f"{name} reads only this region's own {series.replace('_', ' ')} history: "
                "the forecast follows its recent months",
            )
        return out
    out = ModelDrivers(())
    for region in origins:
        out.regions[region] = RegionDrivers(
            "unreported", text=f"{name} does not report what moved its forecast"
        )
    return out
