"""Data-quality flags: missing reports must never pass for peace.

Conflict data go quiet for reasons that have nothing to do with violence: a source stops
publishing, a region loses coverage, a backlog arrives as zeros. A model fed those zeros
forecasts calm and an alert would resolve. These checks flag such series so that
:func:`alerts.evaluate.evaluate_alerts` holds the alert instead of resolving it, and the
bulletin can show the flags next to the risk.

Two flags, per (region, series):

* ``silent`` — the newest observation is ``silent_months`` release steps or more behind
  the latest release of *its own source* (the newest month that source wrote anywhere,
  stepped by the source's cadence: the typical gap between its months). A source is never
  judged against another one: ACLED data ending in 2021-12 are up to date when ACLED's
  latest file ends there, however far AWSD runs.
* ``zero_after_gap`` — after a reporting gap of ``gap_months`` or more missing months, the
  series came back with nothing but zeros (within the last ``zero_lookback`` months) although
  it averaged at least ``min_level`` before the gap.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from alerts.rules import QualitySettings
from riskcast.errors import InputError
from riskcast.months import format_month

FlagKind = Literal["silent", "zero_after_gap"]

_PRE_GAP_MONTHS = 6


@dataclass(frozen=True)
class QualityFlag:
    """One data-quality problem of one region's series.

    Attributes:
        region: region id.
        series: panel series.
        kind: ``silent`` or ``zero_after_gap``.
        detail: a sentence for people (what was seen, which months).
        source: the source of the newest observation, when known.
        last_month: newest observed month, ``YYYY-MM``.
    """

    region: str
    series: str
    kind: FlagKind
    detail: str
    source: str | None = None
    last_month: str | None = None


def assess_data_quality(
    panel: pd.DataFrame,
    settings: QualitySettings | None = None,
    *,
    as_of: pd.Period | None = None,
    series: Iterable[str] | None = None,
    regions: Iterable[str] | None = None,
) -> list[QualityFlag]:
    """Flag silent series and zeros after a reporting gap.

    Args:
        panel: panel frame (``region, month, series, value, source``; month a Period[M]).
        settings: thresholds (``[alerts.quality]``); defaults when None.
        as_of: reference month for every series; default each source's own latest release
            (see the module docstring).
        series: only check these series (default all).
        regions: only check these regions (the watch list; default all).

    Returns:
        Flags sorted by region, series and kind; empty when the data look sound.

    Raises:
        InputError: when the panel lacks a required column.
    """
    settings = settings or QualitySettings()
    missing = {"region", "month", "series", "value"} - set(panel.columns)
    if missing:
        raise InputError(
            f"panel lacks column(s) {sorted(missing)} needed for data-quality checks",
            file="panel",
            field=sorted(missing)[0],
        )
    frame = panel
    if series is not None:
        frame = frame[frame["series"].isin(list(series))]
    releases = source_releases(panel.dropna(subset=["value"]))
    if regions is not None:
        frame = frame[frame["region"].isin(list(regions))]
    frame = frame.dropna(subset=["value"])
    if frame.empty:
        return []
    months = frame["month"].astype("period[M]")
    ordinal = months.map(lambda p: p.ordinal).to_numpy()
    frame = frame.assign(_ord=ordinal).sort_values(["region", "series", "_ord"])
    flags: list[QualityFlag] = []
    for (region, name), group in frame.groupby(["region", "series"], sort=True):
        source = str(group["source"].iloc[-1]) if "source" in group.columns else None
        if as_of is not None:
            reference, step = as_of.asfreq("M"), 1
        elif source in releases:
            reference, step = releases[source]
        else:
            reference, step = months.max(), 1
        flags.extend(_check_group(str(region), str(name), group, reference, settings, step))
    return flags


def source_releases(panel: pd.DataFrame) -> dict[str, tuple[pd.Period, int]]:
    """Source → (its latest release month, its cadence in months).

    The cadence is the most common gap between the distinct months a source wrote (1 for
    monthly data); a source with a single month counts as monthly.
    """
    if panel.empty or "source" not in panel.columns:
        return {}
    out: dict[str, tuple[pd.Period, int]] = {}
    months = panel["month"].astype("period[M]").map(lambda p: p.ordinal)
    for source, ords in months.groupby(panel["source"].astype(str), sort=True):
        distinct = np.unique(ords.to_numpy())
        gaps = np.diff(distinct)
        step = int(pd.Series(gaps).mode().min()) if gaps.size else 1
        out[source] = (pd.Period(ordinal=int(distinct[-1]), freq="M"), max(step, 1))
    return out


def _check_group(
    region: str,
    series: str,
    group: pd.DataFrame,
    reference: pd.Period,
    settings: QualitySettings,
    step: int = 1,
) -> list[QualityFlag]:
    ords = group["_ord"].to_numpy()
    values = group["value"].to_numpy(dtype=float)
    last = pd.Period(ordinal=int(ords[-1]), freq="M")
    source = str(group["source"].iloc[-1]) if "source" in group.columns else None
    flags: list[QualityFlag] = []
    behind = reference.ordinal - int(ords[-1])
    if behind >= settings.silent_months * step:
        flags.append(
            QualityFlag(
                region,
                series,
                "silent",
                f"no data since {format_month(last)}: {behind} months behind its source's "
                f"latest month, {format_month(reference)}",
                source,
                format_month(last),
            )
        )
    missing_runs = np.diff(ords) - 1
    gaps = np.flatnonzero(missing_runs >= settings.gap_months)
    if gaps.size:
        at = int(gaps[-1])  # the most recent gap: ords[at] … ords[at + 1]
        resumed = pd.Period(ordinal=int(ords[at + 1]), freq="M")
        after = values[at + 1 :]
        before = values[max(0, at + 1 - _PRE_GAP_MONTHS) : at + 1]
        recent = reference.ordinal - resumed.ordinal < settings.zero_lookback
        if recent and np.all(after == 0) and before.mean() >= settings.min_level:
            flags.append(
                QualityFlag(
                    region,
                    series,
                    "zero_after_gap",
                    f"{int(missing_runs[at])} months missing before {format_month(resumed)}, "
                    f"then only zeros (mean {before.mean():.1f} before the gap)",
                    source,
                    format_month(last),
                )
            )
    return flags


def flags_by_region(flags: Iterable[QualityFlag]) -> dict[str, str]:
    """Region → one sentence joining every flag of that region, for the state machine.

    Keyed by region, not by series, on purpose: the models read the other series as
    regressors, so a silent aid-diversion source can bias the fatalities risk too.
    """
    joined: dict[str, list[str]] = {}
    for flag in flags:
        joined.setdefault(flag.region, []).append(f"{flag.series} {flag.kind}: {flag.detail}")
    return {region: "; ".join(parts) for region, parts in joined.items()}
