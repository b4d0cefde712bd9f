"""Command-line commands of the jobs layer: ``riskcast run`` and ``riskcast report``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from data.store import open_store
from jobs.bulletin_context import write_bulletin_file
from jobs.weekly import bulletin_path, run_weekly
from riskcast.invocation import loaded_config


def run_once() -> None:
    """Run the weekly job once, exactly as the scheduler does, and say where things are."""
    outcome = run_weekly("cli", config=loaded_config())
    if not outcome.ok:
        typer.secho(f"weekly job failed: {outcome.error}", fg="red", err=True)
        typer.echo(f"run record: {outcome.run_id} (see riskcast serve → /jobs)", err=True)
        raise typer.Exit(1)
    details = outcome.details
    typer.echo(
        f"weekly job succeeded: model {details.get('model')} at origin "
        f"{details.get('origin')}, MLflow run {outcome.mlflow_run_id}"
    )
    for series, done in (details.get("series") or {}).items():  # one refit per series
        typer.echo(f"  {series}: {_series_line(done)}")
    inbox = details.get("inbox", {})
    if inbox.get("ingested") or inbox.get("rejected"):
        typer.echo(
            f"inbox: {len(inbox.get('ingested', []))} file(s) ingested, "
            f"{len(inbox.get('rejected', []))} rejected"
        )
    transitions = [
        t
        for done in (details.get("series") or {}).values()
        for t in (done.get("alerts") or {}).get("transitions", [])
    ]
    typer.echo(f"alerts: {len(transitions)} transition(s)")
    typer.echo(f"bulletin: {details.get('bulletin', bulletin_path())}")
    # Here, not at the top: MLflow is 1.7 s of every `riskcast` start (python -X importtime)
    from experiments.tracking import tracking_uri, ui_command

    typer.echo(f"MLflow store: {tracking_uri()}  (browse: {ui_command()})")


def _series_line(done: dict) -> str:
    """Where one series' refit stands, in a line."""
    if done.get("skipped"):
        return str(done["skipped"])
    own = f" ({len(done['differs'])} region(s) from their own month)" if done.get("differs") else ""
    return f"from {done.get('origin')}{own}, MLflow run {done.get('mlflow_run_id')}"


def report(
    out: Annotated[Path, typer.Option("--out", help="HTML file to write.")] = Path("bulletin.html"),
) -> None:
    """Write the weekly bulletin as a static HTML page."""
    config = loaded_config()
    path = write_bulletin_file(open_store(config=config.data), out, config)
    typer.echo(f"bulletin written to {path.resolve()}")


def register(app: typer.Typer) -> None:
    """Add ``run`` and ``report`` to the ``riskcast`` app."""
    app.command("run")(run_once)
    app.command("report")(report)
