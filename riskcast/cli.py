"""The ``riskcast`` command: each layer registers its own commands here.

The CLI is the only place that prints; library code logs. Errors a user can act on
(:class:`riskcast.errors.RiskcastError`) are printed in one line and exit with code 2.
"""

from __future__ import annotations

import logging
import sys

import typer
from typer.exceptions import TyperException

import data.cli
import experiments.cli
import features.cli
import forecast.cli
import service
from riskcast.errors import RiskcastError

app = typer.Typer(
    name="riskcast",
    help="Conflict early warning: ingest, features, probabilistic forecasts, "
    "escalation risk, experiments, alerts and the weekly bulletin.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.callback()
def main(verbose: bool = typer.Option(False, "--verbose", "-v", help="Log debug details.")) -> None:
    """Conflict early warning for monthly regional series (Mali first, any country after)."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


for layer in (data.cli, features.cli, forecast.cli, experiments.cli, service):
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
