"""``riskcast experiments …``: list runs, compare models, run a spec, promote a champion."""

from __future__ import annotations

import json
import math

import pandas as pd
import typer
from rich.markup import escape
from rich.table import Table

from riskcast.console import make_console

experiments_app = typer.Typer(
    help="MLflow experiments: list runs, compare models, run a spec grid, promote a champion.",
    no_args_is_help=True,
)


def _format(value: object) -> str:
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.4f}"
    return "" if value is None else str(value)


def _rich_table(frame: pd.DataFrame, title: str, columns: list[str] | None = None) -> Table:
    table = Table(title=title, show_lines=False)
    shown = columns or list(frame.columns)
    for column in shown:
        numeric = pd.api.types.is_numeric_dtype(frame[column])
        table.add_column(
            column,
            justify="right" if numeric else "left",
            overflow="fold",
            no_wrap=column in ("run_id", "model", "name", "started"),
        )
    for _, row in frame[shown].iterrows():
        table.add_row(*(escape(_format(row[c])) for c in shown))
    return table


def _leaderboard_columns(table: pd.DataFrame) -> list[str]:
    """The columns a terminal has room for: ranking metric, skill, a few horizons, run id."""
    metric = table.attrs["metric"]
    wanted = ["rank", "model", "feature_set_hash", metric, "skill"]
    wanted += [c for c in table.columns if c.startswith(f"{metric}_h")]
    wanted += ["crps", "coverage_90", "brier_skill", "run_id"]
    return list(dict.fromkeys(c for c in wanted if c in table.columns))


@experiments_app.command("list")
def list_command(
    experiment: str | None = typer.Option(None, "--experiment", "-e", help="One experiment."),
    limit: int = typer.Option(30, help="At most this many runs."),
) -> None:
    """List backtest and refit runs, newest first."""
    from experiments.compare import list_runs
    from experiments.tracking import tracking_uri

    runs = list_runs(experiment, limit=limit)
    console = make_console()
    if runs.empty:
        console.print(f"no riskcast runs in {tracking_uri()} yet")
        return
    shown = ["run_id", "name", "kind", "started", "trigger", "models", "data_fingerprint"]
    if experiment is None:
        shown.insert(0, "experiment")
    console.print(_rich_table(runs, f"riskcast runs in {tracking_uri()}", shown))


@experiments_app.command("compare")
def compare_command(
    experiment: str | None = typer.Option(
        None, "--experiment", "-e", help="Experiment (default: the backtests)."
    ),
    metric: str | None = typer.Option(
        None, "--metric", "-m", help="Rank by this metric (default crps_log)."
    ),
    parent: str | None = typer.Option(None, "--parent", help="Only this backtest's runs."),
    latest: bool = typer.Option(
        False, "--latest", help="Rank the newest comparable set instead of refusing."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Leaderboard of models scored on the same origins, regions and data, with skill."""
    from experiments.compare import leaderboard, leaderboard_json

    if as_json:
        payload = leaderboard_json(experiment, metric, parent_run_id=parent, latest=latest)
        typer.echo(json.dumps(payload, indent=1))
        return
    table = leaderboard(experiment, metric, parent_run_id=parent, latest=latest)
    attrs = table.attrs
    on = attrs["comparable_on"]
    shown = _leaderboard_columns(table)
    console = make_console()
    title = f"{attrs['experiment']}: ranked by {attrs['metric']} (lower is better unless noted)"
    console.print(_rich_table(table, title, shown))
    console.print(
        f"same origins ({on['n_origins']}: {on['origins'][:60]}), {on['n_regions']} regions, "
        f"horizon {on['horizon']}, series {on['series']}, data {on['data_fingerprint'][:12]}"
        + (" — SYNTHETIC demo data" if on.get("synthetic") == "true" else ""),
        markup=False,
    )
    if attrs["benchmark"]:
        console.print(
            f"skill = 1 − {attrs['metric']} / {attrs['metric']} of {attrs['benchmark']} "
            f"({attrs['benchmark_value']:.4f}); > 0 beats the benchmark"
        )
    else:
        console.print("no conflictology run in this set: skill not available")


@experiments_app.command("run")
def run_command(
    spec: str = typer.Argument(..., help="Spec TOML (path, or a name in experiments/specs)."),
    progress: bool = typer.Option(True, "--progress/--no-progress"),
) -> None:
    """Run a spec's grid of backtests and log them to MLflow."""
    from experiments.compare import leaderboard
    from experiments.spec import load_spec, run_spec
    from experiments.tracking import ui_command

    loaded = load_spec(spec)
    parents = run_spec(spec, trigger="cli", progress=progress)
    console = make_console()
    console.print(
        f"logged {len(parents)} backtest(s) to experiment '{loaded.name}': " + ", ".join(parents)
    )
    table = leaderboard(loaded.name, latest=True)
    shown = _leaderboard_columns(table)
    console.print(_rich_table(table, f"{loaded.name}: ranked by {table.attrs['metric']}", shown))
    console.print(f"open the MLflow UI: {ui_command()}")


@experiments_app.command("promote")
def promote_command(
    run_id: str = typer.Argument(..., help="A backtest model run id."),
    force: bool = typer.Option(False, "--force", help="Skip the comparison (needs --reason)."),
    reason: str | None = typer.Option(None, "--reason", help="Why, recorded as a tag."),
) -> None:
    """Make a run's model the champion if it beats the current one on crps_log."""
    from experiments.champion import promote

    typer.echo(promote(run_id, force=force, reason=reason).describe())


@experiments_app.command("champion")
def champion_command() -> None:
    """Show the current champion model."""
    from experiments.champion import champion

    current = champion()
    if current is None:
        typer.echo("no champion yet: the weekly refit uses [forecast] default_model")
    else:
        typer.echo(f"champion: {current.model} (run {current.run_id}, version {current.version})")


@experiments_app.command("ui")
def ui_command_cli() -> None:
    """Print the command that opens the MLflow UI on this store."""
    from experiments.tracking import ui_command

    typer.echo(ui_command())


def register(app: typer.Typer) -> None:
    """Add this layer's commands to the `riskcast` app."""
    app.add_typer(experiments_app, name="experiments")
