"""The weekly bulletin: one self-contained HTML page analysts read (and print).

What is on it, top to bottom: a plain note when the data are the synthetic demo; then one
section per series (fatalities, aid diversion, peacekeeper casualties …), each with its
escalation rule and origin, a tile map of the watch list coloured by tier, the regions
ranked by escalation risk with tier, week-on-week change and the probability per horizon,
its alerts, and a card per region with the fan chart, the escalation probability per
horizon and what moved the forecast (only inputs of the model that made it); then the
data-quality flags grouped by source (collapsed), data freshness per source judged against
its own latest release, the latest ingests, how often alerts were right on the backtest,
and which model and MLflow runs produced it.

Everything is inline (CSS, SVG charts): the page opens from a file, an e-mail attachment or
``GET /bulletin`` with no network, and prints on A4/Letter. :func:`render_bulletin` only
draws what the :class:`BulletinContext` holds; the caller (the weekly job) gathers it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime
from html import escape
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from reports.bulletin_charts import fan_chart_svg, probability_bars_svg
from reports.tilemap import tile_layout, tile_map_svg
from riskcast.errors import InputError
from riskcast.months import format_month

TEMPLATES = Path(__file__).resolve().parent / "templates"

TIER_STYLE: dict[str, tuple[str, str]] = {
    "critical": ("#8b0000", "#ffffff"),
    "high": ("#d9480f", "#ffffff"),
    "elevated": ("#f2c14e", "#2b2100"),
    "low": ("#dfe9dc", "#1e3a1e"),
}
"""tier → (background, text colour); unknown tiers are drawn grey."""

_FAN_QUANTILES = ("q0.05", "q0.25", "q0.50", "q0.75", "q0.95")


@dataclass
class SeriesSection:
    """One more series on the page (the context's own fields are the first series).

    Attributes mean what the :class:`BulletinContext` attributes of the same name mean.
    """

    series: str
    forecast: pd.DataFrame
    risk: pd.DataFrame
    model: str
    run_id: str | None = None
    drivers: Mapping[str, Any] = field(default_factory=dict)
    model_notes: Mapping[str, str] = field(default_factory=dict)
    previous_risk: pd.DataFrame | None = None
    precision: pd.DataFrame | None = None
    rule: str = ""


@dataclass
class BulletinContext:
    """Everything one bulletin shows. Frames follow the project's contracts.

    Attributes:
        forecast: output-contract rows (``region, series, origin, month, horizon, model,
            mean, q0.05 … q0.95, p_escalation, threshold``) of one refit.
        history: panel frame (``region, month, series, value, source``); the months up to
            the origin are drawn, gaps left as gaps.
        risk: risk table (``forecast.risk.risk_table`` or the API's latest risk): ``region``,
            ``p_any_3``, ``tier``; optional ``change`` (probability points since the previous
            refit) and ``previous_tier``.
        model: name of the model that produced the forecast.
        run_id: MLflow run id of the refit.
        is_synthetic: the data are the synthetic demo panel: a prominent note says so.
        generated_at: when the bulletin was made (UTC).
        series: the series forecast (``fatalities``).
        previous_risk: the previous refit's risk table, used for the week-on-week change
            when ``risk`` has no ``change`` column.
        drivers: region → what moved its forecast: a ``features.drivers.RegionDrivers``
            JSON dict (``kind``, ``items``, ``text``), or ``[(model input, value), …]``.
        freshness: the ingest log (``Store.ingests()``); newest ingests are listed.
        alerts: current alerts (``alerts.state.list_alerts`` rows) or transitions.
        quality_flags: ``alerts.quality.QualityFlag`` objects (or dicts with the same keys),
            of the watch list only: grouped by source on the page, collapsed.
        precision: ``alerts.precision.precision_recall_table`` of the latest backtest.
        alert_threshold: the configured firing threshold (highlighted in ``precision``).
        alert_measure: the risk measure alerts read.
        region_names: region id → display name.
        model_notes: region → note when the model fell back or was unusual.
        history_months: months of history in each fan chart.
        max_charts: region cards drawn (highest risk first); the table lists every region.
        mlflow_url: link to the MLflow run, when the UI is reachable.
        title: page title.
        rule: the escalation rule of ``series`` in words.
        more_sections: the other series, in page order.
        scope_note: how the watch list was chosen.
        neighbours: region → neighbours, for the tile map.
        releases: source → (its latest month ``YYYY-MM``, cadence in months), from the
            whole store; freshness is judged against it (default: from ``history``).
    """

    forecast: pd.DataFrame
    history: pd.DataFrame
    risk: pd.DataFrame
    model: str
    run_id: str | None = None
    is_synthetic: bool = False
    generated_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    series: str = "fatalities"
    previous_risk: pd.DataFrame | None = None
    drivers: Mapping[str, Sequence[tuple[str, float]]] = field(default_factory=dict)
    freshness: pd.DataFrame | None = None
    alerts: Sequence[Any] = ()
    quality_flags: Sequence[Any] = ()
    precision: pd.DataFrame | None = None
    alert_threshold: float | None = None
    alert_measure: str = "p_any_3"
    region_names: Mapping[str, str] = field(default_factory=dict)
    model_notes: Mapping[str, str] = field(default_factory=dict)
    history_months: int = 24
    max_charts: int = 30
    mlflow_url: str | None = None
    title: str = "Conflict escalation risk — weekly bulletin"
    rule: str = ""
    more_sections: Sequence[SeriesSection] = ()
    scope_note: str = ""
    neighbours: Mapping[str, Sequence[str]] = field(default_factory=dict)
    releases: Mapping[str, tuple[str, int]] = field(default_factory=dict)


def render_bulletin(context: BulletinContext) -> str:
    """The bulletin as one HTML string (UTF-8, no external resources).

    Raises:
        InputError: when the risk table or the forecast lacks a column the page needs.
    """
    view = _view(context)
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return environment.get_template("bulletin.html.j2").render(**view)


def write_bulletin(context: BulletinContext, path: str | Path) -> Path:
    """Render and write the bulletin atomically (a reader never sees half a page).

    Returns:
        The path written.
    """
    return write_html(render_bulletin(context), path)


def write_html(html: str, path: str | Path) -> Path:
    """Write a rendered page atomically (a reader never sees half a page)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    partial.write_text(html, encoding="utf-8")
    partial.replace(target)
    return target


# --- building the view ---------------------------------------------------------------------


def _require(frame: pd.DataFrame, columns: Sequence[str], name: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InputError(f"{name} lacks column(s) {missing}", file=name, field=missing[0])


def _month_text(value: Any) -> str:
    return format_month(value) if isinstance(value, pd.Period) else str(value)


def _finite(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def probability_colour(p: float) -> str:
    """A warm ramp for probabilities: pale sand at 0, orange at 0.5, dark red at 1."""
    stops = ((0.0, (247, 240, 228)), (0.5, (226, 110, 40)), (1.0, (128, 0, 0)))
    p = min(max(float(p), 0.0), 1.0)
    for (p0, c0), (p1, c1) in zip(stops, stops[1:], strict=False):
        if p <= p1:
            t = (p - p0) / (p1 - p0)
            r, g, b = (round(a + (b - a) * t) for a, b in zip(c0, c1, strict=True))
            return f"#{r:02x}{g:02x}{b:02x}"
    return "#800000"  # pragma: no cover


def _strip_svg(probabilities: Sequence[float], months: Sequence[str], region: str) -> str:
    """A one-line heat strip of P(escalation) per horizon for the ranking table."""
    cell, height = 11, 16
    width = cell * max(len(probabilities), 1)
    region = escape(region)  # a user-supplied id: never markup
    cells = []
    for i, p in enumerate(probabilities):
        month = escape(months[i]) if i < len(months) else ""
        cells.append(
            f'<rect x="{i * cell}" y="0" width="{cell - 1}" height="{height}" '
            f'fill="{probability_colour(p)}"><title>{region} h{i + 1} {month}: '
            f"{p:.0%}</title></rect>"
        )
    return (
        f'<svg class="chart strip" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" role="img" xmlns="http://www.w3.org/2000/svg">'
        f"<title>P(escalation) per month ahead, {region}</title>{''.join(cells)}</svg>"
    )


def _change(context: BulletinContext, risk: pd.DataFrame) -> dict[str, float | None]:
    if "change" in risk.columns:
        return {r: _finite(c) for r, c in zip(risk["region"], risk["change"], strict=True)}
    if context.previous_risk is None or "p_any_3" not in context.previous_risk.columns:
        return {}
    before = dict(
        zip(context.previous_risk["region"], context.previous_risk["p_any_3"], strict=True)
    )
    out: dict[str, float | None] = {}
    for region, p in zip(risk["region"], risk["p_any_3"], strict=True):
        old = _finite(before.get(region))
        out[region] = None if old is None or _finite(p) is None else float(p) - old
    return out


def _previous_tiers(context: BulletinContext, risk: pd.DataFrame) -> dict[str, str]:
    if "previous_tier" in risk.columns:
        return {r: t for r, t in zip(risk["region"], risk["previous_tier"], strict=True) if t}
    if context.previous_risk is not None and "tier" in context.previous_risk.columns:
        return dict(
            zip(context.previous_risk["region"], context.previous_risk["tier"], strict=True)
        )
    return {}


def _alert_rows(alerts: Sequence[Any]) -> list[dict[str, Any]]:
    rows = []
    for alert in alerts:
        item = alert if isinstance(alert, Mapping) else vars(alert)
        state = item.get("state") or item.get("to_state")
        if state in (None, "inactive"):
            continue
        since = item.get("starts_at") or item.get("updated_at") or item.get("at")
        rows.append(
            {
                "region": item.get("region"),
                "series": item.get("series"),
                "state": state,
                "value": _finite(item.get("value")),
                "threshold": _finite(item.get("threshold")),
                "resolve_below": _finite(item.get("resolve_below")),
                "since": _when(since),
                "note": item.get("note") or "",
            }
        )
    order = {"firing": 0, "pending": 1, "resolved": 2}
    rows.sort(key=lambda r: (order.get(r["state"], 3), -(r["value"] or 0.0)))
    return rows


def _when(moment: Any) -> str:
    if moment is None:
        return ""
    if isinstance(moment, datetime):
        moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return str(moment).replace("T", " ").replace("Z", " UTC")


def _flag_rows(flags: Sequence[Any]) -> list[dict[str, str]]:
    rows = []
    for flag in flags:
        item = flag if isinstance(flag, Mapping) else vars(flag)
        rows.append(
            {
                "region": str(item.get("region", "")),
                "series": str(item.get("series", "")),
                "kind": str(item.get("kind", "")).replace("_", " "),
                "detail": str(item.get("detail", "")),
                "source": str(item.get("source") or ""),
            }
        )
    return rows


def _flag_groups(flags: Sequence[Any]) -> list[dict[str, Any]]:
    """Flags grouped by source (one group per source), largest group first."""
    groups: dict[str, list[dict[str, str]]] = {}
    for row in _flag_rows(flags):
        groups.setdefault(row["source"] or "unknown source", []).append(row)
    out = [
        {
            "source": source,
            "rows": rows,
            "regions": len({r["region"] for r in rows}),
            "kinds": ", ".join(sorted({r["kind"] for r in rows})),
        }
        for source, rows in groups.items()
    ]
    out.sort(key=lambda g: (-len(g["rows"]), g["source"]))
    return out


def _source_freshness(
    history: pd.DataFrame, releases: Mapping[str, tuple[str, int]]
) -> list[dict[str, Any]]:
    """Per source: its span in the watch list, its own latest release and cadence, and how
    many of the watch list's region series stop before that release (never another
    source's months)."""
    if history.empty or "source" not in history.columns:
        return []
    months = history["month"].map(lambda m: pd.Period(m, freq="M"))
    frame = history.assign(_month=months)
    rows = []
    for source, group in frame.groupby("source", sort=True):
        own_last = group["_month"].max()
        latest, cadence = releases.get(str(source), (format_month(own_last), 1))
        release = pd.Period(latest, freq="M")
        ends = group.groupby(["region", "series"])["_month"].max()
        behind = ends[ends < release]
        rows.append(
            {
                "source": source,
                "first": format_month(group["_month"].min()),
                "last": format_month(own_last),
                "release": latest,
                "cadence": "monthly" if cadence == 1 else f"every {cadence} months",
                "behind": int(len(behind)),
                "oldest": format_month(behind.min()) if len(behind) else "",
                "regions": int(group["region"].nunique()),
                "series": ", ".join(sorted(group["series"].unique())),
            }
        )
    rows.sort(key=lambda r: (-r["behind"], r["source"]))
    return rows


def _pick(frame: pd.DataFrame, names: Sequence[str]) -> str | None:
    return next((name for name in names if name in frame.columns), None)


def _ingest_rows(ingests: pd.DataFrame | None, limit: int = 8) -> list[dict[str, str]]:
    """The newest entries of the ingest log, whatever exact column names it uses."""
    if ingests is None or ingests.empty:
        return []
    when = _pick(ingests, ("ingested_at", "created_at", "at", "loaded_at", "timestamp", "time"))
    frame = ingests.sort_values(when, ascending=False) if when else ingests.iloc[::-1]
    file_col = _pick(frame, ("file", "path", "file_name", "filename"))
    kind_col = _pick(frame, ("kind", "source_kind", "source"))
    rows_col = _pick(frame, ("rows_added", "added", "inserted", "rows", "n_rows"))
    span_cols = (
        _pick(frame, ("first_month", "min_month")),
        _pick(frame, ("last_month", "max_month")),
    )
    out = []
    for _, row in frame.head(limit).iterrows():
        span = " – ".join(str(row[c]) for c in span_cols if c and pd.notna(row[c]))
        out.append(
            {
                "when": _when(row[when]) if when else "",
                "file": Path(str(row[file_col])).name if file_col else "",
                "kind": str(row[kind_col]) if kind_col else "",
                "rows": "" if not rows_col or pd.isna(row[rows_col]) else f"{row[rows_col]:,}",
                "span": span,
            }
        )
    return out


def _precision_rows(context: BulletinContext) -> tuple[list[dict[str, Any]], str | None]:
    table = context.precision
    if table is None or table.empty:
        return [], None
    model = None
    if "model" in table.columns:
        models = list(dict.fromkeys(table["model"]))
        model = context.model if context.model in models else models[0]
        table = table[table["model"] == model]
    thresholds = table["threshold"].to_numpy(dtype=float)
    chosen = None
    if context.alert_threshold is not None and len(thresholds):
        chosen = float(thresholds[np.argmin(np.abs(thresholds - context.alert_threshold))])
    rows = []
    for row in table.sort_values("threshold").itertuples(index=False):
        rows.append(
            {
                "threshold": float(row.threshold),
                "alerts": int(row.alerts),
                "hits": int(row.hits),
                "false_alarms": int(row.false_alarms),
                "misses": int(row.misses),
                "precision": _finite(row.precision),
                "recall": _finite(row.recall),
                "lead": _finite(getattr(row, "mean_lead_months", None)),
                "chosen": chosen is not None and float(row.threshold) == chosen,
            }
        )
    return rows, model


def _tier_order(counts: Mapping[str, int]) -> list[str]:
    """Known tiers from most to least severe, then any others alphabetically."""
    known = [tier for tier in TIER_STYLE if tier in counts]
    return known + sorted(tier for tier in counts if tier not in TIER_STYLE)


def _observed_window(
    context: BulletinContext, origin: str | None
) -> tuple[pd.PeriodIndex, pd.DataFrame]:
    """The months drawn before the origin and the observed values there (months × regions).

    Missing months stay NaN so the charts show reporting gaps as gaps, not as zeros.
    """
    history = context.history
    target = history[history["series"] == context.series] if len(history) else history
    if origin:
        end = pd.Period(origin, freq="M")
    elif len(target):
        end = pd.Period(target["month"].max(), freq="M")
    else:
        end = pd.Period(datetime.now(UTC).strftime("%Y-%m"), freq="M")
    window = pd.period_range(end - (context.history_months - 1), end, freq="M")
    if not len(target):
        return window, pd.DataFrame(index=window)
    wide = target.assign(month=target["month"].map(lambda m: pd.Period(m, freq="M")))
    wide = wide.pivot_table(index="month", columns="region", values="value", aggfunc="sum")
    return window, wide.reindex(window)


def _charts(
    context: BulletinContext,
    label: str,
    rows: pd.DataFrame,
    window: pd.PeriodIndex,
    observed: np.ndarray,
    threshold: float | None,
) -> tuple[str, str]:
    """The fan chart and the probability bars of one region."""
    months = rows["month"].tolist()
    fan = fan_chart_svg(
        [format_month(m) for m in window],
        observed,
        months,
        {q: rows[q].to_numpy(dtype=float) for q in _FAN_QUANTILES},
        threshold=threshold,
        title=f"{context.series} in {label}: last {context.history_months} months "
        f"and {len(months)}-month forecast",
    )
    bars = probability_bars_svg(
        rows["p_escalation"].fillna(0.0).tolist(),
        months=months,
        title=f"P(escalation) per month ahead, {label}",
        # Lift the floor of the ramp so a 5% bar is still visible on white.
        colour_of=lambda p: probability_colour(0.3 + 0.7 * p),
    )
    return fan, bars


def _region_entries(
    context: BulletinContext, risk: pd.DataFrame, forecast: pd.DataFrame, origin: str | None
) -> list[dict[str, Any]]:
    """One entry per region of the risk table, ranked, with what the table and card show."""
    window, wide = _observed_window(context, origin)
    changes = _change(context, risk)
    previous_tiers = _previous_tiers(context, risk)
    alert_state = {
        row["region"]: row["state"]
        for row in _alert_rows(context.alerts)
        if row["series"] in (None, context.series) and row["state"] != "resolved"
    }
    flagged = {
        row["region"]
        for row in _flag_rows(context.quality_flags)
        if row["series"] in ("", context.series)
    }
    by_region = dict(list(forecast.groupby("region", sort=False)))
    entries = []
    for rank, row in enumerate(risk.itertuples(index=False), start=1):
        region = str(row.region)
        rows = by_region.get(region)
        if rows is not None:
            p_h = rows["p_escalation"].fillna(0.0).tolist()
            months = rows["month"].tolist()
            threshold = _finite(rows["threshold"].iloc[0]) if "threshold" in rows else None
        else:  # region in the risk table without forecast rows: use the risk table alone
            p_h = [float(getattr(row, c)) for c in risk.columns if c.startswith("p_h")]
            months = []
            threshold = _finite(getattr(row, "threshold", None))
        name = context.region_names.get(region, "")
        name = name if name and name != region else ""
        background, text = TIER_STYLE.get(str(row.tier), ("#e0e0e0", "#222222"))
        observed = (
            wide[region].to_numpy(dtype=float) if region in wide else np.full(len(window), np.nan)
        )
        chart = bars = None
        # a region at 0% with nothing but zeros in the window gets a table row, not a card
        quiet = float(row.p_any_3) < 0.005 and not np.nan_to_num(observed).any()
        if rank <= context.max_charts and rows is not None and not quiet:
            label = f"{name} ({region})" if name else region
            chart, bars = _charts(context, label, rows, window, observed, threshold)
        entries.append(
            {
                "rank": rank,
                "id": region,
                "name": name,
                "p_any_3": float(row.p_any_3),
                "tier": str(row.tier),
                "tier_bg": background,
                "tier_fg": text,
                "previous_tier": previous_tiers.get(region),
                "change": changes.get(region),
                "threshold": threshold,
                "next_median": _finite(rows["q0.50"].iloc[0]) if rows is not None else None,
                "last_observed": _finite(observed[-1]) if len(observed) else None,
                "alert": alert_state.get(region),
                "flagged": region in flagged,
                "strip": _strip_svg(p_h, months, region),
                "drivers": _drivers_view(context.drivers.get(region)),
                "origin": str(getattr(row, "origin", "") or ""),
                "note": context.model_notes.get(region, ""),
                "chart": chart,
                "bars": bars,
            }
        )
    return entries


def _drivers_view(found: Any) -> dict[str, Any] | None:
    """What moved one region's forecast, as the card shows it (None when nothing is known)."""
    if not found:
        return None
    if isinstance(found, Mapping):
        items = [(str(label), _finite(value)) for label, value in found.get("items", [])]
        return {"kind": str(found.get("kind", "")), "entries": items[:6], "text": found.get("text")}
    items = [(str(label), _finite(value)) for label, value in found][:6]
    return {"kind": "contributions", "entries": items, "text": ""}


def _tile_map(context: BulletinContext, regions: list[dict[str, Any]]) -> str:
    """The section's tile map: the ranked regions coloured by tier."""
    ids = [r["id"] for r in regions]
    layout = tile_layout(ids, context.neighbours)
    fills = {r["id"]: (r["tier_bg"], r["tier_fg"]) for r in regions}
    labels = {r["id"]: r["name"] or r["id"] for r in regions}
    titles = {
        r["id"]: f"{r['name'] or r['id']} ({r['id']}): {r['tier']}, {r['p_any_3']:.0%}"
        for r in regions
    }
    caption = f"{context.series.replace('_', ' ')} escalation risk tier by region"
    return tile_map_svg(layout, fills, labels, titles, caption=caption)


def _view(context: BulletinContext) -> dict[str, Any]:
    """Everything the template needs, as plain values (the template does no computing)."""
    sections = [_section_view(context)]
    own = {f.name for f in fields(SeriesSection)}
    for more in context.more_sections:
        sections.append(_section_view(replace(context, **{k: getattr(more, k) for k in own})))
    first = sections[0]
    return {
        "title": context.title,
        "sections": sections,
        "origin": first["origin"],
        "horizon": first["horizon"],
        "run_id": context.run_id,
        "mlflow_url": context.mlflow_url,
        "is_synthetic": context.is_synthetic,
        "generated_at": _when(context.generated_at),
        "names": dict(context.region_names),
        "flag_groups": _flag_groups(context.quality_flags),
        "n_flags": len(context.quality_flags),
        "sources": _source_freshness(context.history, context.releases),
        "ingests": _ingest_rows(context.freshness),
        "alert_threshold": context.alert_threshold,
        "alert_measure": context.alert_measure,
        "history_months": context.history_months,
        "scope_note": context.scope_note,
        "legend_strip": _strip_svg([i / 10 for i in range(11)], [], "legend"),
    }


def _section_view(context: BulletinContext) -> dict[str, Any]:
    """One series' part of the page."""
    _require(context.risk, ("region", "p_any_3", "tier"), "risk table")
    _require(
        context.forecast,
        ("region", "month", "horizon", "p_escalation", *_FAN_QUANTILES),
        "forecast",
    )
    forecast = context.forecast
    if "series" in forecast.columns:
        forecast = forecast[forecast["series"] == context.series]
    forecast = forecast.assign(month=forecast["month"].map(_month_text)).sort_values(
        ["region", "horizon"]
    )
    risk = context.risk
    if "series" in risk.columns:
        risk = risk[risk["series"] == context.series]
    risk = risk.sort_values(["p_any_3", "region"], ascending=[False, True], ignore_index=True)
    origin = None  # most regions' origin; the others are listed where they differ
    if "origin" in forecast.columns and len(forecast):
        origin = str(forecast["origin"].map(_month_text).mode().max())
    regions = _region_entries(context, risk, forecast, origin)
    alert_rows = [a for a in _alert_rows(context.alerts) if a["series"] in (None, context.series)]
    differs = {r["id"]: r["origin"] for r in regions if r["origin"] and r["origin"] != origin}

    precision_rows, precision_model = _precision_rows(context)
    tiers_count: dict[str, int] = {}
    for entry in regions:
        tiers_count[entry["tier"]] = tiers_count.get(entry["tier"], 0) + 1
    horizon = int(forecast["horizon"].max()) if len(forecast) else 0
    return {
        "series": context.series,
        "series_label": context.series.replace("_", " "),
        "origin": origin,
        "origin_differs": differs,
        "rule": context.rule,
        "horizon": horizon,
        "model": context.model,
        "run_id": context.run_id,
        "map": _tile_map(context, regions),
        "regions": regions,
        "charted": sum(1 for r in regions if r["chart"]),
        "tiers_count": [
            (tier, tiers_count[tier], *TIER_STYLE.get(tier, ("#e0e0e0", "#222222")))
            for tier in _tier_order(tiers_count)
        ],
        "alerts": alert_rows,
        "precision": precision_rows,
        "precision_model": precision_model,
    }


def render_not_ready(reason: str) -> str:
    """A plain page for ``/bulletin`` before the first refit: what to run to get one."""
    environment = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True)
    return environment.get_template("not_ready.html.j2").render(reason=reason)
