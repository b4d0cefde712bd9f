"""The ``riskcast`` command: read the config once, then run a layer's command with it.

The root callback loads and validates the whole ``riskcast.toml`` (:mod:`jobs.config`)
before any command runs, so a misspelled section or key fails every command at once, with a
"did you mean"; each layer registers its own commands and takes its sections from that one
object (:func:`riskcast.invocation.loaded_config`). The CLI is the only place that prints;
library code logs. Errors a user can act on (:class:`riskcast.errors.RiskcastError`) are
printed in one line and exit with code 2.

This module is an entry point like :mod:`service`: it sits above every layer and nothing
imports it.
"""

from __future__ import annotations

import logging
import os
import sys

import typer
from typer.exceptions import TyperException

import data.cli
import experiments.cli
import features.cli
import forecast.cli
import jobs.cli
from experiments.config import configure as configure_experiments
from jobs.config import load_config
from jobs.settings import NO_SCHEDULER_ENV
from riskcast import invocation
from riskcast.errors import RiskcastError

app = typer.Typer(
    name="riskcast",
    help="Conflict early warning: ingest, features, probabilistic forecasts, "
    "escalation risk, experiments, alerts and the weekly bulletin.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.callback()
def main(
    context: typer.Context,
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log debug details."),
) -> None:
    """Conflict early warning for monthly regional series (Mali first, any country after)."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if context.resilient_parsing or "--help" in sys.argv[1:]:
        return  # completion and help need no config (and must work with a broken one)
    config = load_config()
    configure_experiments(config.experiments)
    invocation.remember(config)


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
    port: int = typer.Option(8000, help="TCP port."),
    workers: int = typer.Option(
        1,
        min=1,
        help="Worker processes (each runs the scheduler; the database lease runs each fire once).",
    ),
    scheduler: bool = typer.Option(True, help="Run the scheduled jobs in this service."),
) -> None:
    """Serve the HTTP API (docs at /docs) and run the scheduled jobs."""
    import uvicorn  # the server only when serving: every other command starts faster

    if not scheduler:
        os.environ[NO_SCHEDULER_ENV] = "1"
    typer.echo(f"riskcast API on http://{host}:{port} (docs: http://{host}:{port}/docs)")
    uvicorn.run("service:create_app", factory=True, host=host, port=port, workers=workers)


for layer in (data.cli, features.cli, forecast.cli, experiments.cli, jobs.cli):
    layer.register(app)


def run() -> None:
    """Entry point: every failure exits non-zero.

    ``standalone_mode=False`` hands back what click would otherwise turn into an exit code
    (the ``typer.Exit`` code of a failed command, usage errors), so each is mapped here:
    user errors print one line and exit 2, usage errors exit 2 with click's message, a
    command's own ``typer.Exit(n)`` exits ``n``.
    """
    try:
        code = app(standalone_mode=False)
    except RiskcastError as exc:
        typer.secho(f"error: {exc}", fg="red", err=True)
        sys.exit(2)
    except TyperException as exc:  # usage errors: bad option, missing argument
        show = getattr(exc, "show", None)
        if show is not None:
            show()
        else:
            typer.secho(f"error: {exc}", fg="red", err=True)
        sys.exit(getattr(exc, "exit_code", 2))
    except typer.Abort:
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)
