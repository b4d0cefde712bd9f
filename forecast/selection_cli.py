"""`riskcast backtest-nested`: choose a model on early origins, report it on later ones.

Kept apart from ``riskcast backtest`` (forecast/cli.py) so the two evolve separately; it
reuses that module's panel loading and summary table.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from forecast.cli import PanelOption, forecast_config, load_panel, summary_table
from riskcast.console import make_console
from riskcast.invocation import loaded_config
from riskcast.months import parse_month_span


def nested_command(
    select: Annotated[
        str,
        typer.Option("--select", help="Selection origins START:END[:STEP], e.g. 2012-01:2015-12."),
    ],
    origins: Annotated[
        str, typer.Option("--origins", help="Scoring origins START:END[:STEP] (reported).")
    ],
    out: Annotated[Path, typer.Option("--out", help="Scores CSV of the scoring origins.")],
    models: Annotated[
        list[str] | None,
        typer.Option("--model", help="Candidate model (repeat; options from [forecast.models])."),
    ] = None,
    horizon: Annotated[int | None, typer.Option("--horizon", help="Months ahead, 1..36.")] = None,
    draws: Annotated[int | None, typer.Option("--draws", help="Draws per region-month.")] = None,
    series: Annotated[str, typer.Option("--series", help="Series scored.")] = "fatalities",
    panel_file: PanelOption = None,
    progress: Annotated[bool, typer.Option("--progress/--no-progress")] = True,
) -> None:
    """Nested rolling-origin selection (see forecast/selection.py).

    The candidates are backtested on the selection origins using the panel cut at the first
    scoring origin; the one with the best mean of CRPS-log1p and Brier ratios against
    conflictology is chosen, then every candidate is scored on the scoring origins. Writes
    the scores to --out and the selection criteria to <out>.selection.csv.
    """
    from forecast.selection import Candidate, nested_backtest

    loaded = loaded_config()
    config = forecast_config(horizon=horizon, n_draws=draws)
    names = list(models) if models else ["conflictology", config.default_model]
    candidates = [Candidate(name, name, config.options_for(name)) for name in dict.fromkeys(names)]
    panel, registry = load_panel(panel_file)
    result = nested_backtest(
        panel, registry, candidates, selection_origins=parse_month_span(select),
        scoring_origins=parse_month_span(origins), horizon=config.horizon, series=series,
        n_draws=config.n_draws, seed=config.seed, progress=progress,
        rule=loaded.escalation, features=loaded.features,
    )  # fmt: skip
    out.parent.mkdir(parents=True, exist_ok=True)
    result.scoring.scores.to_csv(out, index=False)
    result.criteria.reset_index(names="model").to_csv(
        out.with_suffix(".selection.csv"), index=False
    )
    console = make_console()
    console.print(summary_table(result.scoring.summary(), f"scored on {origins}"))
    console.print(f"chosen on {select}: [bold]{result.chosen.label}[/]")
    console.print(f"wrote {len(result.scoring.scores)} scored region-months to {out}")
