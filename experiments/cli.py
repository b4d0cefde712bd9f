"""``riskcast experiments …``: list runs, compare models, run a spec, promote a champion."""

from __future__ import annotations

import json
import math

import pandas as pd
import typer
from rich.markup import escape
from rich.table import Table

from forecast.cli import TrackedBacktest, add_backtest_tracker
from riskcast.console import make_console
from riskcast.errors import InputError
from riskcast.invocation import loaded_config

experiments_app = typer.Typer(
    help="MLflow experiments: list runs, compare models, run a spec grid, promote a champion.",
    no_args_is_help=True,
)


def _format(value: object) -> str:
    """Four significant digits (thousands without decimals): narrow, never cut."""
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4g}"
    return "" if value is None else str(value)


_NEVER_CUT = ("model", "rank", "kind", "started", "trigger", "run_id", "parent_run_id")
"""Columns shown whole: ids are copied into other commands, a cut time or name misleads."""


def _rich_table(frame: pd.DataFrame, title: str, columns: list[str] | None = None) -> Table:
    """A table that shrinks to the terminal without lying: numbers, ids, times and model
    names are never cut (a cut number reads as another number); free text (model lists,
    origins, options) ends in "…" instead of folding into fragments."""
    table = Table(title=title, show_lines=False)
    shown = columns or list(frame.columns)
    cells = {c: [escape(_format(v)) for v in frame[c]] for c in shown}
    for column in shown:
        numeric = pd.api.types.is_numeric_dtype(frame[column])
        whole = numeric or column in _NEVER_CUT
        table.add_column(
            column,
            justify="right" if numeric else "left",
            overflow="ellipsis",
            no_wrap=whole,  # only free text may shrink (rich shrinks wrappable columns)
            min_width=max(len(column), *(len(v) for v in cells[column])) if whole else None,
        )
    for row in zip(*(cells[c] for c in shown), strict=True):
        table.add_row(*row)
    return table


def _print_json(frame: pd.DataFrame, **extra: object) -> None:
    """Every column of ``frame`` as JSON rows (NaN as null), for scripts."""
    rows = json.loads(frame.to_json(orient="records", date_format="iso"))
    typer.echo(json.dumps({**extra, "rows": rows}, indent=1, default=str))


def _leaderboard_columns(table: pd.DataFrame, *, wide: bool = False) -> list[str]:
    """The columns to print: by default the few that fit 100 columns (rank, model, the
    ranking metric, skill, 90% coverage, run id; the feature-set hash only when the set
    holds several); ``wide`` adds the per-horizon scores and every headline metric."""
    metric = table.attrs["metric"]
    several_sets = table["feature_set_hash"].nunique() > 1 if "feature_set_hash" in table else False
    wanted = ["rank", "model"]
    if wide or several_sets:
        wanted.append("feature_set_hash")
    wanted += [metric, "skill"]
    if wide:
        wanted += [c for c in table.columns if c.startswith(f"{metric}_h")]
        wanted += [c for c in table.columns if c not in wanted and c not in ("options",)]
    else:
        wanted += ["coverage_90", "run_id"]
    return list(dict.fromkeys(c for c in wanted if c in table.columns))


WideOption = typer.Option(
    False, "--wide", help="Every column, never shrunk (wider than most terminals: pipe to less -S)."
)
JsonOption = typer.Option(False, "--json", help="Print JSON (every column) instead of a table.")


@experiments_app.command("list")
def list_command(
    experiment: str | None = typer.Option(None, "--experiment", "-e", help="One experiment."),
    limit: int = typer.Option(30, help="At most this many runs."),
    wide: bool = WideOption,
    as_json: bool = JsonOption,
) -> None:
    """List backtest and refit runs, newest first."""
    from experiments.compare import list_runs
    from experiments.tracking import tracking_uri

    runs = list_runs(experiment, limit=limit)
    if as_json:
        _print_json(runs, tracking_uri=tracking_uri())
        return
    console = make_console(wide=wide)
    if runs.empty:
        console.print(f"no riskcast runs in {tracking_uri()} yet", markup=False)
        return
    shown = ["run_id", "kind", "started", "trigger", "models"]
    if wide:
        shown = ["experiment", "run_id", "name", *shown[1:], "origins", "data_fingerprint"]
        shown += ["synthetic"]
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
        True,
        "--latest/--strict",
        help="Rank the newest comparable set (default), or refuse when runs differ.",
    ),
    wide: bool = WideOption,
    as_json: bool = JsonOption,
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
    console = make_console(wide=wide)
    title = f"{attrs['experiment']}: ranked by {attrs['metric']} (lower is better unless noted)"
    console.print(_rich_table(table, title, _leaderboard_columns(table, wide=wide)))
    parents = ", ".join(attrs["parent_run_ids"])
    console.print(
        f"ranked: the newest of {attrs['comparable_sets']} comparable set(s), backtest "
        f"run(s) {parents}: same origins ({on['n_origins']}: {on['origins'][:60]}), "
        f"{on['n_regions']} regions, horizon {on['horizon']}, series {on['series']}, data "
        f"{on['data_fingerprint'][:12]}"
        + (" — SYNTHETIC demo data" if on.get("synthetic") == "true" else ""),
        markup=False,
    )
    if attrs["comparable_sets"] > 1 and parent is None:
        console.print("older sets: pick one with --parent RUN_ID (see `riskcast experiments list`)")
    if attrs["benchmark"]:
        console.print(
            f"skill = 1 − {attrs['metric']} / {attrs['metric']} of {attrs['benchmark']} "
            f"({attrs['benchmark_value']:.4f}); > 0 beats the benchmark",
            markup=False,
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
    config = loaded_config()
    parents = run_spec(
        spec,
        trigger="cli",
        progress=progress,
        features=config.features,
        rule=config.escalation,
        data_config=config.data,
    )
    table = leaderboard(loaded.experiment, latest=True)
    console = make_console()
    console.print(
        f"logged {len(parents)} backtest(s) of spec '{loaded.name}' to experiment "
        f"'{table.attrs['experiment']}': " + ", ".join(parents),
        markup=False,
    )
    title = f"{loaded.name}: ranked by {table.attrs['metric']}"
    console.print(_rich_table(table, title, _leaderboard_columns(table)))
    console.print(f"open the MLflow UI: {ui_command()}", markup=False)


@experiments_app.command("promote")
def promote_command(
    run_id: str | None = typer.Argument(None, help="A backtest model run id."),
    best: bool = typer.Option(
        False, "--best", help="The top run of `experiments compare` (the newest set)."
    ),
    force: bool = typer.Option(False, "--force", help="Skip the comparison (needs --reason)."),
    reason: str | None = typer.Option(None, "--reason", help="Why, recorded as a tag."),
) -> None:
    """Make a run's model the champion if it beats the current one on crps_log.

    With --best, the winner of the newest comparable backtest is the candidate; when it
    does not beat the champion (e.g. the same backtest again), the champion stays and the
    command says so without failing.
    """
    from experiments.champion import promote, promote_best

    if (run_id is None) == (not best):
        raise InputError("give a RUN_ID or --best (not both)", field="run_id")
    if best:
        typer.echo(promote_best(force=force, reason=reason))
        return
    typer.echo(promote(run_id or "", force=force, reason=reason).describe())


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


def log_cli_backtest(run: TrackedBacktest) -> str:
    """Log a ``riskcast backtest`` to the backtest experiment; the line the command prints."""
    from experiments.runs import log_backtest
    from experiments.tracking import experiments_config

    config = loaded_config()
    parent = log_backtest(
        run.result,
        panel=run.panel,
        trigger="cli",
        registry=run.registry,
        feature_config=config.features,
        escalation_rule=config.escalation,
        model_options=run.options,
        n_draws=run.n_draws,
        seed=run.seed,
    )
    experiment = experiments_config().backtest_experiment
    return (
        f"logged to MLflow experiment '{experiment}' as run {parent} "
        "(rank it: riskcast experiments compare)"
    )


def register(app: typer.Typer) -> None:
    """Add this layer's commands to the `riskcast` app, and log every ``riskcast backtest``."""
    app.add_typer(experiments_app, name="experiments")
    add_backtest_tracker(log_cli_backtest)
