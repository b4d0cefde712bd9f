"""Command-line commands of the `forecast` layer: ``riskcast forecast`` and ``riskcast backtest``.

Both read the stored panel (``data.store.open_store()``) or, with ``--panel FILE.csv``, a
long CSV (``region,month,series,value[,source]``) validated by the data layer's one
validator, so they work on a file with no database at all.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import pandas as pd
import typer
from rich.table import Table

from data.store import open_store
from forecast.executors import Executor, make_executor
from forecast.pipeline import ForecastConfig
from riskcast.config import validate_section
from riskcast.console import make_console
from riskcast.errors import InputError
from riskcast.invocation import loaded_config
from riskcast.months import format_month, parse_month, parse_month_span

if TYPE_CHECKING:
    from data.registry import Registry

log = logging.getLogger(__name__)

SUMMARY_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("crps", "CRPS", "{:.2f}"),
    ("crps_log", "CRPS log1p", "{:.3f}"),
    ("crps_log_skill", "skill", "{:+.3f}"),
    ("ignorance", "IGN", "{:.2f}"),
    ("interval_90", "MIS 90", "{:.1f}"),
    ("ae_median", "MAE", "{:.2f}"),
    ("coverage_50", "cov50", "{:.2f}"),
    ("coverage_90", "cov90", "{:.2f}"),
    ("brier", "Brier", "{:.3f}"),
    ("brier_skill", "BSS", "{:+.3f}"),
    ("log_loss", "logloss", "{:.3f}"),
)


DrawsOption = Annotated[int | None, typer.Option("--draws", help="Draws per region-month.")]
SeedOption = Annotated[int | None, typer.Option("--seed", help="Seed of the draws.")]
PanelOption = Annotated[
    Path | None, typer.Option("--panel", help="Read this long CSV panel instead of the store.")
]
WeightsFromOption = Annotated[
    Path | None,
    typer.Option(
        "--weights-from",
        help="Backtest summary CSV: weight ensemble members by 1 / mean CRPS.",
    ),
]
"""Options ``forecast`` and ``backtest`` share, declared once."""

TrackOption = Annotated[
    bool,
    typer.Option(
        "--track/--no-track",
        help="Log the backtest to MLflow: a parent run with one nested run per model.",
    ),
]


def read_panel_csv(path: Path) -> pd.DataFrame:
    """A long panel CSV validated by ``data.schema.validate_panel`` (source optional).

    Raises:
        InputError: naming the file (and row and field where the validator can).
    """
    from data.schema import validate_panel

    if not path.exists():
        raise InputError("file not found", file=str(path))
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise InputError(f"is not a readable CSV panel: {exc}", file=str(path)) from exc
    if "source" not in frame.columns:
        frame["source"] = path.name
    return validate_panel(frame, file=str(path))


def registry_for(panel: pd.DataFrame) -> Registry:
    """The default registry, plus a custom entry for any panel region it does not know."""
    from data.regions import load_default_registry
    from data.registry import Region, Registry

    default = load_default_registry()
    extra = [
        Region(id=region, name=region, level="custom")
        for region in sorted(set(panel["region"]) - set(default.ids()))
    ]
    return Registry([*default, *extra]) if extra else default


def load_panel(panel_file: Path | None) -> tuple[pd.DataFrame, Registry]:
    """The panel and registry the command works on: a CSV file, or the store."""
    if panel_file is not None:
        panel = read_panel_csv(panel_file)
        return panel, registry_for(panel)
    store = open_store(config=loaded_config().data)
    try:
        panel, registry = store.load_panel(), store.registry()
        if store.is_synthetic():
            log.warning("the stored panel holds SYNTHETIC demo data: forecasts are illustrative")
    finally:
        store.close()
    if panel.empty:
        raise InputError(
            "the store holds no observations: ingest data first (riskcast ingest …) or pass "
            "--panel FILE.csv",
            field="panel",
        )
    return panel, registry


def _split_regions(values: list[str] | None) -> list[str] | None:
    if not values:
        return None
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


def _format(value: Any, pattern: str) -> str:
    try:
        return "—" if pd.isna(value) else pattern.format(value)
    except (TypeError, ValueError):
        return str(value)


def summary_table(summary: pd.DataFrame, title: str) -> Table:
    """A rich table of per-model backtest metrics (only the columns present)."""
    table = Table(title=title)
    table.add_column("model", style="bold")
    table.add_column("n", justify="right")
    shown = [spec for spec in SUMMARY_COLUMNS if spec[0] in summary.columns]
    for _, header, _ in shown:
        table.add_column(header, justify="right")
    for _, row in summary.iterrows():
        table.add_row(
            str(row["model"]),
            str(int(row["n"])),
            *(_format(row[column], pattern) for column, _, pattern in shown),
        )
    return table


def risk_rich_table(risk: pd.DataFrame, title: str) -> Table:
    """A rich table of the escalation risk per region (top rows first)."""
    table = Table(title=title)
    for column in ("region", "threshold", "p_h1", "p_any_3", "tier"):
        table.add_column(column, justify="left" if column in ("region", "tier") else "right")
    colours = {"low": "green", "elevated": "yellow", "high": "dark_orange", "critical": "red"}
    for _, row in risk.iterrows():
        table.add_row(
            str(row["region"]),
            f"{row['threshold']:.1f}",
            f"{row['p_h1']:.2f}",
            f"{row['p_any_3']:.2f}",
            f"[{colours.get(row['tier'], 'white')}]{row['tier']}[/]",
        )
    return table


def forecast_command(
    out: Annotated[Path, typer.Option("--out", help="Forecast CSV (output contract) to write.")],
    origin: Annotated[
        str | None,
        typer.Option("--origin", help="Forecast origin YYYY-MM (default: last month with data)."),
    ] = None,
    horizon: Annotated[
        int | None,
        typer.Option("--horizon", help="Months ahead, 1..36 (default from \\[forecast])."),
    ] = None,
    model: Annotated[
        str | None, typer.Option("--model", help="Model name (default from \\[forecast]).")
    ] = None,
    series: Annotated[str, typer.Option("--series", help="Series to forecast.")] = "fatalities",
    samples: Annotated[
        Path | None, typer.Option("--samples", help="Also write the draws to this Parquet file.")
    ] = None,
    draws: DrawsOption = None,
    seed: SeedOption = None,
    panel_file: PanelOption = None,
    regions: Annotated[
        list[str] | None,
        typer.Option("--regions", help="Regions to forecast (repeat or comma-separate)."),
    ] = None,
    weights_from: WeightsFromOption = None,
) -> None:
    """Forecast a series from an origin: probabilistic counts and escalation risk."""
    from forecast.geometry import validate_horizon
    from forecast.output import samples_frame, write_forecast_csv, write_samples_parquet
    from forecast.pipeline import forecast_from_panel
    from forecast.risk import risk_table

    loaded = loaded_config()
    config = forecast_config(default_model=model, horizon=horizon, n_draws=draws, seed=seed)
    validate_horizon(config.horizon)
    panel, registry = load_panel(panel_file)
    if origin is None:
        months = panel.loc[panel["series"] == series, "month"]
        if months.empty:
            raise InputError(f"the panel has no '{series}' series", field="series")
        start = months.max()
    else:
        start = parse_month(origin, field="origin")
    result = forecast_from_panel(
        panel,
        registry,
        model=config.default_model,
        origin=start,
        horizon=config.horizon,
        series=series,
        n_draws=config.n_draws,
        seed=config.seed,
        options=_options(config, config.default_model, weights_from),
        regions=_split_regions(regions),
        rule=loaded.rules.for_series(series),
        features=loaded.features,
    )
    write_forecast_csv(result.frame, out)
    console = make_console()
    if samples is not None:
        write_samples_parquet(samples_frame(result.draws), samples)
    risk = risk_table(result.draws, result.thresholds, loaded.risk)
    console.print(
        risk_rich_table(
            risk,
            f"{config.default_model}: {series} from {format_month(start)}, "
            f"{config.horizon} months, {config.n_draws} draws",
        )
    )
    for region, note in result.notes.items():
        console.print(f"[yellow]note[/] {region}: {note}")
    console.print(
        f"wrote {len(result.frame)} rows to {out}" + (f" and {samples}" if samples else "")
    )


def backtest_command(
    origins: Annotated[
        str, typer.Option("--origins", help="START:END[:STEP] months, e.g. 2016-12:2020-12:12.")
    ],
    out: Annotated[Path, typer.Option("--out", help="Scores CSV (one row per region-month).")],
    models: Annotated[
        list[str] | None,
        typer.Option("--model", help="Model to backtest (repeat; default from \\[forecast])."),
    ] = None,
    horizon: Annotated[int | None, typer.Option("--horizon", help="Months ahead, 1..36.")] = None,
    draws: DrawsOption = None,
    seed: SeedOption = None,
    series: Annotated[
        str, typer.Option("--series", help="Series to forecast and score.")
    ] = "fatalities",
    regions: Annotated[
        list[str] | None,
        typer.Option("--regions", help="Regions to include (repeat or comma-separate)."),
    ] = None,
    panel_file: PanelOption = None,
    executor_name: Annotated[
        str | None,
        typer.Option("--executor", help="serial, local or dask (default from \\[executor])."),
    ] = None,
    forecasts_out: Annotated[
        Path | None,
        typer.Option("--forecasts", help="Also write the backtest forecasts (contract CSV)."),
    ] = None,
    progress: Annotated[
        bool, typer.Option("--progress/--no-progress", help="Show a progress bar.")
    ] = True,
    weights_from: WeightsFromOption = None,
    track: TrackOption = True,
) -> None:
    """Backtest models on rolling origins and print their scores side by side.

    Writes the per region-month scores to --out and the per-model (and per-horizon)
    summary next to it as <out>.summary.csv and <out>.by_horizon.csv, and logs the
    backtest to MLflow (a parent run, one nested run per model) unless --no-track.
    """
    from forecast.backtest import run_backtest
    from forecast.geometry import validate_horizon

    loaded = loaded_config()
    config = forecast_config(horizon=horizon, n_draws=draws, seed=seed)
    validate_horizon(config.horizon)
    chosen = list(models) if models else [config.default_model]
    if weights_from is not None and "ensemble" not in chosen:
        raise InputError("--weights-from only applies to --model ensemble", field="weights-from")
    origin_list = parse_month_span(origins)
    panel, registry = load_panel(panel_file)
    executor = _make_executor(executor_name)
    options = {
        name: _options(config, name, weights_from if name == "ensemble" else None)
        for name in chosen
    }
    try:
        result = run_backtest(
            panel,
            registry,
            models=chosen,
            origins=origin_list,
            horizon=config.horizon,
            series=series,
            n_draws=config.n_draws,
            seed=config.seed,
            executor=executor,
            progress=progress,
            regions=_split_regions(regions),
            options=options,
            rule=loaded.escalation,
            features=loaded.features,
        )
    finally:
        if executor is not None:
            executor.close()
    out.parent.mkdir(parents=True, exist_ok=True)
    result.scores.to_csv(out, index=False)
    summary = result.summary()
    summary.to_csv(out.with_suffix(".summary.csv"), index=False)
    result.summary(by_horizon=True).to_csv(out.with_suffix(".by_horizon.csv"), index=False)
    if forecasts_out is not None:
        forecasts_out.parent.mkdir(parents=True, exist_ok=True)
        result.forecasts.to_csv(forecasts_out, index=False)
    console = make_console()
    console.print(
        summary_table(
            summary,
            f"backtest of {series}: {result.geometry.describe()}, {config.n_draws} draws",
        )
    )
    if len(result.notes):
        counts = result.notes.groupby("model").size()
        listed = ", ".join(f"{model}: {n}" for model, n in counts.items())
        console.print(f"[yellow]fallback notes[/] (region × origin) — {listed}")
        for _, row in result.notes.drop_duplicates("model").iterrows():
            console.print(f"  e.g. {row['model']} {row['origin']} {row['region']}: {row['note']}")
    console.print(f"wrote {len(result.scores)} scored region-months to {out}")
    if track:
        run = TrackedBacktest(result, panel, registry, options, config.n_draws, config.seed)
        for line in track_backtest(run):
            console.print(line, markup=False)


@dataclass(frozen=True)
class TrackedBacktest:
    """What a backtest tracker needs: the result and what it was computed from."""

    result: Any
    panel: pd.DataFrame
    registry: Any
    options: dict[str, dict[str, Any]]
    n_draws: int
    seed: int


BacktestTracker = Callable[[TrackedBacktest], str]
_trackers: list[BacktestTracker] = []


def add_backtest_tracker(tracker: BacktestTracker) -> None:
    """Register a function that records each ``riskcast backtest`` and returns one line.

    The experiments layer (to the right of this one) registers MLflow logging here, so this
    layer never imports it.
    """
    if tracker not in _trackers:
        _trackers.append(tracker)


def track_backtest(run: TrackedBacktest) -> list[str]:
    """Run every registered tracker; the lines they return are printed by the command."""
    if not _trackers:
        log.warning("no backtest tracker registered: the backtest is not logged")
    return [tracker(run) for tracker in _trackers]


def _options(config: Any, model: str, weights_from: Path | None) -> dict[str, Any]:
    """Configured options of ``model``; ensemble weights from a backtest summary if given.

    The weights (1 / mean CRPS, normalised) come from an *earlier* backtest; backtesting
    the ensemble on the same origins the weights were measured on flatters it, so use a
    summary from earlier origins when judging the ensemble itself.
    """
    options = config.options_for(model)
    if weights_from is None:
        return options
    if model != "ensemble":
        raise InputError("--weights-from only applies to --model ensemble", field="weights-from")
    from forecast.backtest import crps_weights

    if not weights_from.exists():
        raise InputError("file not found", file=str(weights_from))
    summary = pd.read_csv(weights_from)
    summary = summary[summary["model"] != "ensemble"]
    options["weights"] = crps_weights(summary)
    log.info("ensemble weights from %s: %s", weights_from, options["weights"])
    return options


def _make_executor(name: str | None) -> Executor:
    """The executor named by ``--executor``, else the loaded ``[executor]`` section's."""
    return make_executor(name, loaded_config().executor)


def forecast_config(**overrides: Any) -> ForecastConfig:
    """The loaded ``[forecast]`` section with the command's flags (None = keep) on top."""
    base = loaded_config().forecast.model_dump()
    return validate_section(base, "forecast", ForecastConfig, **overrides)


def export_forecast_command(
    samples: Annotated[
        Path, typer.Option("--samples", help="Draws Parquet from `riskcast forecast --samples`.")
    ],
    out: Annotated[Path, typer.Option("--out", help="Parquet file to write.")],
    country_key: Annotated[
        Path,
        typer.Option("--country-key", help="The VIEWS challenge's country_key.csv (id, isoab)."),
    ],
    export_format: Annotated[
        str, typer.Option("--format", help="Output layout; only 'views' (country-month).")
    ] = "views",
    active_ids_from: Annotated[
        Path | None,
        typer.Option(
            "--active-ids",
            help="A VIEWS actuals/features file: its country ids decide between several ids "
            "the key lists for one ISO3 code (Sudan, Ethiopia …).",
        ),
    ] = None,
) -> None:
    """Write forecast draws in the VIEWS prediction challenge's layout.

    Parquet with month_id (1 = 1980-01), country_id (by ISO3 through the key), draw and
    outcome: the file the challenge's evaluation code scores. Regions must be countries.
    """
    from data.sources.views_cm import CountryKey
    from forecast.views import active_ids, to_views, write_views_parquet

    if export_format != "views":
        raise InputError(f"unknown format '{export_format}'; only 'views'", field="format")
    if not samples.exists():
        raise InputError("file not found", file=str(samples))
    try:
        draws = pd.read_parquet(samples)
    except (OSError, ValueError) as exc:
        raise InputError(f"is not a readable draws Parquet file: {exc}", file=str(samples)) from exc
    key = CountryKey.load(country_key)
    active = active_ids(active_ids_from) if active_ids_from is not None else None
    frame = to_views(draws, key, active=active)
    write_views_parquet(frame, out)
    make_console().print(
        f"wrote {len(frame)} VIEWS rows ({frame['country_id'].nunique()} countries, "
        f"month_id {frame['month_id'].min()}…{frame['month_id'].max()}, "
        f"{frame['draw'].nunique()} draws) to {out}",
        markup=False,
    )


def register(app: typer.Typer) -> None:
    """Add ``forecast``, ``backtest``, ``export-forecast`` and ``backtest-nested``."""
    app.command("forecast")(forecast_command)
    app.command("backtest")(backtest_command)
    app.command("export-forecast")(export_forecast_command)
    from forecast.selection_cli import nested_command  # imports this module: registered last

    app.command("backtest-nested")(nested_command)
